"""Result types of :mod:`ionscale.kmc`: transport of one run, profiles, temperature series."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..results import Provenance, Result, Value, json_safe, new_axes

__all__ = ["ConcentrationProfiles", "KMCResult", "KMCSeries"]


@dataclass(frozen=True, eq=False)
class ConcentrationProfiles:
    """Concentration profiles along one axis at chosen times: plain arrays, SI.

    Attributes
    ----------
    x : ndarray, shape (n_layers,)
        Position of each atomic layer along the axis (normal to the layers), m.
    times : ndarray, shape (n_times,)
        Simulated time of each profile, s.
    species : tuple of str
        ``("vacancy", "A", "B", ...)``: the rows of ``concentration``.
    concentration : ndarray, shape (n_times, n_species, n_layers)
        Site fraction of each species in each layer (averaged over replicas).
    sigma : ndarray, same shape
        Standard error of each value: the spread over replicas when there are several, else
        the binomial ``sqrt((c (1 - c) + 1/(4 n)) / n)`` of the layer's n sites (floored so
        that it is never zero).
    sites_per_layer : ndarray of int
    temperature : float
        K.
    axis : int
        Cell axis of the profiles.

    Notes
    -----
    :meth:`profile` returns a plain dict with the keyword names of
    ``ionscale.interdiffusion.DiffusionProfile`` (``x``, ``concentrations``, ``sigma``,
    ``time``, ``temperature``), so that ``DiffusionProfile(**profiles.profile(-1))`` turns a
    snapshot into an interdiffusion profile without this package importing that one.
    """

    x: np.ndarray
    times: np.ndarray
    species: tuple[str, ...]
    concentration: np.ndarray
    sigma: np.ndarray
    sites_per_layer: np.ndarray
    temperature: float
    axis: int

    def index(self, name: str) -> int:
        try:
            return self.species.index(name)
        except ValueError:
            raise InputError(f"no species {name!r} in the profiles", field="species",
                             expected=f"one of {list(self.species)}") from None

    def profile(self, time_index: int = -1, species=None, *, normalise: bool = False
                ) -> dict[str, Any]:
        """One snapshot as plain arrays.

        Parameters
        ----------
        time_index : int
            Which of :attr:`times`.
        species : sequence of str, optional
            Species to include (default: all but the vacancy).
        normalise : bool
            Divide by the occupied fraction (``c_A / (1 - c_vacancy)``): the composition of the
            atoms, as a microprobe measures it.

        Returns
        -------
        dict
            ``{"x", "concentrations", "sigma", "time", "temperature"}``.
        """
        names = [s for s in self.species if s != "vacancy"] if species is None else list(species)
        c = self.concentration[time_index]
        e = self.sigma[time_index]
        occ = 1.0 - c[self.index("vacancy")] if normalise else 1.0
        conc = {n: np.asarray(c[self.index(n)] / occ) for n in names}
        sig = {n: np.asarray(e[self.index(n)] / occ) for n in names}
        return {"x": self.x.copy(), "concentrations": conc, "sigma": sig,
                "time": float(self.times[time_index]), "temperature": self.temperature}

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"x": self.x, "times": self.times, "species": self.species,
                          "concentration": self.concentration, "sigma": self.sigma,
                          "sites_per_layer": self.sites_per_layer,
                          "temperature": self.temperature, "axis": self.axis})

    def plot(self, ax=None, species: str | None = None):
        """Profile snapshots of one species (default: the first non-vacancy one)."""
        ax = new_axes(ax)
        name = species or next(s for s in self.species if s != "vacancy")
        i = self.index(name)
        for j, t in enumerate(self.times):
            ax.errorbar(self.x * 1e9, self.concentration[j, i], yerr=self.sigma[j, i],
                        fmt=".-", ms=3, lw=0.8, capsize=0, label=f"t = {t:.3g} s")
        ax.set_xlabel("x (nm)")
        ax.set_ylabel(f"site fraction of {name}")
        ax.legend(fontsize=7)
        ax.set_title(f"{name} profiles, T = {self.temperature:.4g} K")
        return ax


@dataclass(frozen=True, kw_only=True)
class KMCResult(Result):
    """Transport coefficients of a kMC run.

    Values (per species, suffixed ``_<species>`` when several species move):
    ``D_tracer`` (D*, from the tracer MSD), ``D_tracer_x``/``_y``/``_z`` (per cell direction of
    the Cartesian frame), ``D_sigma`` (D_σ from the MSD of the centre of mass,
    ``|Σ Δr_i|² / (2d N t)``), ``f`` (tracer correlation factor D*/D_uncorrelated, with
    ``D_uncorrelated = Σ a² / (2d N t)`` from the jumps made), ``f_I`` (collective correlation
    factor D_σ/D_uncorrelated), ``H_R`` (Haven ratio
    D*/D_σ), ``Gamma`` (jumps per particle per second, all directions). D_σ, f_I and H_R are
    equilibrium quantities: a run started from a diffusion couple (the centre of mass of each
    species drifts) or with reservoirs does not report them.

    Attributes
    ----------
    temperature : float
        K.
    species : tuple of str
    lag_times : ndarray
        Lags of the MSD fit, s.
    msd : dict
        Per species: ``{"tracer": (mean, sem), "collective": (mean, sem),
        "tracer_fit": (D, offset), "collective_fit": (D, offset)}`` (m², m² s⁻¹).
    occupancy, occupancy_error : ndarray, shape (n_species, n_sublattices)
        Time-averaged site fraction of each species on each sublattice.
    sublattices : tuple of str
    mean_energy, mean_energy_error : float
        Time-averaged lattice energy, J.
    jump_statistics : dict
        Events, events per second, reversal fraction, per-class counts, rate span (decades),
        acceleration log, jumps per species.
    profiles : ConcentrationProfiles or None
    """

    temperature: float
    species: tuple[str, ...] = ()
    lag_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    msd: Mapping[str, Any] = field(default_factory=dict)
    occupancy: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    occupancy_error: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    sublattices: tuple[str, ...] = ()
    mean_energy: float = math.nan
    mean_energy_error: float = math.nan
    jump_statistics: Mapping[str, Any] = field(default_factory=dict)
    profiles: ConcentrationProfiles | None = None

    def value_name(self, name: str, species: str | None = None) -> str:
        """Key of ``name`` (``"D_tracer"``) for ``species`` in :attr:`values`."""
        if species is None or name in self.values:
            return name
        return f"{name}_{species}"

    def plot(self, ax=None):
        """MSD against time (tracer and centre of mass) with the GLS fits; profiles instead
        for a run with profiles and no MSD."""
        if not self.msd and self.profiles is not None:
            return self.profiles.plot(ax)
        ax = new_axes(ax)
        t = self.lag_times
        if not self.msd:
            return super().plot(ax)
        tt = np.linspace(0, t.max() if t.size else 1.0, 50)
        for i, (name, m) in enumerate(self.msd.items()):
            mean, sem = m["tracer"]
            ax.errorbar(t, np.asarray(mean) * 1e20, yerr=np.asarray(sem) * 1e20, fmt="o",
                        ms=3, color=f"C{2 * i}", capsize=2, label=f"{name}: tracer")
            D, off = m["tracer_fit"]
            d = int(m.get("dimension", 1))
            ax.plot(tt, (2 * d * D * tt + off) * 1e20, "-", color=f"C{2 * i}", lw=1)
            mean, sem = m["collective"]
            ax.errorbar(t, np.asarray(mean) * 1e20, yerr=np.asarray(sem) * 1e20, fmt="s",
                        ms=3, color=f"C{2 * i + 1}", capsize=2,
                        label=f"{name}: centre of mass × N")
            D, off = m["collective_fit"]
            ax.plot(tt, (2 * d * D * tt + off) * 1e20, "--", color=f"C{2 * i + 1}", lw=1)
        ax.set_xlabel("lag time (s)")
        ax.set_ylabel("MSD (Å²)")
        ax.legend(fontsize=7)
        key = "D_tracer" if "D_tracer" in self.values else next(
            (k for k in self.values if k.startswith("D_tracer")), None)
        title = f"kMC, T = {self.temperature:.4g} K"
        if key:
            title += f": {self.values[key]}"
        ax.set_title(title, fontsize=9)
        return ax


@dataclass(frozen=True, kw_only=True)
class KMCSeries(Result):
    """kMC results at several temperatures (an Arrhenius series).

    ``values`` holds, for every temperature ``T_i``, the main values suffixed ``@<T>K``;
    :meth:`table` gives ``(T, y, y_err)`` arrays for :func:`ionscale.transport.fit_arrhenius`.
    """

    temperatures: np.ndarray
    results: tuple[KMCResult, ...] = ()

    def _extra_dict(self) -> dict[str, Any]:
        return {"temperatures": self.temperatures.tolist(),
                "results": [r.to_dict() for r in self.results]}

    def table(self, value: str = "D_tracer") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(T (K), value, standard error)`` over the series, for an Arrhenius fit."""
        for r in self.results:
            if value not in r.values:
                raise InputError(f"no value {value!r} at T = {r.temperature:.6g} K",
                                 field="value", expected=f"one of {list(r.values)}")
        return (np.array([r.temperature for r in self.results]),
                np.array([r.values[value].value for r in self.results]),
                np.array([r.values[value].error for r in self.results]))

    def arrhenius(self, value: str = "D_tracer"):
        """Arrhenius fit of ``value`` over the series (:func:`ionscale.transport.fit_arrhenius`,
        weighted by the kMC errors)."""
        from ..transport.arrhenius import fit_arrhenius

        T, y, e = self.table(value)
        ok = np.isfinite(e) & (e > 0)
        return fit_arrhenius(T, y, y_err=e if ok.all() else None, form="D")

    def plot(self, ax=None, value: str = "D_tracer"):
        """Arrhenius plot of ``value`` (log scale against 1000/T) with its fit."""
        ax = new_axes(ax)
        T, y, e = self.table(value)
        ax.errorbar(1000.0 / T, y * 1e4, yerr=e * 1e4, fmt="o", capsize=3, label=value)
        if T.size >= 3 and np.all(y > 0):
            try:
                fit = self.arrhenius(value)
                tt = np.linspace(T.min(), T.max(), 100)
                mean, _ = fit.predict_log(tt)
                ax.plot(1000.0 / tt, np.exp(mean) * 1e4, "-", label=str(fit["Ea"]))
            except Exception:  # a failed fit leaves the data plot
                pass
        ax.set_yscale("log")
        ax.set_xlabel("1000 / T (K⁻¹)")
        ax.set_ylabel(f"{value} (cm² s⁻¹)")
        ax.legend(fontsize=8)
        ax.set_title("kMC Arrhenius series")
        return ax


def series_from_results(results, provenance: Provenance) -> KMCSeries:
    """A :class:`KMCSeries` from per-temperature results."""
    results = tuple(sorted(results, key=lambda r: r.temperature))
    values: dict[str, Value] = {}
    for r in results:
        for k in ("D_tracer", "D_sigma", "f", "H_R"):
            if k in r.values:
                v = r.values[k]
                key = f"{k}@{r.temperature:.6g}K"
                # one symbol over the series (one line in an Arrhenius overview); the
                # store files each value at its own temperature
                values[key] = Value(key, v.value, v.error, v.unit, v.label,
                                    details={"temperature_K": float(r.temperature)})
    diags = tuple(d for r in results for d in r.diagnostics)
    return KMCSeries(values=values, provenance=provenance, diagnostics=diags,
                     title=f"kMC over {len(results)} temperatures",
                     temperatures=np.array([r.temperature for r in results]), results=results)
