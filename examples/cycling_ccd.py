"""Critical current density of a Li | Li3PS4 | Li symmetric cell, from file to figure.

A plating/stripping test like seed 004's (0.05 to 0.8 mA cm⁻², five cycles each, 30 min at
open circuit after every half-cycle, Li disks of 0.126 cm²) is simulated with a known ASR of
55 Ω cm² and a short in the third cycle at 0.4 mA cm⁻² (22 → 10 mV, then an ohmic short). It
is written as an EC-Lab text file, read back like a measured one, and analysed: plateau
polarisation per half-cycle, short detection, CCD, last stable current density, capacity to
failure and the ASR of the stable half-cycles, compared with R·A of an impedance resistance.

Run::

    python examples/cycling_ccd.py [output folder]

It writes ``cycling_cell.mpt``, ``cycling_ccd.json`` and ``cycling_ccd.png`` into
``examples/output/`` (or the folder given) in a few seconds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from ionscale.cycling import critical_current_density  # noqa: E402
from ionscale.datasets.synthetic_cycling import (
    DEMO_CELL,
    symmetric_cell_trace,
    write_mpt,  # noqa: E402
)
from ionscale.io.cycling import read_cycling  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cell = symmetric_cell_trace(asr=DEMO_CELL["asr"], area=DEMO_CELL["area"],
                                noise=DEMO_CELL["noise"], short=DEMO_CELL["short"], seed=1)
    path = write_mpt(cell, out / "cycling_cell.mpt")

    trace = read_cycling(path, area=0.126e-4)             # m²: 0.126 cm² (4 mm Li disks)
    result = critical_current_density(trace, impedance_resistance=436.5)   # Ω, from EIS
    print(result.summary())

    ccd = result["CCD"].value / 10                          # A m⁻² → mA cm⁻²
    stable = result["j_last_stable"].value / 10
    asr = result["ASR"]
    print(f"\nCCD = {ccd:.2g} mA cm⁻², last stable j = {stable:.2g} mA cm⁻², "
          f"ASR = {asr.value * 1e4:.2f} ± {asr.error * 1e4:.2f} Ω cm², "
          f"{result['capacity_to_failure'].value / 36000:.2f} mAh cm⁻² to failure")

    (out / "cycling_ccd.json").write_text(json.dumps(result.to_dict(), indent=1,
                                                     ensure_ascii=False))
    ax = result.plot()                                      # trace, η(j) with ASR, table
    ax.figure.savefig(out / "cycling_ccd.png", dpi=120)
    plt.close(ax.figure)
    print(f"figure: {out / 'cycling_ccd.png'}")


if __name__ == "__main__":
    # outputs go next to this script, never into the working or the system temporary folder
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "output")
