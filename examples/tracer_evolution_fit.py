"""D*_eff from the evolution of a ⁶Li tracer profile during storage (seed 000, Fig. 4).

An LLTO bar was held in a ⁶LiNO₃ solution up to its liquid level (x = 0) for 110 h; the part
above the liquid (0-6 mm) took up ⁶Li by diffusion. SIMS line scans were then taken right after
the exchange and after 2 and 6 weeks of storage in Ar at 22 °C, out of contact with the source:
the total ⁶Li is conserved and the profile only spreads. Fitting the spreading with a 1D
finite-volume model started from the measured first profile gave D*_eff = 3.0e-9 cm² s⁻¹. A
second piece, annealed for 3.8 h at 200 °C, gave 6.6e-6 cm² s⁻¹ (printed as cm⁻² s⁻¹ in the
paper: a unit typo).

This script builds such line scans synthetically (binomial counting noise), fits them jointly
and saves the figure. Run: ``python examples/tracer_evolution_fit.py [figure.png]``; the figure goes
to ``examples/output/tracer_evolution_fit.png`` unless a path is given.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.special import erfc  # noqa: E402

from ionscale.tracer.data import Profile  # noqa: E402
from ionscale.tracer.evolution import fit_evolution  # noqa: E402
from ionscale.tracer.numerical import simulate_profile  # noqa: E402
from ionscale.units import parse_quantity  # noqa: E402

#: outputs go next to this script, never into the working or the system temporary folder
OUTPUT = Path(__file__).resolve().parent / "output"

rng = np.random.default_rng(0)
C_NAT, C_SOURCE = 0.076, 0.95  # natural ⁶Li fraction, tracer solution
COUNTS = 3000  # ⁶Li + ⁷Li counts per point of the line scan


def line_scan(x, fraction):
    """A SIMS line scan: binomial counts around the true fraction, with their σ."""
    n6 = rng.binomial(COUNTS, np.clip(fraction, 0, 1))
    c = n6 / COUNTS
    return Profile(x=x, fraction=c, sigma=np.sqrt(c * (1 - c) / COUNTS + 1 / (4 * COUNTS**2)))


# positions: the immersed part (-1 to 0 mm) and the part above the liquid (0 to 6 mm)
x = np.linspace(-1e-3, 6e-3, 141)
D_exchange = parse_quantity("8.0e-9 cm^2/s", "m^2/s")
t_exchange = parse_quantity("110 h", "s")
true_before = np.where(
    x < 0, C_SOURCE,
    C_NAT + (C_SOURCE - C_NAT) * erfc(np.clip(x, 0, None) / (2 * np.sqrt(D_exchange * t_exchange))))
before = line_scan(x, true_before)

# storage: the whole bar is closed (no source), D*_eff = 3.0e-9 cm² s⁻¹ at 22 °C
D_store = parse_quantity("3.0e-9 cm^2/s", "m^2/s")
truth = simulate_profile(x, (x, true_before), D_store, ["2 weeks", "6 weeks"], n_cells=1400,
                         n_steps=1000, theta="crank-nicolson")
afters = [line_scan(x, c) for c in truth]

# the before profile is noisy: smooth it lightly (9-point quadratic Savitzky-Golay) before it
# becomes the initial condition; closed boundaries at both ends of the bar
storage = fit_evolution(before, afters, ["2 weeks", "6 weeks"], smooth=9, n_cells=700)
print(storage.summary())
print(f"  (true value {D_store * 1e4:.2g} cm² s⁻¹)\n")

# anneal of a second piece: 3.8 h at 200 °C
D_anneal = parse_quantity("6.6e-6 cm^2/s", "m^2/s")
annealed = line_scan(x, simulate_profile(x, (x, true_before), D_anneal, "3.8 h", n_cells=1400,
                                         n_steps=1000, theta="crank-nicolson"))
anneal = fit_evolution(before, annealed, "3.8 h", smooth=9, n_cells=700)
print(anneal.summary())
print(f"  (true value {D_anneal * 1e4:.2g} cm² s⁻¹)")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
storage.plot(ax=axes[0])
anneal.plot(ax=axes[1])
out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT / "tracer_evolution_fit.png"
out.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(out, dpi=120)
print(f"figure: {out}")
