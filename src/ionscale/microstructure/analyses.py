"""Campaign analyses of segmented volumes.

=======================  ===========  ==========================================================
method                   measurement  what it does
=======================  ===========  ==========================================================
``micro.metrics``        ``volume``   every metric of a phase (fractions, slice profiles, REV,
                                      percolation, τ, geometric tortuosity, local thickness,
                                      pore sizes); ``parts`` selects
``micro.tortuosity``     ``volume``   tortuosity factor τ (diffusion solve, TauFactor's
                                      convention)
``micro.geodesic``       ``volume``   geodesic map and geometric tortuosity
``micro.thickness``      ``volume``   local thickness distribution
``micro.pores``          ``volume``   pore (particle) size distribution
=======================  ===========  ==========================================================

The voxel size comes from the parameter ``voxel_size`` (``"20 nm"`` or
``"50 nm, 20 nm, 20 nm"`` for (dz, dy, dx)), else from the file. Phase names come from
``phases = {pore = 0, solid = 1}``.
"""

from __future__ import annotations

from ..campaign import AnalysisContext, Param, analysis
from ..io.volume import read_volume
from .geodesic import geometric_tortuosity
from .metrics import PARTS, microstructure_metrics
from .pores import pore_size_distribution
from .thickness import thickness_statistics
from .tortuosity import tortuosity_factor

_VOLUME = {
    "phase": Param(None, None, "phase name (see phases) or integer label"),
    "phases": Param(None, None, "names of labels, e.g. {pore = 0, solid = 1}"),
    "voxel_size": Param(None, None, "'20 nm' or 'dz, dy, dx' (default: from the file)"),
    "dataset": Param(None, None, "HDF5/zarr dataset path"),
}
_AXIS = {"axis": Param(None, 0, "transport axis (0 = z, 1 = y, 2 = x)", (0, 1, 2))}


def _volume(ctx: AnalysisContext):
    m = ctx.measurement("volume")
    p = ctx.parameters
    if len(m.files) != 1:
        raise ctx.error(f"{len(m.files)} files", "measurements",
                        "one volume file, or one folder of slices")
    return read_volume(m.files[0],
                       voxel_size=p["voxel_size"], phases=p["phases"], dataset=p["dataset"])


@analysis(
    "micro.metrics",
    techniques=("volume",),
    parameters={
        **_VOLUME, **_AXIS,
        "parts": Param(None, list(PARTS), f"which of {', '.join(PARTS)}"),
        "connectivity": Param(None, 6, "voxel connectivity", (6, 18, 26)),
        "thickness_method": Param(None, "fast", "local-thickness method", ("fast", "exact")),
        "measure": Param(None, "diameter", "local-thickness convention",
                         ("diameter", "radius")),
        "geodesic_metric": Param(None, "euclidean", "geodesic metric",
                                 ("euclidean", "6-neighbour", "26-neighbour")),
        "seed": Param(None, 0, "seed of the REV sampling"),
    },
)
def metrics_analysis(ctx: AnalysisContext):
    """Every microstructure metric of one phase."""
    p = ctx.parameters
    return microstructure_metrics(
        _volume(ctx), p["phase"], axis=int(p["axis"]), connectivity=int(p["connectivity"]),
        parts=tuple(p["parts"]), thickness_method=p["thickness_method"],
        measure=p["measure"], geodesic_metric=p["geodesic_metric"], seed=int(p["seed"]))


@analysis("micro.tortuosity", techniques=("volume",), parameters={**_VOLUME, **_AXIS})
def tortuosity_analysis(ctx: AnalysisContext):
    """Tortuosity factor τ of a phase (D_eff/D0 = ε/τ)."""
    p = ctx.parameters
    return tortuosity_factor(_volume(ctx), p["phase"], int(p["axis"]))


@analysis(
    "micro.geodesic",
    techniques=("volume",),
    parameters={**_VOLUME, **_AXIS,
                "metric": Param(None, "euclidean", "geodesic metric",
                                ("euclidean", "6-neighbour", "26-neighbour"))},
)
def geodesic_analysis(ctx: AnalysisContext):
    """Geometric tortuosity of a phase from its geodesic map."""
    p = ctx.parameters
    return geometric_tortuosity(_volume(ctx), p["phase"], int(p["axis"]), metric=p["metric"])


@analysis(
    "micro.thickness",
    techniques=("volume",),
    parameters={**_VOLUME,
                "method": Param(None, "fast", "local-thickness method", ("fast", "exact")),
                "measure": Param(None, "diameter", "convention", ("diameter", "radius"))},
)
def thickness_analysis(ctx: AnalysisContext):
    """Local thickness distribution of a phase."""
    p = ctx.parameters
    return thickness_statistics(_volume(ctx), p["phase"], method=p["method"],
                                measure=p["measure"])


@analysis(
    "micro.pores",
    techniques=("volume",),
    parameters={**_VOLUME,
                "connectivity": Param(None, 6, "voxel connectivity", (6, 18, 26)),
                "watershed": Param(None, False, "split touching pores")},
)
def pores_analysis(ctx: AnalysisContext):
    """Pore (or particle) size distribution of a phase."""
    p = ctx.parameters
    return pore_size_distribution(_volume(ctx), p["phase"],
                                  connectivity=int(p["connectivity"]),
                                  split="watershed" if p["watershed"] else "none")
