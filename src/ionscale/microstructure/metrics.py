"""Every microstructure metric of one phase in one call (``ionscale micro metrics``).

Runs, on the same volume and phase: volume fractions, slice profiles, the representative
elementary volume, percolation (through / dead-end / isolated), the tortuosity factor τ
(diffusion solve, TauFactor's convention), the geometric tortuosity (geodesic map), local
thickness and the pore size distribution. Each part can be switched off; each part's full
result is kept, and the headline numbers are gathered into one ``values`` table.

A part that cannot be computed for a structure (a phase that does not percolate has τ = ∞ and
no geodesic through-path) is reported, not raised.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..results import Provenance, Result, Value, json_safe
from .volume import AXIS_NAMES, phase_display_name, resolve_phase, source_files

#: The parts :func:`microstructure_metrics` can run, in order.
PARTS = ("fractions", "slices", "rev", "percolation", "tortuosity", "geodesic", "thickness",
         "pores")


@dataclass(frozen=True, kw_only=True)
class MicrostructureMetrics(Result):
    """Headline numbers of a phase and the full result of each part.

    Attributes
    ----------
    parts : dict of str to Result
        ``"fractions"``, ``"slices"``, ``"rev"``, ``"percolation"``, ``"tortuosity"``,
        ``"geodesic"``, ``"thickness"``, ``"pores"``: the results that were computed.
    phase : str
        The phase analysed.
    axis : int
        Transport axis of τ, the geodesic map and percolation (0 = z).
    notes : tuple of str
        Parts skipped or degenerate (e.g. "does not percolate").
    """

    parts: Mapping[str, Result]
    phase: str
    axis: int = 0
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        lines = [super().summary()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _extra_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "axis": self.axis, "notes": list(self.notes),
                "parts": {k: v.to_dict() for k, v in self.parts.items()}}

    def plot(self, ax=None):
        """A panel per part that has a figure (slice profiles, REV, local thickness, pore
        sizes, geodesic map, τ); ``ax`` draws only the slice profiles."""
        drawable = [k for k in ("slices", "rev", "thickness", "pores", "geodesic",
                                "geodesic-distribution", "tortuosity", "percolation")
                    if k.split("-")[0] in self.parts]
        if ax is not None or not drawable:
            key = drawable[0] if drawable else None
            return self.parts[key].plot(ax=ax) if key else super().plot(ax=ax)
        import matplotlib.pyplot as plt

        from ..report.style import DOUBLE, MAX_HEIGHT

        n = len(drawable)
        cols = min(2, n)
        rows = math.ceil(n / cols)
        # a double-column figure, panels labelled (a), (b)...
        fig, axes = plt.subplots(rows, cols, figsize=(DOUBLE, min(0.4 + 2.3 * rows, MAX_HEIGHT)),
                                 layout="constrained", squeeze=False)
        for i, (a, key) in enumerate(zip(axes.ravel(), drawable, strict=False)):
            if key == "geodesic":  # map and distribution in panels of their own
                self.parts[key]._plot_map(a)
            elif key == "geodesic-distribution":
                self.parts["geodesic"]._plot_hist(a)
            else:
                self.parts[key].plot(ax=a)
            a.set_title(f"({chr(97 + i)}) {a.get_title()}", loc="left")
            a.set_title("")
        for a in axes.ravel()[n:]:
            a.set_axis_off()
        fig.suptitle(self.title)
        return axes[0, 0]


class _StageProgress:
    """One tqdm bar over the parts of a run (stderr), named after the part running now; the
    parts' own bars (blocks, CG iterations) show inside it. Does nothing without
    ``progress``."""

    def __init__(self, parts: tuple[str, ...], progress: bool):
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(parts), desc="micro metrics", unit="part",
                            position=0, leave=False)
        self.started = False

    def start(self, part: str) -> None:
        if self.bar is None:
            return
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_description(f"micro metrics: {part}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(1 if self.started else 0)
            self.bar.close()


def _pick(values: Mapping[str, Value], mapping: Mapping[str, str], out: dict[str, Value]):
    for src, dst in mapping.items():
        if src in values:
            v = values[src]
            out[dst] = Value(dst, v.value, v.error, v.unit, v.symbol, v.valid)


def microstructure_metrics(
    volume,
    phase=None,
    *,
    voxel_size=None,
    axis: int = 0,
    connectivity: int = 6,
    parts: Iterable[str] = PARTS,
    thickness_method: str = "fast",
    measure: str = "diameter",
    geodesic_metric: str = "euclidean",
    rev_samples: int = 60,
    seed: int = 0,
    progress: bool = False,
) -> MicrostructureMetrics:
    """Compute every metric of ``phase`` (see :data:`PARTS`).

    Parameters
    ----------
    volume : Volume or array_like
        ``(z, y, x)`` labels or a boolean mask.
    phase : str or int, optional
        Phase name or label (default True for a mask, 1 for labels).
    voxel_size : float, str or sequence of 3, optional
        ``(dz, dy, dx)`` in m; required for plain arrays.
    axis : int
        Transport axis for τ, the geodesic map and percolation (0 = z, the FIB-SEM slicing
        direction).
    connectivity : {6, 18, 26}
        Voxel connectivity of components and percolation.
    parts : iterable of str
        Which of :data:`PARTS` to run.
    thickness_method : {"fast", "exact"}
        Local-thickness method.
    measure : {"diameter", "radius"}
        Local-thickness convention.
    geodesic_metric : {"euclidean", "6-neighbour", "26-neighbour"}
        Metric of the geodesic map (seed 004 used 6-neighbour).
    rev_samples : int
        Random cubes per size for the REV curve.
    seed : int
        Seed of the REV sampling.
    progress : bool
        Progress bars.

    Returns
    -------
    MicrostructureMetrics

    Examples
    --------
    >>> import numpy as np
    >>> v = np.zeros((12, 12, 12), bool); v[:, 4:8, 4:8] = True
    >>> m = microstructure_metrics(v, voxel_size="1 um", parts=("fractions", "tortuosity"))
    >>> round(m["tau"].value, 6), round(m["fraction"].value, 4)
    (1.0, 0.1111)
    """
    from .connectivity import percolation
    from .fractions import representative_volume, slice_fractions, volume_fractions
    from .geodesic import geometric_tortuosity
    from .pores import pore_size_distribution
    from .thickness import thickness_statistics
    from .tortuosity import tortuosity_factor

    parts = tuple(parts)
    unknown = set(parts) - set(PARTS)
    if unknown:
        from ..errors import InputError

        raise InputError(f"unknown parts {sorted(unknown)}", field="parts",
                         expected=f"some of {PARTS}")
    mask, vs = resolve_phase(volume, phase, voxel_size)
    # the mask is not kept: each part makes its own, so that the peak memory of the run is
    # the largest part's, not that plus a mask held throughout
    n_phase = int(mask.sum())
    shape = tuple(int(s) for s in mask.shape)
    del mask
    phase_name = phase_display_name(volume, phase)
    files = source_files(volume)
    common = {"voxel_size": vs}
    results: dict[str, Result] = {}
    values: dict[str, Value] = {}
    notes: list[str] = []
    stages = _StageProgress(parts, progress)
    if "fractions" in parts:
        stages.start("fractions")
        results["fractions"] = volume_fractions(volume, progress=progress, **common)
        values["fraction"] = Value("fraction", n_phase / math.prod(shape), 0.0, "", "ε")
    if "slices" in parts:
        stages.start("slices")
        r = slice_fractions(volume, phase, progress=progress, **common)
        results["slices"] = r
        for name in AXIS_NAMES:
            _pick(r.values, {f"sd_{name}": f"slice_sd_{name}"}, values)
    if "rev" in parts:
        stages.start("rev")
        r = representative_volume(volume, phase, n_samples=rev_samples, seed=seed,
                                  progress=progress, **common)
        results["rev"] = r
        _pick(r.values, {"rev_size": "rev_size"}, values)
    if "percolation" in parts:
        stages.start("percolation")
        r = percolation(volume, phase, axis, connectivity=connectivity, progress=progress,
                        **common)
        results["percolation"] = r
        _pick(r.values, {"through_fraction": "through_fraction",
                         "dead_end_fraction": "dead_end_fraction",
                         "isolated_fraction": "isolated_fraction"}, values)
    if "tortuosity" in parts:
        stages.start("tortuosity")
        r = tortuosity_factor(volume, phase, axis, progress=progress, **common)
        results["tortuosity"] = r
        _pick(r.values, {"tau": "tau", "D_eff_rel": "D_eff_rel"}, values)
        if not math.isfinite(r["tau"].value):
            notes.append(f"tortuosity factor: {getattr(r, 'reason', 'does not percolate')}")
    if "geodesic" in parts:
        stages.start("geodesic")
        r = geometric_tortuosity(volume, phase, axis, metric=geodesic_metric, **common)
        results["geodesic"] = r
        _pick(r.values, {"tau": "tau_geometric", "tau_min": "tau_geometric_min",
                         "tau_max": "tau_geometric_max",
                         "path_length_min": "min_path_length"}, values)
    if "thickness" in parts:
        stages.start("thickness")
        r = thickness_statistics(volume, phase, method=thickness_method, measure=measure,
                                 progress=progress, **common)
        results["thickness"] = r
        _pick(r.values, {"mean": f"thickness_mean_{measure}",
                         "sd": f"thickness_sd_{measure}"}, values)
    if "pores" in parts:
        stages.start("pores")
        r = pore_size_distribution(volume, phase, connectivity=connectivity,
                                   progress=progress, **common)
        results["pores"] = r
        _pick(r.values, {"count": "component_count",
                         "mean_equivalent_diameter": "mean_equivalent_diameter"}, values)
    stages.close()
    return MicrostructureMetrics(
        values=values,
        provenance=Provenance.build(
            "microstructure.metrics", files,
            json_safe({"phase": phase_name, "voxel_size": vs.tolist(), "axis": axis,
                       "connectivity": connectivity, "parts": list(parts),
                       "thickness_method": thickness_method, "measure": measure,
                       "geodesic_metric": geodesic_metric, "rev_samples": rev_samples,
                       "seed": seed})),
        title=f"Microstructure of phase {phase_name} ({' × '.join(map(str, shape))} "
              f"voxels, {' × '.join(f'{v * 1e9:.4g}' for v in vs)} nm)",
        diagnostics=tuple(d for r in results.values() for d in r.diagnostics),
        parts=results,
        phase=phase_name,
        axis=axis,
        notes=tuple(notes),
    )
