"""Synthetic tracer measurements built on the physics, for demos, tests and benchmarks.

Every generator runs the numerical model (:mod:`ionscale.tracer.numerical`) and then draws SIMS
counts: the total count of a pixel or step is Poisson, the tracer count binomial given the true
isotope fraction. All inputs and outputs are SI; the returned ``truth`` records what went in.

The default numbers are LLTO-like (seed 000): D_bulk = 2.6e-8 cm² s⁻¹ and
D_gb/δ = 1.5e-6 cm s⁻¹ at 22 °C, grains 16 ± 11 µm, δ = 0.5 nm, a 95 % ⁶Li source on natural
lithium (7.59 % ⁶Li).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..io.atomic import write_text_atomic
from ..tracer.data import CountMap, Profile
from ..tracer.fraction import NATURAL_ABUNDANCE, isotope_fraction
from ..tracer.numerical import Grid, layered_diffusivity, solve
from ..units import BOLTZMANN_EV

#: LLTO-like defaults (SI).
LLTO = {
    "D_bulk": 2.6e-12,  # m² s⁻¹ at 22 °C
    "D_gb_over_delta": 1.5e-8,  # m s⁻¹ at 22 °C
    "gb_width": 0.5e-9,  # m
    "grain_size": 16e-6,  # m
    "grain_size_spread": 11e-6,  # m
    "source_fraction": 0.95,
    "background_fraction": NATURAL_ABUNDANCE["6Li"],
    "Ea_bulk": 0.30,  # eV
    "Ea_gb": 0.43,  # eV
    "T_ref": 295.15,  # K
}


def arrhenius_value(value_ref: float, Ea_eV: float, T, T_ref: float = LLTO["T_ref"]):
    """``value_ref · exp(-Ea/k (1/T - 1/T_ref))``: a quantity known at ``T_ref`` moved to ``T``."""
    return value_ref * np.exp(-Ea_eV / BOLTZMANN_EV * (1.0 / np.asarray(T) - 1.0 / T_ref))


def llto_diffusivities(T) -> dict[str, Any]:
    """Bulk, grain-boundary and series-effective tracer diffusivities of the LLTO-like model.

    Parameters
    ----------
    T : float or array_like
        Temperature, K.

    Returns
    -------
    dict
        ``D_bulk`` (m² s⁻¹), ``D_gb_over_delta`` (m s⁻¹), ``gb_term`` = (l/δ)·D_gb (m² s⁻¹) and
        ``D_eff`` from the series model (m² s⁻¹).
    """
    d_bulk = arrhenius_value(LLTO["D_bulk"], LLTO["Ea_bulk"], T)
    d_gb_delta = arrhenius_value(LLTO["D_gb_over_delta"], LLTO["Ea_gb"], T)
    gb_term = LLTO["grain_size"] * d_gb_delta
    return {"D_bulk": d_bulk, "D_gb_over_delta": d_gb_delta, "gb_term": gb_term,
            "D_eff": 1.0 / (1.0 / d_bulk + 1.0 / gb_term)}


def draw_counts(fraction, total_mean: float, rng: np.random.Generator):
    """Poisson total counts and binomial tracer counts for a true isotope ``fraction``."""
    fraction = np.clip(np.asarray(fraction, dtype=float), 0.0, 1.0)
    total = rng.poisson(total_mean, size=fraction.shape)
    tracer = rng.binomial(total, fraction)
    return tracer.astype(float), (total - tracer).astype(float)


def _raw_fraction(normalised, source: float, background: float):
    return background + (source - background) * np.asarray(normalised)


@dataclass(frozen=True)
class SyntheticMap:
    """A synthetic ⁶Li/⁷Li count map with the boundaries that made it."""

    counts: CountMap
    truth: dict[str, Any]
    segments: list[tuple[tuple[float, float], tuple[float, float]]] = field(default_factory=list)
    boundaries: list[float] = field(default_factory=list)


def grain_boundary_map(
    *,
    shape: tuple[int, int] = (200, 160),
    pixel_size: float = 1e-6,
    exchange_time: float = 3 * 3600.0,
    T: float = LLTO["T_ref"],
    band_width: float = 16e-6,
    counts_per_pixel: float = 10000.0,
    segment_half_length: float = 9e-6,
    min_grain: float = 9e-6,
    seed: int = 0,
) -> SyntheticMap:
    """A SIMS fraction map of a polycrystal exchanged from its bottom edge (``y = 0``).

    The map is cut into vertical bands of width ``band_width``; each band is a column of grains
    (sizes 16 ± 11 µm) with thin, slow boundaries, solved in 1D along ``y`` with the numerical
    model (fixed source fraction at ``y = 0``, the far end closed 2 mm away). Counts are drawn per
    pixel.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` pixels.
    pixel_size : float
        Pixel size, m.
    exchange_time : float
        Exchange time, s.
    T : float
        Exchange temperature, K (sets D_bulk and D_gb/δ through the LLTO-like Arrhenius laws).
    band_width : float
        Width of a grain column, m.
    counts_per_pixel : float
        Mean total (⁶Li + ⁷Li) counts per pixel.
    segment_half_length : float
        Half length of the analysis segment laid across each boundary, m.
    min_grain : float
        Only boundaries whose neighbouring grains are both at least this long get a segment, m.
    seed : int
        Random seed (grain sizes and counts).

    Returns
    -------
    SyntheticMap
        Counts, truth, analysis segments ``((x, y0), (x, y1))`` in m across each usable boundary,
        and those boundaries' ``y`` positions (m).
    """
    rng = np.random.default_rng(seed)
    ny, nx = shape
    d = llto_diffusivities(T)
    delta = LLTO["gb_width"]
    grid = Grid.uniform(0.0, 2e-3, 8000)
    fraction = np.empty(shape)
    segments, boundaries = [], []
    y_pix = (np.arange(ny) + 0.0) * pixel_size
    n_bands = int(np.ceil(nx * pixel_size / band_width))
    for band in range(n_bands):
        medium = layered_diffusivity(
            grid, d["D_bulk"], d["D_gb_over_delta"] * delta, LLTO["grain_size"], delta,
            size_spread=LLTO["grain_size_spread"], rng=rng,
            offset=-rng.uniform(0, LLTO["grain_size"]),
        )
        state = solve(np.zeros(grid.n_cells), grid, medium, exchange_time, n_steps=150,
                      left="fixed", left_value=1.0, right="closed", theta="crank-nicolson")
        column = np.interp(y_pix, grid.centres, state)
        x_lo = int(round(band * band_width / pixel_size))
        x_hi = min(nx, int(round((band + 1) * band_width / pixel_size)))
        if x_lo >= nx:
            break
        fraction[:, x_lo:x_hi] = column[:, None]
        x_mid = 0.5 * (x_lo + x_hi - 1) * pixel_size
        b = np.asarray(medium.boundaries)
        for i, yb in enumerate(b):
            below = yb - (b[i - 1] if i > 0 else -np.inf)
            above = (b[i + 1] if i + 1 < b.size else np.inf) - yb
            inside = segment_half_length < yb < (ny - 1) * pixel_size - segment_half_length
            if inside and below >= min_grain and above >= min_grain and x_hi - x_lo >= 5:
                segments.append(((x_mid, yb - segment_half_length),
                                 (x_mid, yb + segment_half_length)))
                boundaries.append(float(yb))
    raw = _raw_fraction(fraction, LLTO["source_fraction"], LLTO["background_fraction"])
    n6, n7 = draw_counts(raw, counts_per_pixel, rng)
    counts = CountMap(counts={"6Li": n6, "7Li": n7}, pixel_size=(pixel_size, pixel_size),
                      origin=(0.0, 0.0), metadata={"synthetic": True})
    truth = {**d, "T": T, "exchange_time": exchange_time, "gb_width": delta,
             "true_fraction": raw}
    return SyntheticMap(counts=counts, truth=truth, segments=segments, boundaries=boundaries)


@dataclass(frozen=True)
class SyntheticLines:
    """Line scans of one sample: after exchange, then after each later time."""

    profiles: tuple[Profile, ...]
    times: tuple[float, ...]
    truth: dict[str, Any]


def exchange_and_anneal_lines(
    *,
    D_exchange: float,
    exchange_time: float,
    D_anneal: float,
    anneal_times: tuple[float, ...],
    length: float = 6e-3,
    step: float = 25e-6,
    counts_per_point: float = 4000.0,
    n_cells: int = 1200,
    seed: int = 0,
) -> SyntheticLines:
    """Line scans after exchange from ``x = 0`` and after closed anneals (seed 000, Fig. 4).

    The sample takes up tracer from a fixed source at ``x = 0`` for ``exchange_time`` with
    ``D_exchange``; it is then removed from the source (both ends closed, tracer conserved) and
    annealed for each cumulative time in ``anneal_times`` with ``D_anneal``.

    Parameters
    ----------
    D_exchange, D_anneal : float
        Effective diffusivities during exchange and anneal, m² s⁻¹.
    exchange_time : float
        s.
    anneal_times : tuple of float
        Cumulative anneal times at which a line is measured, s.
    length, step : float
        Scanned length and step, m (the bar itself is 1.5 × longer, closed at its end).
    counts_per_point : float
        Mean total counts per step.
    n_cells : int
        Cells of the numerical model.
    seed : int
        Random seed of the counts.

    Returns
    -------
    SyntheticLines
        Profiles with counts (raw ⁶Li fraction and binomial σ), the anneal times, the truth.
    """
    rng = np.random.default_rng(seed)
    grid = Grid.uniform(0.0, 1.5 * length, n_cells)
    after_exchange = solve(np.zeros(n_cells), grid, D_exchange, exchange_time, n_steps=200,
                           left="fixed", left_value=1.0, theta="crank-nicolson")
    states = [after_exchange]
    if anneal_times:
        annealed = solve(after_exchange, grid, D_anneal, max(anneal_times), n_steps=400,
                         return_times=list(anneal_times), theta="crank-nicolson")
        states += list(np.atleast_2d(annealed))
    x = np.arange(0.0, length + step / 2, step) + step / 2
    profiles = []
    for state in states:
        raw = _raw_fraction(np.interp(x, grid.centres, state), LLTO["source_fraction"],
                            LLTO["background_fraction"])
        n6, n7 = draw_counts(raw, counts_per_point, rng)
        c, s = isotope_fraction(n6, n7)
        profiles.append(Profile(x=x.copy(), fraction=c, sigma=s,
                                counts={"6Li": n6, "7Li": n7}, metadata={"synthetic": True}))
    truth = {"D_exchange": D_exchange, "D_anneal": D_anneal, "exchange_time": exchange_time}
    return SyntheticLines(profiles=tuple(profiles), times=tuple(anneal_times), truth=truth)


def write_profile(path, profile: Profile, *, header: str = "") -> None:
    """Write a count profile as a tab-separated SIMS line-scan export (x in µm)."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines.append("x (um)\t6Li (counts)\t7Li (counts)")
    for xi, a, b in zip(profile.x * 1e6, profile.counts["6Li"], profile.counts["7Li"],
                        strict=True):
        lines.append(f"{xi:.3f}\t{int(a)}\t{int(b)}")
    write_text_atomic(path, "\n".join(lines) + "\n")


def write_count_map(path, counts: np.ndarray, *, header: str = "") -> None:
    """Write one isotope's count map as a whitespace text matrix."""
    body = "\n".join(" ".join(str(int(v)) for v in row) for row in counts)
    lines = [f"# {line}" for line in header.splitlines()]
    write_text_atomic(path, "\n".join([*lines, body]) + "\n")


#: What :func:`write_storage_study` makes its files with (SI; Ea in eV).
STORAGE_STUDY = {"D_exchange": 6.6e-13, "D_anneal": 2.2e-13, "Ea": 0.30, "D0": 4.5e-7}


def write_storage_study(folder, *, seed: int = 7, table_points: int = 8,
                        table_error: float = 0.05) -> SyntheticLines:
    """Write a small study into ``folder``: ``before.txt`` (line scan after 110 h of exchange),
    ``after.txt`` (after 2 weeks closed at the anneal D) and ``nmr.txt`` (a D(T) table with
    relative errors ``table_error``), made with :data:`STORAGE_STUDY`.

    Parameters
    ----------
    folder : path-like
        Existing folder.
    seed : int
        Random seed of counts and table noise.
    table_points : int
        Temperatures in the table (295-475 K).
    table_error : float
        Relative standard error of the table's D.

    Returns
    -------
    SyntheticLines
        The two profiles written.
    """
    from pathlib import Path

    folder = Path(folder)
    truth = STORAGE_STUDY
    lines = exchange_and_anneal_lines(D_exchange=truth["D_exchange"], exchange_time=110 * 3600.0,
                                      D_anneal=truth["D_anneal"], anneal_times=(14 * 86400.0,),
                                      seed=seed)
    write_profile(folder / "before.txt", lines.profiles[0], header="after 110 h exchange")
    write_profile(folder / "after.txt", lines.profiles[1], header="after 2 weeks")
    rng = np.random.default_rng(seed)
    T = np.linspace(295.0, 475.0, table_points)
    D = truth["D0"] * np.exp(-truth["Ea"] / (BOLTZMANN_EV * T))
    rows = [f"{t:.2f}\t{d * 1e4 * (1 + table_error * rng.normal()):.6g}\t"
            f"{table_error * d * 1e4:.6g}" for t, d in zip(T, D, strict=True)]
    write_text_atomic(folder / "nmr.txt",
                      "T (K)\tD (cm2/s)\tD_err (cm2/s)\n" + "\n".join(rows) + "\n")
    return lines


# --------------------------------------------------------------------------------------------
# NMR: PFG echo decays of a 2D conductor and T1(T) curves (seed 001)

#: LLTO-like NMR numbers: in-plane/out-of-plane ratio 6.1e-7/3.3e-8 ≈ 18 at 393 K (seed 001),
#: correlation-time law τ0 = 1.4e-11 s, Ea = 0.11 eV, ⁷Li at 155.4 MHz.
LLTO_NMR = {"anisotropy": 6.1e-7 / 3.3e-8, "tau0": 1.4e-11, "Ea_tau": 0.11,
            "frequency": 155.4e6, "T1_min": 0.05}


def llto_pfg_diffusivities(T) -> dict[str, Any]:
    """In-plane D_a and out-of-plane D_c whose powder mean (2D_a + D_c)/3 is the LLTO-like
    D_bulk(T) of :func:`llto_diffusivities`, with the seed-001 ratio D_a/D_c ≈ 18 (m² s⁻¹)."""
    d_mean = llto_diffusivities(T)["D_bulk"]
    ratio = LLTO_NMR["anisotropy"]
    d_a = 3.0 * d_mean / (2.0 + 1.0 / ratio)
    return {"D_a": d_a, "D_c": d_a / ratio, "D_mean": d_mean}


def pfg_decay(D_a: float, D_c: float, *, delta: float = 2e-3, Delta: float = 0.1,
              nucleus: str = "7Li", n_points: int = 16, bD_max: float = 6.0,
              noise: float = 0.005, temperature: float | None = None, seed: int = 0):
    """A powder-averaged PFG echo decay with Gaussian noise on the signal.

    Parameters
    ----------
    D_a, D_c : float
        In-plane and out-of-plane diffusivities, m² s⁻¹ (equal for an isotropic decay).
    delta, Delta : float
        Gradient pulse length and separation, s.
    nucleus : str
        Observed nucleus.
    n_points : int
        Gradient steps, quadratically spaced (uniform in b) up to ``b·D_a = bD_max``.
    noise : float
        Standard deviation of the noise relative to S0.
    temperature : float, optional
        K, recorded in the data.
    seed : int
        Random seed.

    Returns
    -------
    ionscale.nmr.data.PFGData
        Gradients (T m⁻¹), b (s m⁻²), signal with S0 = 1 and its σ.
    """
    from ..nmr.bvalues import b_value
    from ..nmr.data import PFGData
    from ..nmr.models import powder_anisotropic

    rng = np.random.default_rng(seed)
    unit_b = float(b_value(1.0, delta, Delta, nucleus))  # b at g = 1 T/m
    b = np.linspace(0.02, 1.0, n_points) * bD_max / D_a
    g = np.sqrt(b / unit_b)
    clean = powder_anisotropic(b, D_a, D_c)
    sigma = np.full(n_points, noise)
    return PFGData(b=b, signal=clean + rng.normal(size=n_points) * noise, sigma=sigma,
                   gradient=g, delta=delta, Delta=Delta, nucleus=nucleus,
                   temperature=temperature, metadata={"synthetic": True})


def write_pfg_table(path, data) -> None:
    """Write a PFG decay as a text table: g in G/cm, intensity and its error, with δ, Δ,
    nucleus and temperature as ``# key: value`` lines (the layout ``read_pfg_table`` reads)."""
    lines = [f"# nucleus: {data.nucleus}", f"# delta: {data.delta * 1e3:g} ms",
             f"# Delta: {data.Delta * 1e3:g} ms"]
    if data.temperature is not None:
        lines.append(f"# temperature: {data.temperature:.2f} K")
    lines.append("g (G/cm)\tintensity\tintensity_err")
    lines += [f"{g * 100:.6g}\t{s:.6g}\t{e:.3g}"
              for g, s, e in zip(data.gradient, data.signal, data.sigma, strict=True)]
    write_text_atomic(path, "\n".join(lines) + "\n")


def t1_curve(T, *, tau0: float = LLTO_NMR["tau0"], Ea_eV: float = LLTO_NMR["Ea_tau"],
             frequency: float = LLTO_NMR["frequency"], T1_min: float = LLTO_NMR["T1_min"],
             noise: float = 0.03, seed: int = 0):
    """Spin-lattice relaxation times T1(T) of the BPP law with relative noise ``noise``.

    The coupling constant is chosen so that the T1 minimum is ``T1_min`` (s).

    Returns
    -------
    ionscale.nmr.data.RelaxationData
    """
    from ..nmr.data import RelaxationData
    from ..nmr.relaxation import BPP_T1_MINIMUM, bpp_rate
    from ..units import EV

    rng = np.random.default_rng(seed)
    T = np.asarray(T, dtype=float)
    omega0 = 2 * np.pi * frequency
    # rate per unit C at the minimum: τ pinned there (Ea = 0 makes τ = τ0 at any T)
    peak = float(bpp_rate(1.0, BPP_T1_MINIMUM / omega0, 0.0, 1.0, omega0))
    C = 1.0 / (T1_min * peak)
    T1 = 1.0 / bpp_rate(T, tau0, Ea_eV * EV, C, omega0)
    measured = T1 * (1 + noise * rng.normal(size=T.size))
    return RelaxationData(T=T, time=measured, time_error=noise * T1, kind="T1",
                          frequency=frequency, nucleus="7Li", metadata={"C": C})


def write_relaxation_table(path, data) -> None:
    """Write T1(T) as a text table: T (K), T1 (ms), its error."""
    lines = [f"# nucleus: {data.nucleus}", f"# frequency: {data.frequency / 1e6:g} MHz",
             "T (K)\tT1 (ms)\tT1_err (ms)"]
    lines += [f"{t:.2f}\t{x * 1e3:.6g}\t{e * 1e3:.3g}"
              for t, x, e in zip(data.T, data.time, data.time_error, strict=True)]
    write_text_atomic(path, "\n".join(lines) + "\n")
