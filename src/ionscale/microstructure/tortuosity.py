"""Tortuosity factor τ from a steady diffusion solve in a phase of a segmented volume.

Finite volumes on the voxel grid: one unknown concentration per voxel of the percolating
cluster, a conductance on every face shared by two conducting voxels, proportional to
``D × area / length`` (``d_j d_k / d_i`` for a face normal to axis ``i``, so anisotropic voxels
are exact). Dirichlet conditions ``c = 1`` and ``c = 0`` hold on the two outer faces of the
volume normal to ``axis``; every other outer face and every phase boundary is closed (no flux).

Boundary convention (the one of TauFactor's binary solver): the reservoirs sit on the outer
faces of the volume, half a voxel outside the centres of the first and last slices, so a boundary
voxel connects to its reservoir with twice the interior conductance. The diffusion length is then
the full extent ``N d`` of the volume and an open block gives ``τ = 1`` exactly.

Definitions::

    D_eff / D_0 = (flow × L) / (A × Δc × D_0)       L = N_axis d_axis, A = cross-section
    τ = ε D_0 / D_eff                                (τ, not τ²; ε = phase volume fraction)

``ε`` counts every voxel of the phase (isolated and dead-end pores included), as TauFactor does;
only the cluster connected to both Dirichlet faces (6-connectivity) is solved for, since the
others carry no flux and would make the matrix singular. A phase that does not connect the two
faces has ``D_eff = 0`` and ``τ = inf`` with a reason, never a finite number.

With ``diffusivity={label: D}`` each label conducts with its own relative diffusivity (labels
not given do not conduct); a face between two labels uses the harmonic mean ``2 D_a D_b / (D_a +
D_b)`` (resistances in series, so layers across the transport axis give the Reuss bound and
layers along it the Voigt bound exactly), and ``τ = D_mean / D_eff`` with ``D_mean`` the volume
average of ``D`` (the binary case is ``D = 1`` in the phase: ``D_mean = ε``).

Solvers (all give the same τ to about ``rtol``):

* ``"cg-mg"`` (default for large systems): matrix-free conjugate gradients on the voxel grid,
  preconditioned by an aggregation multigrid on the 2×2×2 blocks of the grid (Galerkin coarse
  operators are again 7-point stencils, so no matrix is stored and the setup is one pass per
  level); numba kernels, 5-15 CG iterations to ``rtol = 1e-6``. Its vectors are float32 from
  256³ voxels (``precision="auto"``; all arithmetic and sums in float64, checked against the
  true residual): 20.4 bytes per voxel in all for one phase (36.4 with ``precision="double"``),
  so 0.34 GiB at 256³, 2.4 GiB at 500³, 20.6 GiB at 1024³ (:func:`.memory.tortuosity_bytes`,
  validated against measured peaks); TauFactor's 500³ volume takes about 110 s on two cores.
* ``"cg-amg"``: the system assembled straight into CSR (vectorised index arithmetic, int32
  indices, no sort) and CG preconditioned by pyamg smoothed aggregation (about 4× slower and
  4× the memory of ``"cg-mg"`` at 256³: the AMG setup dominates).
* ``"cg-jacobi"``: CG with a diagonal preconditioner (no setup; many iterations).
* ``"direct"``: sparse LU (``"auto"`` picks it up to :data:`DIRECT_MAX_UNKNOWNS` unknowns).

The flow through every slice (N + 1 planes, the two Dirichlet faces included) is checked
afterwards: its largest relative deviation from the mean is reported as ``flux_deviation`` (zero
for the exact solution).
"""

from __future__ import annotations

import math
import time
import types
import warnings
from dataclasses import dataclass, field
from typing import Any

import numba as nb
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import FitWarning, InputError
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from .volume import AXIS_NAMES, resolve_phase, source_files

SOLVERS = ("auto", "cg-mg", "cg-amg", "cg-jacobi", "direct")

#: Smallest ``rtol`` for which ``precision="auto"`` stores the ``"cg-mg"`` vectors as
#: float32 (their rounding floor is a relative residual of about 1e-7 to 1e-6).
SINGLE_MIN_RTOL = 1e-6

#: Smallest volume (voxels) whose ``"cg-mg"`` vectors ``precision="auto"`` stores as float32
#: (256³): below it float64 costs under 0.6 GiB and keeps τ to float64 round-off.
SINGLE_MIN_VOXELS = 1 << 24

#: Systems up to this many unknowns are solved directly by ``solver="auto"``.
DIRECT_MAX_UNKNOWNS = 20_000

CONVENTION = ("Dirichlet c = 1 / c = 0 on the two outer faces normal to the axis, half a voxel "
              "outside the first/last slice (TauFactor's convention: open block τ = 1); no flux "
              "elsewhere; τ = ε D0/D_eff (τ, not τ²), ε = all voxels of the phase")


@dataclass(frozen=True, kw_only=True)
class TortuosityResult(Result):
    """Tortuosity factor of one phase along one axis.

    Values: ``tau`` (τ, not τ²), ``D_eff_rel`` (``D_eff/D_0 = ε/τ``), ``porosity`` (ε, volume
    fraction of the phase), ``percolating_fraction`` (volume fraction of the phase connected to
    both Dirichlet faces), ``flow`` (flow rate through the volume per unit ``D_0 Δc``, m:
    ``D_eff/D_0 × A / L``) and, for a multi-label solve, ``D_mean`` (volume-average relative
    diffusivity).

    Attributes
    ----------
    tau : float
        τ (``inf`` when the phase does not percolate).
    D_eff_rel : float
        ``D_eff / D_0``.
    porosity : float
        ε.
    axis : int
        Transport axis (0 = z, 1 = y, 2 = x).
    percolating : bool
        Whether the phase connects the two Dirichlet faces.
    reason : str
        Why τ is infinite ('' when it is not).
    solver : str
        Solver used (``"cg-mg"``, ``"cg-amg"``, ``"cg-jacobi"``, ``"direct"``, or ``"none"``
        when nothing percolates).
    iterations : int
        CG iterations (0 for a direct solve).
    residual : float
        Final relative residual ``|b − A c| / |b|``.
    n_unknowns : int
        Voxels solved for (the percolating cluster).
    slice_flow : ndarray
        Flow through each of the ``N + 1`` planes normal to the axis (inlet face, the ``N − 1``
        interior planes, outlet face), relative to their mean (1 everywhere when exact).
    flux_deviation : float
        ``max |slice_flow − 1|``: flux conservation check.
    concentration : ndarray or None
        ``(z, y, x)`` concentration in the solved voxels (NaN elsewhere), float32; only with
        ``return_field=True``.
    voxel_size : tuple of float
        ``(dz, dy, dx)``, m.
    shape : tuple of int
        Shape of the volume.
    timings : dict
        Seconds spent in each stage (``components``, ``assemble``, ``setup``, ``solve``).
    precision : str
        Storage of the solver's vectors: ``"single"`` (float32, ``"cg-mg"`` only) or
        ``"double"``.
    restarts : int
        ``"cg-mg"``: restarts of CG from the true residual (the recursively updated residual
        had converged, the true one not yet).
    """

    tau: float
    D_eff_rel: float
    porosity: float
    axis: int
    percolating: bool
    reason: str = ""
    solver: str = "none"
    iterations: int = 0
    residual: float = math.nan
    n_unknowns: int = 0
    slice_flow: np.ndarray = field(default_factory=lambda: np.zeros(0))
    flux_deviation: float = math.nan
    concentration: np.ndarray | None = None
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    shape: tuple[int, int, int] = (0, 0, 0)
    timings: dict[str, float] = field(default_factory=dict)
    precision: str = "double"
    restarts: int = 0

    def summary(self) -> str:
        lines = [super().summary(), f"  convention: {CONVENTION}"]
        if not self.percolating:
            lines.append(f"  not percolating: {self.reason}")
        else:
            lines.append(
                f"  solver: {self.solver} ({self.precision} precision), {self.n_unknowns} "
                f"unknowns, {self.iterations} "
                f"iterations, residual {self.residual:.2g}, slice flux deviation "
                f"{self.flux_deviation:.2g}")
        return "\n".join(lines)

    def plot(self, ax=None):
        """The concentration on the mid plane containing the transport axis (if the field was
        returned), otherwise the flow through each slice relative to the mean.

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        name = AXIS_NAMES[self.axis]
        if self.concentration is not None:
            # a plane containing the transport axis: cut the other axis with the larger extent
            others = [a for a in range(3) if a != self.axis]
            cut = others[0]
            keep = others[1]
            img = np.take(self.concentration, self.shape[cut] // 2, axis=cut)
            # rows: transport axis, columns: the remaining axis
            if self.axis > keep:
                img = img.T
            vs = np.asarray(self.voxel_size) * 1e6
            extent = (0, self.shape[keep] * vs[keep], self.shape[self.axis] * vs[self.axis], 0)
            im = ax.imshow(np.ma.masked_invalid(img), cmap="viridis", vmin=0, vmax=1,
                           extent=extent, interpolation="nearest")
            ax.figure.colorbar(im, ax=ax, label="c / c_in")
            ax.set_xlabel(f"{AXIS_NAMES[keep]} (µm)")
            ax.set_ylabel(f"{name} (µm)")
            ax.set_title(f"τ_{name} = {self.tau:.4g} (mid {AXIS_NAMES[cut]} slice)")
            return ax
        if self.slice_flow.size:
            pos = np.arange(self.slice_flow.size) * self.voxel_size[self.axis] * 1e6
            ax.plot(pos, (self.slice_flow - 1.0) * 100, "o-", ms=3)
            ax.axhline(0, color="0.5", lw=0.8)
            ax.set_xlabel(f"plane position along {name} (µm)")
            ax.set_ylabel("flow − mean (%)")
        else:
            ax.text(0.5, 0.5, self.reason or "no flow", ha="center", va="center",
                    transform=ax.transAxes)
        ax.set_title(f"τ_{name} = {self.tau:.4g}")
        return ax


# --------------------------------------------------------------------------- public API


def tortuosity_factor(
    volume,
    phase=None,
    axis: int = 0,
    *,
    voxel_size=None,
    diffusivity: dict | None = None,
    solver: str = "auto",
    rtol: float = 1e-6,
    maxiter: int | None = None,
    return_field: bool = False,
    precision: str = "auto",
    progress: bool = False,
) -> TortuosityResult:
    """Tortuosity factor τ of a phase from a steady diffusion solve (TauFactor's convention).

    Parameters
    ----------
    volume : Volume or array_like
        ``(z, y, x)`` labels or a boolean mask.
    phase : str or int, optional
        Phase to conduct in (name or label; default True for a mask, 1 for labels). Not used
        with ``diffusivity``.
    axis : int
        Transport axis: 0 (z), 1 (y) or 2 (x).
    voxel_size : float, str or sequence of 3, optional
        ``(dz, dy, dx)`` in m; required for plain arrays (overrides the Volume's). Only the
        ratios matter for τ.
    diffusivity : dict of label to float, optional
        Relative diffusivity of each conducting label (labels not given do not conduct), for
        a multi-phase solve; keys may be phase names of a :class:`Volume`.
    solver : {"auto", "cg-mg", "cg-amg", "cg-jacobi", "direct"}
        ``"auto"``: direct up to :data:`DIRECT_MAX_UNKNOWNS` unknowns, else ``"cg-mg"``
        (matrix-free CG with a grid-aggregation multigrid); see the module notes.
    rtol : float
        Relative residual ``|b − A c| / |b|`` at which CG stops (τ is then accurate to about
        ``rtol``; the per-slice flux check ``flux_deviation`` is reported as well).
    maxiter : int, optional
        CG iteration limit (default 500 for the multigrid solvers, 20000 for Jacobi); a solve
        that stops there warns (:class:`~ionscale.errors.FitWarning`).
    return_field : bool
        Keep the concentration field (float32, one value per voxel) in the result.
    precision : {"auto", "single", "double"}
        Storage of the ``"cg-mg"`` vectors (concentration, residual, search direction,
        preconditioned residual): ``"single"`` (float32, 16 bytes per voxel; every sum and
        product is still evaluated in float64, and the solve is checked against the true
        residual) or ``"double"`` (float64, 32 bytes per voxel). ``"auto"``: single for
        volumes of at least :data:`SINGLE_MIN_VOXELS` (256³) with ``rtol ≥``
        :data:`SINGLE_MIN_RTOL`, else double (float32 storage cannot carry a residual much
        below 1e-6, and small volumes keep float64 round-off). Both stop at ``rtol`` and
        give τ within a few ``rtol`` of the converged value (1e-7 to 2e-6 apart at the
        default); :func:`~.memory.tortuosity_bytes` gives the memory of each. The other
        solvers are float64.
    progress : bool
        Show a tqdm bar of the CG iterations.

    Returns
    -------
    TortuosityResult

    Raises
    ------
    InputError
        Bad volume, phase, axis, solver or diffusivity.

    Examples
    --------
    >>> import numpy as np
    >>> block = np.ones((10, 8, 8), bool)
    >>> round(tortuosity_factor(block, axis=0, voxel_size=1e-6).tau, 9)
    1.0
    """
    t_start = time.perf_counter()
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool) or not 0 <= axis <= 2:
        raise InputError(f"axis {axis!r}", field="axis", expected="0 (z), 1 (y) or 2 (x)")
    axis = int(axis)
    if solver not in SOLVERS:
        raise InputError(f"solver {solver!r}", field="solver", expected=f"one of {SOLVERS}")
    if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise InputError(f"rtol {rtol!r}", field="rtol", expected="a number in (0, 1)")
    if maxiter is not None and (not isinstance(maxiter, (int, np.integer)) or maxiter < 1):
        raise InputError(f"maxiter {maxiter!r}", field="maxiter",
                         expected="a positive integer")
    if precision not in ("auto", *PRECISIONS):
        raise InputError(f"precision {precision!r}", field="precision",
                         expected=f"one of {('auto', *PRECISIONS)}")

    if diffusivity is None:
        mask, vs = resolve_phase(volume, phase, voxel_size)
        mask = np.asarray(mask, dtype=bool)
        dmap = None
        porosity = float(np.count_nonzero(mask)) / mask.size
        d_mean = porosity
        source_phase: Any = phase
    else:
        if phase is not None:
            raise InputError("both phase and diffusivity given", field="phase",
                             expected="phase=None with diffusivity={label: D}")
        mask, dmap, vs = _diffusivity_map(volume, diffusivity, voxel_size)
        porosity = float(np.count_nonzero(mask)) / mask.size
        d_mean = float(dmap.sum(dtype=np.float64)) / mask.size
        source_phase = {str(k): float(v) for k, v in diffusivity.items()}
    shape = tuple(int(n) for n in mask.shape)
    if precision == "auto":
        large = math.prod(shape) >= SINGLE_MIN_VOXELS
        precision = "single" if large and rtol >= SINGLE_MIN_RTOL else "double"
    from .memory import check_memory

    # before the work arrays are made: raises when the solve cannot fit, warns when it is close
    check_memory(shape, "tortuosity" if precision == "single" else "tortuosity_double",
                 include_input=False, stacklevel=3)
    params = {"phase": source_phase, "axis": axis, "voxel_size": vs.tolist(),
              "solver": solver, "rtol": rtol, "precision": precision}
    files = source_files(volume)
    name = AXIS_NAMES[axis]
    title = f"Tortuosity factor along {name}"

    # transport axis first
    m = np.ascontiguousarray(np.moveaxis(mask, axis, 0))
    dm = None if dmap is None else np.ascontiguousarray(np.moveaxis(dmap, axis, 0))
    del mask, dmap                    # only the transport-axis-first copies are kept
    order = [axis] + [a for a in range(3) if a != axis]
    d = vs[order]
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    perc, reason = _percolating(m)
    timings["components"] = time.perf_counter() - t0
    n0, n1, n2 = m.shape
    del m
    area = n1 * d[1] * n2 * d[2]
    length = n0 * d[0]
    if perc is None:
        values = _values(math.inf, 0.0, porosity, 0.0, area / length, d_mean, dm)
        return TortuosityResult(
            values=values, provenance=Provenance.build("tortuosity_factor", files, params),
            title=title, tau=math.inf, D_eff_rel=0.0, porosity=porosity, axis=axis,
            diagnostics=(Diagnostic(
                "data-quality", f"the phase does not percolate along axis {axis} ({reason}): "
                "τ is infinite and D_eff is 0", fields=("tau",)),),
            percolating=False, reason=reason, voxel_size=tuple(float(v) for v in vs),
            shape=shape, timings=timings)
    n = int(np.count_nonzero(perc))

    # conductances relative to the one of a transport-axis face: (d0 / d_a)^2
    g = (d[0] / d) ** 2
    used = solver
    if solver == "auto":
        used = "direct" if n <= DIRECT_MAX_UNKNOWNS else "cg-mg"
    restarts = 0
    if used == "cg-mg":
        ref = [perc]
        del perc                      # _solve_mg frees the mask once level 0 is built
        c_grid, active, iters, res, setup_s, solve_s, restarts = _solve_mg(
            ref, g, dm, rtol, maxiter, progress, precision)
        timings["assemble"] = 0.0
    else:
        t0 = time.perf_counter()
        A, b = _assemble(perc, g, dm)
        timings["assemble"] = time.perf_counter() - t0
        x0 = _initial_guess(perc, n)
        c, iters, setup_s, solve_s = _solve(A, b, x0, used, rtol, maxiter, progress)
        res = float(np.linalg.norm(b - A @ c) / np.linalg.norm(b))
        del A
        c_grid = np.zeros(perc.shape)
        c_grid[perc] = c
        del c
        active = perc
    timings["setup"] = setup_s
    timings["solve"] = solve_s

    flow = _slice_flow(active, c_grid, g, dm)
    mean_flow = float(flow.mean())
    rel_flow = flow / mean_flow
    dev = float(np.max(np.abs(rel_flow - 1.0)))
    # flow is in units of D0 Δc d1 d2 / d0 per transport face
    d_eff = mean_flow * n0 / (n1 * n2)
    tau = d_mean / d_eff
    concentration = None
    if return_field:
        full = c_grid if c_grid.dtype == np.float32 else c_grid.astype(np.float32)
        for s in range(n0):
            full[s][active[s] == 0] = np.nan
        concentration = np.moveaxis(full, 0, axis)
    del c_grid, active
    timings["total"] = time.perf_counter() - t_start
    values = _values(tau, d_eff, porosity, n / (n0 * n1 * n2), area / length, d_mean,
                     dm)
    params["solver_used"] = used
    return TortuosityResult(
        values=values, provenance=Provenance.build("tortuosity_factor", files, params),
        diagnostics=_solve_diagnostics(dev, res, rtol, iters, maxiter), title=title,
        tau=float(tau), D_eff_rel=float(d_eff), porosity=porosity, axis=axis,
        percolating=True, solver=used, iterations=iters, residual=res, n_unknowns=n,
        slice_flow=rel_flow, flux_deviation=dev, concentration=concentration,
        voxel_size=tuple(float(v) for v in vs), shape=shape, timings=timings,
        precision=precision if used == "cg-mg" else "double", restarts=restarts)


# --------------------------------------------------------------------------- helpers


#: Largest spread of the flux through the slices (relative to its mean) of a trustworthy
#: solve; a converged solve conserves flux far better (1e-6 at rtol 1e-6).
FLUX_DEVIATION_WARN = 1e-3
FLUX_DEVIATION_FAIL = 0.05


def _solve_diagnostics(dev: float, res: float, rtol: float, iters: int,
                       maxiter) -> tuple[Diagnostic, ...]:
    """Flag a solve whose flux is not conserved slice to slice or whose residual is too big."""
    out = []
    if not math.isfinite(dev) or dev > FLUX_DEVIATION_WARN:
        severity = "failed" if not math.isfinite(dev) or dev > FLUX_DEVIATION_FAIL else "warning"
        out.append(Diagnostic(
            "not-converged", f"the flux through the slices varies by {dev:.3g} of its mean "
            f"(a converged solve keeps it below {FLUX_DEVIATION_WARN:g}): τ is not reliable "
            "(extreme voxel aspect ratio, or too few iterations)", severity,
            fields=("tau", "D_eff_rel")))
    if math.isfinite(res) and res > 10 * rtol:
        out.append(Diagnostic(
            "not-converged", f"the solver stopped at relative residual {res:.2g} after {iters} "
            f"iterations, above rtol = {rtol:g}", fields=("tau",)))
    return tuple(out)


def _values(tau, d_eff, porosity, perc_frac, a_over_l, d_mean, dmap) -> dict[str, Value]:
    # τ has no statistical error: the discretisation error is not estimated and the solver
    # error is reported separately (flux_deviation), so the errors are NaN ("not given").
    nan = math.nan
    out = {
        "tau": Value("tau", tau, nan, "", "τ", valid=(0.0, math.inf)),
        "D_eff_rel": Value("D_eff_rel", d_eff, nan, "", "D_eff/D₀"),
        "porosity": Value("porosity", porosity, 0.0, "", "ε"),
        "percolating_fraction": Value("percolating_fraction", perc_frac, 0.0, "", "ε_perc"),
        "flow": Value("flow", d_eff * a_over_l, nan, "m", "Q/(D₀Δc)"),
    }
    if dmap is not None:
        out["D_mean"] = Value("D_mean", d_mean, 0.0, "", "D_mean/D₀")
    return out


def _diffusivity_map(volume, diffusivity, voxel_size):
    """Conducting mask, per-voxel relative diffusivity (float64) and voxel size."""
    if not isinstance(diffusivity, dict) or not diffusivity:
        raise InputError(f"diffusivity {diffusivity!r}", field="diffusivity",
                         expected="a non-empty dict {label: relative diffusivity}")
    dmap = None
    vs = None
    for label, value in diffusivity.items():
        try:
            dv = float(value)
        except (TypeError, ValueError):
            dv = math.nan
        if not (math.isfinite(dv) and dv >= 0):
            raise InputError(f"diffusivity of {label!r} is {value!r}", field="diffusivity",
                             expected="finite relative diffusivities ≥ 0")
        lmask, vs = resolve_phase(volume, label, voxel_size, allow_empty=True)
        lmask = np.asarray(lmask, dtype=bool)
        if dmap is None:
            dmap = np.zeros(lmask.shape, dtype=np.float64)
        dmap[lmask] = dv
    mask = dmap > 0
    if not mask.any():
        raise InputError("no voxel has a positive diffusivity", field="diffusivity",
                         expected="at least one present label with D > 0")
    return mask, dmap, vs


def _percolating(m: np.ndarray):
    """Voxels of ``m`` 6-connected to both the first and the last slice along axis 0."""
    import cc3d

    if not m[0].any() or not m[-1].any():
        face = "first" if not m[0].any() else "last"
        return None, f"the phase has no voxel on the {face} face normal to the transport axis"
    lab = cc3d.connected_components(m, connectivity=6)
    first = np.unique(lab[0])
    last = np.unique(lab[-1])
    keep = np.intersect1d(first[first > 0], last[last > 0])
    if keep.size == 0:
        return None, ("no 6-connected path of the phase joins the two faces normal to the "
                      "transport axis (the phase does not percolate)")
    if keep.size == 1:
        return lab == keep[0], ""
    lut = np.zeros(int(lab.max()) + 1, dtype=bool)
    lut[keep] = True
    return lut[lab], ""


def _assemble(perc: np.ndarray, g: np.ndarray, dm: np.ndarray | None):
    """CSR matrix and right-hand side of the percolating voxels (``perc``, C order).

    Unknowns are the ``perc`` voxels in C order, so each row's columns ascend in the order
    −axis0, −axis1, −axis2, diagonal, +axis2, +axis1, +axis0 and the CSR is built without a sort.
    """
    n = int(np.count_nonzero(perc))
    itype = np.int32 if 7 * n < 2**31 - 1 else np.int64
    idx = np.full(perc.shape, -1, dtype=itype)
    idx[perc] = np.arange(n, dtype=itype)

    diag = np.zeros(n)
    count = np.ones(n, dtype=itype)
    pairs = []
    for a in range(3):
        lo = tuple(slice(0, -1) if k == a else slice(None) for k in range(3))
        hi = tuple(slice(1, None) if k == a else slice(None) for k in range(3))
        both = perc[lo] & perc[hi]
        i = idx[lo][both]
        j = idx[hi][both]
        if dm is None:
            w = np.full(i.size, g[a])
        else:
            da = dm[lo][both]
            db = dm[hi][both]
            w = g[a] * 2.0 * da * db / (da + db)
        diag += np.bincount(i, weights=w, minlength=n)
        diag += np.bincount(j, weights=w, minlength=n)
        count[i] += 1
        count[j] += 1
        pairs.append((i, j, w))
    # Dirichlet faces: half a voxel away, conductance 2 g0 D
    first = idx[0][perc[0]]
    last = idx[-1][perc[-1]]
    if dm is None:
        w_first = np.full(first.size, 2.0 * g[0])
        w_last = np.full(last.size, 2.0 * g[0])
    else:
        w_first = 2.0 * g[0] * dm[0][perc[0]]
        w_last = 2.0 * g[0] * dm[-1][perc[-1]]
    # a voxel can be on both faces when the volume is one voxel thick along the axis
    np.add.at(diag, first, w_first)
    np.add.at(diag, last, w_last)
    b = np.zeros(n)
    np.add.at(b, first, w_first)

    indptr = np.zeros(n + 1, dtype=itype)
    np.cumsum(count, out=indptr[1:])
    nnz = int(indptr[-1])
    indices = np.empty(nnz, dtype=itype)
    data = np.empty(nnz)
    slot = indptr[:-1].copy()

    def put(rows, cols, vals):
        p = slot[rows]
        indices[p] = cols
        data[p] = vals
        slot[rows] += 1

    for a in (0, 1, 2):          # lower neighbours: row j, column i
        i, j, w = pairs[a]
        put(j, i, -w)
    put(np.arange(n, dtype=itype), np.arange(n, dtype=itype), diag)
    for a in (2, 1, 0):          # upper neighbours: row i, column j
        i, j, w = pairs[a]
        put(i, j, -w)
    A = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    A.has_sorted_indices = True
    A.has_canonical_format = True
    return A, b


def _initial_guess(perc, n):
    """Linear profile along the axis (exact for an open block)."""
    n0 = perc.shape[0]
    prof = 1.0 - (np.arange(n0) + 0.5) / n0
    x0 = np.empty(n)
    counts = np.count_nonzero(perc.reshape(n0, -1), axis=1)
    x0[:] = np.repeat(prof, counts)
    return x0


def _solve(A, b, x0, solver, rtol, maxiter, progress):
    """Solve A c = b; return c, iterations, setup and solve seconds."""
    n = A.shape[0]
    if solver == "direct":
        t0 = time.perf_counter()
        c = spla.spsolve(A.tocsc(), b)
        return np.asarray(c, float), 0, 0.0, time.perf_counter() - t0
    t0 = time.perf_counter()
    if solver == "cg-amg":
        import pyamg

        # forward Gauss-Seidel before, backward after: a symmetric cycle at half the cost of
        # symmetric sweeps; candidate improvement costs more setup than it saves here
        ml = pyamg.smoothed_aggregation_solver(
            A, symmetry="hermitian", max_coarse=500, improve_candidates=None,
            presmoother=("gauss_seidel", {"sweep": "forward"}),
            postsmoother=("gauss_seidel", {"sweep": "backward"}))
        M = ml.aspreconditioner(cycle="V")
        limit = maxiter or 500
    else:
        dinv = 1.0 / A.diagonal()
        M = spla.LinearOperator((n, n), matvec=lambda r: dinv * r, dtype=float)
        limit = maxiter or 20000
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    iters = [0]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=limit, desc=f"tortuosity ({solver})", leave=False)

    def callback(_xk):
        iters[0] += 1
        if bar is not None:
            bar.update(1)

    c, info = spla.cg(A, b, x0=x0, rtol=rtol, atol=0.0, maxiter=limit, M=M, callback=callback)
    if bar is not None:
        bar.close()
    if info > 0:
        warnings.warn(f"tortuosity solver ({solver}) did not reach rtol={rtol:g} in {info} "
                      "iterations; check flux_deviation", FitWarning, stacklevel=3)
    return c, iters[0], setup, time.perf_counter() - t0


def _slice_flow(active, c, g, dm):
    """Flow through the N + 1 planes normal to axis 0, in units of ``D0 Δc d1 d2 / d0``
    (inlet face, the N − 1 interior planes, outlet face); ``c`` is the grid concentration
    (float32 or float64, widened to float64 before any difference), ``active`` is non-zero in
    the solved voxels (the mask, or the level-0 diagonal of the multigrid)."""
    n0 = active.shape[0]
    flow = np.empty(n0 + 1)
    a_first = active[0] != 0
    a_last = active[-1] != 0
    d_first = 1.0 if dm is None else dm[0][a_first]
    d_last = 1.0 if dm is None else dm[-1][a_last]
    flow[0] = np.sum(2.0 * g[0] * d_first * (1.0 - c[0][a_first].astype(np.float64)))
    flow[-1] = np.sum(2.0 * g[0] * d_last * c[-1][a_last].astype(np.float64))
    a_next = a_first
    for k in range(n0 - 1):                 # plane by plane: no volume-sized temporaries
        a_here, a_next = a_next, active[k + 1] != 0
        both = a_here & a_next
        dc = c[k][both].astype(np.float64) - c[k + 1][both]
        if dm is None:
            flow[k + 1] = g[0] * np.sum(dc)
        else:
            da = dm[k][both]
            db = dm[k + 1][both]
            flow[k + 1] = g[0] * np.sum(2.0 * da * db / (da + db) * dc)
    return flow


# --------------------------------------------------------------------------- matrix-free multigrid
#
# "cg-mg": conjugate gradients on the voxel grid, preconditioned by an aggregation multigrid
# whose aggregates are the 2×2×2 blocks of the grid. With piecewise-constant prolongation the
# Galerkin coarse operator P^T A P is again a 7-point stencil on the coarse grid: the conductance
# between two blocks is the sum of the fine conductances crossing their common face, so every
# level is stored as three face-conductance arrays and the diagonal (no sparse matrix, no setup
# beyond one pass per level). Smoothing: two red-black Gauss-Seidel sweeps on every level (red
# then black before the coarse correction, black then red after it: the cycle is symmetric, as
# CG needs); the coarse correction is over-relaxed by MG_ALPHA (plain aggregation underestimates
# it; < 2 keeps the preconditioner positive definite); the coarse levels are visited in a
# W-cycle; the coarsest level (≤ MG_COARSEST cells) is solved directly.
# Tuned on 256³ blobs and TauFactor's electrode: 5-13 CG iterations to rtol = 1e-6.
#
# Memory (what `memory.tortuosity_bytes` counts, per voxel of the grid):
# * level 0 of a one-phase solve stores no conductance and no mask: the face conductances are
#   the three scalars g, and the diagonal is a uint8 code per voxel (0: not solved for, else
#   1 + c_z + 3 c_y + 9 c_x + 27 c_D with c_a the conducting neighbours along axis a and c_D
#   the Dirichlet faces) into a float64 table of the 82 possible values: 1 byte;
# * a multi-label solve stores its face conductances and diagonal as float64 (float32 faces
#   would perturb the operator by 1e-7, the size of the exact-layer checks);
# * the four CG vectors x, r, p and z (the preconditioned residual z and the product q = A p
#   share one array: z is dead once p is updated); the right-hand side is the first slice
#   only. precision="single" stores them as float32 (16 bytes), "double" as float64 (32);
# * coarse levels: float32 conductances, diagonal, solution and right-hand side (24 bytes per
#   coarse cell, 3.4 per fine voxel over all levels).
# All arithmetic is float64 (float32 values are widened when read), and every sum (dot
# products, norms, the flux through a slice) is accumulated in float64; only storage is
# compact. Concentrations are kept at 0 in cells that do not conduct, so neighbour sums need no
# mask; a cell is solved for where its diagonal is positive.

MG_ALPHA = 1.7
MG_COARSEST = 4096
MG_COARSE_SWEEPS = 2
MG_FINE_SWEEPS = 2
MG_GAMMA = 2

#: Storage type of the CG vectors for each ``precision`` of :func:`tortuosity_factor`.
PRECISIONS = {"single": np.float32, "double": np.float64}

#: Restarts of CG from the true residual when the recursively updated one has converged but
#: the true one has not (float32 storage drifts); a restart that gains less than a factor 2
#: stops (the storage's rounding floor is reached).
MG_MAX_RESTARTS = 4


def _dget(diag, dtab, k, j, i):  # pragma: no cover - replaced by the overload in kernels
    """Diagonal of cell (k, j, i): ``dtab[diag[...]]`` for a uint8 code, else ``diag[...]``."""
    return dtab[diag[k, j, i]] if diag.dtype == np.uint8 else diag[k, j, i]


@nb.extending.overload(_dget, inline="always")
def _dget_overload(diag, dtab, k, j, i):
    if isinstance(diag.dtype, nb.types.Integer):
        def coded(diag, dtab, k, j, i):
            return dtab[diag[k, j, i]]
        return coded

    def plain(diag, dtab, k, j, i):
        return diag[k, j, i]
    return plain


@nb.njit(inline="always")
def _nsum(x, gz, gy, gx, k, j, i, n0, n1, n2):
    s = 0.0
    if k + 1 < n0:
        s += gz[k, j, i] * x[k + 1, j, i]
    if k > 0:
        s += gz[k - 1, j, i] * x[k - 1, j, i]
    if j + 1 < n1:
        s += gy[k, j, i] * x[k, j + 1, i]
    if j > 0:
        s += gy[k, j - 1, i] * x[k, j - 1, i]
    if i + 1 < n2:
        s += gx[k, j, i] * x[k, j, i + 1]
    if i > 0:
        s += gx[k, j, i - 1] * x[k, j, i - 1]
    return s


def _k_code(mask, out):
    """Diagonal code of a one-phase level 0: 0 outside ``mask``, else 1 + c_z + 3 c_y + 9 c_x
    + 27 c_D (conducting neighbours along each axis, Dirichlet faces touched)."""
    n0, n1, n2 = mask.shape
    for k in nb.prange(n0):
        for j in range(n1):
            for i in range(n2):
                if not mask[k, j, i]:
                    out[k, j, i] = 0
                    continue
                cz = 0
                if k + 1 < n0 and mask[k + 1, j, i]:
                    cz += 1
                if k > 0 and mask[k - 1, j, i]:
                    cz += 1
                cy = 0
                if j + 1 < n1 and mask[k, j + 1, i]:
                    cy += 1
                if j > 0 and mask[k, j - 1, i]:
                    cy += 1
                cx = 0
                if i + 1 < n2 and mask[k, j, i + 1]:
                    cx += 1
                if i > 0 and mask[k, j, i - 1]:
                    cx += 1
                cd = 0
                if k == 0:
                    cd += 1
                if k == n0 - 1:
                    cd += 1
                out[k, j, i] = 1 + cz + 3 * cy + 9 * cx + 27 * cd


def _k_diag(mask, gz, gy, gx, bcf, bcl, out):
    """Diagonal of the operator: Dirichlet conductances + faces to conducting neighbours."""
    n0, n1, n2 = mask.shape
    for k in nb.prange(n0):
        for j in range(n1):
            for i in range(n2):
                if not mask[k, j, i]:
                    out[k, j, i] = 0.0
                    continue
                s = 0.0
                if k == 0:
                    s += bcf[j, i]
                if k == n0 - 1:
                    s += bcl[j, i]
                if k + 1 < n0 and mask[k + 1, j, i]:
                    s += gz[k, j, i]
                if k > 0 and mask[k - 1, j, i]:
                    s += gz[k - 1, j, i]
                if j + 1 < n1 and mask[k, j + 1, i]:
                    s += gy[k, j, i]
                if j > 0 and mask[k, j - 1, i]:
                    s += gy[k, j - 1, i]
                if i + 1 < n2 and mask[k, j, i + 1]:
                    s += gx[k, j, i]
                if i > 0 and mask[k, j, i - 1]:
                    s += gx[k, j, i - 1]
                out[k, j, i] = s


def _k_coarsen(diag, dtab, gz, gy, gx, mc, gzc, gyc, gxc):
    """Galerkin coarsening by 2×2×2 blocks: coarse activity and face conductances."""
    n0, n1, n2 = diag.shape
    m0 = mc.shape[0]
    for kc in nb.prange(m0):
        mc[kc] = 0
        gzc[kc] = 0.0
        gyc[kc] = 0.0
        gxc[kc] = 0.0
        for k in range(2 * kc, min(2 * kc + 2, n0)):
            for j in range(n1):
                jc = j // 2
                for i in range(n2):
                    if not _dget(diag, dtab, k, j, i) > 0:
                        continue
                    ic = i // 2
                    mc[kc, jc, ic] = 1
                    if k == 2 * kc + 1 and k + 1 < n0 and _dget(diag, dtab, k + 1, j, i) > 0:
                        gzc[kc, jc, ic] += gz[k, j, i]
                    if j & 1 and j + 1 < n1 and _dget(diag, dtab, k, j + 1, i) > 0:
                        gyc[kc, jc, ic] += gy[k, j, i]
                    if i & 1 and i + 1 < n2 and _dget(diag, dtab, k, j, i + 1) > 0:
                        gxc[kc, jc, ic] += gx[k, j, i]


def _k_red_from_zero(x, b, diag, dtab):
    """First half sweep from x = 0: red cells b/diag, black cells 0."""
    n0, n1, n2 = x.shape
    for k in nb.prange(n0):
        for j in range(n1):
            for i in range(n2):
                d = _dget(diag, dtab, k, j, i)
                if d > 0 and ((k + j + i) & 1) == 0:
                    x[k, j, i] = b[k, j, i] / d
                else:
                    x[k, j, i] = 0.0


def _k_sweep(x, b, diag, dtab, gz, gy, gx, color):
    """Gauss-Seidel on the cells with (k + j + i) % 2 == color."""
    n0, n1, n2 = x.shape
    for k in nb.prange(n0):
        for j in range(n1):
            for i in range((k + j + color) & 1, n2, 2):
                d = _dget(diag, dtab, k, j, i)
                if d > 0:
                    x[k, j, i] = (b[k, j, i] + _nsum(x, gz, gy, gx, k, j, i, n0, n1, n2)) / d


def _k_residual_restrict(x, b, diag, dtab, gz, gy, gx, rc):
    """rc = P^T (b − A x): the residual summed over each 2×2×2 block."""
    n0, n1, n2 = x.shape
    m0 = rc.shape[0]
    for kc in nb.prange(m0):
        rc[kc] = 0.0
        for k in range(2 * kc, min(2 * kc + 2, n0)):
            for j in range(n1):
                jc = j // 2
                for i in range(n2):
                    d = _dget(diag, dtab, k, j, i)
                    if d > 0:
                        rc[kc, jc, i // 2] += (b[k, j, i] - d * x[k, j, i]
                                               + _nsum(x, gz, gy, gx, k, j, i, n0, n1, n2))


def _k_prolong(x, ec, diag, dtab, alpha):
    n0, n1, n2 = x.shape
    for k in nb.prange(n0):
        kc = k // 2
        for j in range(n1):
            jc = j // 2
            for i in range(n2):
                if _dget(diag, dtab, k, j, i) > 0:
                    x[k, j, i] += alpha * ec[kc, jc, i // 2]


def _k_matvec(p, diag, dtab, gz, gy, gx, q):
    """q = A p (0 in cells that do not conduct); returns p·q."""
    n0, n1, n2 = p.shape
    pq = 0.0
    for k in nb.prange(n0):
        for j in range(n1):
            for i in range(n2):
                d = _dget(diag, dtab, k, j, i)
                if d > 0:
                    v = d * p[k, j, i] - _nsum(p, gz, gy, gx, k, j, i, n0, n1, n2)
                    q[k, j, i] = v
                    pq += v * p[k, j, i]
                else:
                    q[k, j, i] = 0.0
    return pq


def _k_residual(x, diag, dtab, gz, gy, gx, bcf, r):
    """r = b − A x, with b = ``bcf`` on the first slice and 0 elsewhere, evaluated in float64
    (before it is stored); returns |b − A x|² (float64, whatever the storage of r)."""
    n0, n1, n2 = x.shape
    rr = 0.0
    for k in nb.prange(n0):
        for j in range(n1):
            for i in range(n2):
                d = _dget(diag, dtab, k, j, i)
                if d > 0:
                    v = _nsum(x, gz, gy, gx, k, j, i, n0, n1, n2) - d * x[k, j, i]
                    if k == 0:
                        v += bcf[j, i]
                    r[k, j, i] = v
                    rr += v * v
                else:
                    r[k, j, i] = 0.0
    return rr


def _k_cg_update(x, r, p, q, alpha):
    """x += α p, r −= α q; returns r·r."""
    n0, n1, n2 = x.shape
    rr = 0.0
    for k in nb.prange(n0):
        for j in range(n1):
            for i in range(n2):
                x[k, j, i] += alpha * p[k, j, i]
                v = r[k, j, i] - alpha * q[k, j, i]
                r[k, j, i] = v
                rr += v * v
    return rr


def _k_dot(a, b):
    n0, n1, n2 = a.shape
    s = 0.0
    for k in nb.prange(n0):
        for j in range(n1):
            for i in range(n2):
                s += a[k, j, i] * b[k, j, i]
    return s


def _k_xpby(z, p, beta):
    """p = z + β p."""
    n0, n1, n2 = z.shape
    for k in nb.prange(n0):
        for j in range(n1):
            for i in range(n2):
                p[k, j, i] = z[k, j, i] + beta * p[k, j, i]


class _Kernels:
    """The kernels above compiled twice: multithreaded for large grids, serial for small ones
    (on a busy machine, waking threads costs more than a small level's work)."""

    def __init__(self, parallel: bool):
        suffix = "_par" if parallel else "_ser"
        for name in _KERNEL_NAMES:
            f = globals()[name]
            # a distinct function object per variant, so that numba's on-disk cache (keyed by
            # qualified name) keeps the two compilations apart
            v = types.FunctionType(f.__code__, f.__globals__, f.__name__ + suffix,
                                   f.__defaults__, f.__closure__)
            v.__qualname__ = f.__qualname__ + suffix
            setattr(self, name[3:], nb.njit(parallel=parallel, cache=True)(v))


_KERNEL_NAMES = ("_k_code", "_k_diag", "_k_coarsen", "_k_red_from_zero", "_k_sweep",
                 "_k_residual_restrict", "_k_prolong", "_k_matvec", "_k_residual",
                 "_k_cg_update", "_k_dot", "_k_xpby")
_PARALLEL_MIN_CELLS = 1 << 20
_KERNELS: dict[bool, _Kernels] = {}
#: ``dtab`` argument of the levels whose diagonal is stored as numbers (never read).
_NO_TABLE = np.zeros(1)


def _kernels(cells: int) -> _Kernels:
    parallel = cells >= _PARALLEL_MIN_CELLS and nb.config.NUMBA_NUM_THREADS > 1
    if parallel not in _KERNELS:
        _KERNELS[parallel] = _Kernels(parallel)
    return _KERNELS[parallel]


def _block_sum_2d(a: np.ndarray) -> np.ndarray:
    """Sum of 2×2 blocks of a 2D array (odd sizes padded with 0)."""
    m1, m2 = (a.shape[0] + 1) // 2, (a.shape[1] + 1) // 2
    pad = np.zeros((2 * m1, 2 * m2), dtype=a.dtype)
    pad[:a.shape[0], :a.shape[1]] = a
    return pad.reshape(m1, 2, m2, 2).sum(axis=(1, 3))


def _diag_table(g: np.ndarray) -> np.ndarray:
    """The 82 diagonal values of a one-phase level 0, indexed by :func:`_k_code`'s code."""
    tab = np.zeros(82)
    for cd in range(3):
        for cx in range(3):
            for cy in range(3):
                for cz in range(3):
                    tab[1 + cz + 3 * cy + 9 * cx + 27 * cd] = (
                        cd * 2.0 * g[0] + cz * g[0] + cy * g[1] + cx * g[2])
    return tab


class _Level:
    """One grid of the hierarchy: face conductances, the diagonal (numbers, or a uint8 code
    into ``dtab``), the Dirichlet conductances of its first and last slices, and (coarse
    levels) the work vectors of the cycle."""

    __slots__ = ("gz", "gy", "gx", "bcf", "bcl", "diag", "dtab", "x", "b", "k")

    def __init__(self, diag, dtab, gz, gy, gx, bcf, bcl):
        self.gz, self.gy, self.gx, self.bcf, self.bcl = gz, gy, gx, bcf, bcl
        self.diag, self.dtab = diag, dtab
        self.k = _kernels(diag.size)
        self.x = None
        self.b = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.diag.shape

    @property
    def args(self) -> tuple:
        return (self.diag, self.dtab, self.gz, self.gy, self.gx)


class _AggregationMG:
    """The multigrid hierarchy and its W/V cycle (see the comment above)."""

    def __init__(self, level0: _Level):
        self.levels = [level0]
        while self.levels[-1].diag.size > MG_COARSEST and len(self.levels) < 30:
            f = self.levels[-1]
            shape = tuple((s + 1) // 2 for s in f.shape)
            mc = np.empty(shape, np.uint8)
            gzc, gyc, gxc = (np.empty(shape, np.float32) for _ in range(3))
            f.k.coarsen(f.diag, f.dtab, f.gz, f.gy, f.gx, mc, gzc, gyc, gxc)
            bcf = _block_sum_2d(f.bcf).astype(np.float32)
            bcl = _block_sum_2d(f.bcl).astype(np.float32)
            diag = np.empty(shape, np.float32)
            _kernels(mc.size).diag(mc.view(bool), gzc, gyc, gxc, bcf, bcl, diag)
            del mc
            lev = _Level(diag, _NO_TABLE, gzc, gyc, gxc, bcf, bcl)
            lev.x = np.empty(shape, np.float32)
            lev.b = np.empty(shape, np.float32)
            self.levels.append(lev)
        self._coarse_factor()

    def _coarse_factor(self):
        lev = self.levels[-1]
        diag = lev.diag if lev.dtab is _NO_TABLE else lev.dtab[lev.diag]
        act = diag > 0
        n = int(act.sum())
        idx = np.full(act.shape, -1, np.int64)
        idx[act] = np.arange(n)
        rows, cols, vals = [idx[act]], [idx[act]], [diag[act].astype(float)]
        for a, g in enumerate((lev.gz, lev.gy, lev.gx)):
            lo = tuple(slice(0, -1) if q == a else slice(None) for q in range(3))
            hi = tuple(slice(1, None) if q == a else slice(None) for q in range(3))
            both = act[lo] & act[hi]
            w = np.broadcast_to(g, act.shape)[lo][both].astype(float)
            keep = w != 0
            rows += [idx[lo][both][keep], idx[hi][both][keep]]
            cols += [idx[hi][both][keep], idx[lo][both][keep]]
            vals += [-w[keep], -w[keep]]
        A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n, n))
        self.coarse_active = act
        self.coarse_lu = spla.splu(A) if n else None

    def cycle(self, level: int, b, x):
        """x ≈ A_level⁻¹ b (x is overwritten)."""
        lev = self.levels[level]
        if level == len(self.levels) - 1:
            x[...] = 0.0
            if self.coarse_lu is not None:
                x[self.coarse_active] = self.coarse_lu.solve(
                    b[self.coarse_active].astype(float))
            return
        nxt = self.levels[level + 1]
        sweeps = MG_FINE_SWEEPS if level == 0 else MG_COARSE_SWEEPS
        visits = 1 if level == 0 else MG_GAMMA
        args = lev.args
        k = lev.k
        for visit in range(visits):
            for s in range(sweeps):
                if visit == 0 and s == 0:
                    k.red_from_zero(x, b, lev.diag, lev.dtab)
                else:
                    k.sweep(x, b, *args, 0)
                k.sweep(x, b, *args, 1)
            k.residual_restrict(x, b, *args, nxt.b)
            self.cycle(level + 1, nxt.b, nxt.x)
            k.prolong(x, nxt.x, lev.diag, lev.dtab, MG_ALPHA)
            for _ in range(sweeps):
                k.sweep(x, b, *args, 1)
                k.sweep(x, b, *args, 0)


def _level0(perc, g, dm, ftype) -> _Level:
    """The finest level, in units of the transport-face conductance: for one diffusivity the
    face conductances are broadcast scalars and the diagonal a uint8 code (1 byte per voxel);
    with a diffusivity map the face conductances are arrays of ``ftype`` and the diagonal is
    float64."""
    shape = perc.shape
    k = _kernels(perc.size)
    if dm is None:
        gz, gy, gx = (np.broadcast_to(np.float64(ga), shape) for ga in g)
        bcf = np.where(perc[0], 2.0 * g[0], 0.0)
        bcl = np.where(perc[-1], 2.0 * g[0], 0.0)
        code = np.empty(shape, np.uint8)
        k.code(perc, code)
        return _Level(code, _diag_table(g), gz, gy, gx, bcf, bcl)
    faces = []
    for a in range(3):
        ga = np.zeros(shape, ftype)
        lo = tuple(slice(0, -1) if q == a else slice(None) for q in range(3))
        hi = tuple(slice(1, None) if q == a else slice(None) for q in range(3))
        for s in range(shape[0] - (a == 0)):  # slab by slab: no volume-sized temporaries
            sl = tuple(slice(s, s + 1) if q == 0 else slice(None) for q in range(3))
            pl, ph = perc[lo][sl], perc[hi][sl]
            da, db = dm[lo][sl], dm[hi][sl]
            with np.errstate(invalid="ignore", divide="ignore"):
                ga[lo][sl] = np.where(pl & ph, g[a] * 2.0 * da * db / (da + db), 0.0)
        faces.append(ga)
    bcf = np.where(perc[0], 2.0 * g[0] * dm[0], 0.0)
    bcl = np.where(perc[-1], 2.0 * g[0] * dm[-1], 0.0)
    diag = np.empty(shape, np.float64)
    k.diag(perc, faces[0], faces[1], faces[2], bcf, bcl, diag)
    return _Level(diag, _NO_TABLE, faces[0], faces[1], faces[2], bcf, bcl)


def _solve_mg(perc_ref: list, g, dm, rtol, maxiter, progress, precision="single"):
    """CG preconditioned by the aggregation multigrid.

    ``perc_ref`` is a one-element list holding the percolating mask; it is emptied once the
    level-0 operator is built, so that the mask is not kept through the solve when the caller
    holds no other reference. Returns the grid concentration (0 outside the percolating
    cluster; float32 or float64 by ``precision``), the activity of each voxel (the level-0
    diagonal: > 0 where solved for), iterations, the true relative residual, setup and solve
    seconds, and the CG restarts."""
    vtype = PRECISIONS[precision]
    t0 = time.perf_counter()
    perc = perc_ref.pop()
    shape = perc.shape
    lev = _level0(perc, g, dm, np.float64)
    del perc
    mg = _AggregationMG(lev)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    n0 = shape[0]
    k = lev.k
    args = lev.args
    # x: linear profile along the axis in the solved cells, 0 elsewhere (exact for a block)
    x = np.empty(shape, vtype)
    prof = (1.0 - (np.arange(n0) + 0.5) / n0).astype(vtype)
    for s in range(n0):
        active = lev.diag[s] > 0 if lev.dtab is _NO_TABLE else lev.diag[s] != 0
        np.multiply(active, prof[s], out=x[s])
    r = np.empty(shape, vtype)
    rnorm = math.sqrt(k.residual(x, *args, lev.bcf, r))
    bnorm = float(np.sqrt(np.sum(np.square(lev.bcf, dtype=np.float64))))
    z = np.empty(shape, vtype)           # z = M r, then q = A p in the same array
    p = np.zeros(shape, vtype)
    limit = maxiter or 500
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=limit, desc=f"tortuosity (cg-mg, {precision})", leave=False)
    its = 0
    restarts = 0
    true_rnorm = rnorm
    while its < limit:
        rz_old = 1.0
        first = True
        while rnorm > rtol * bnorm and its < limit:
            mg.cycle(0, r, z)
            rz = k.dot(r, z)
            k.xpby(z, p, 0.0 if first else rz / rz_old)
            first = False
            rz_old = rz
            pq = k.matvec(p, *args, z)
            rnorm = math.sqrt(k.cg_update(x, r, p, z, rz / pq))
            its += 1
            if bar is not None:
                bar.update(1)
        # the recursively updated residual drifts from the true one (more so in float32):
        # check the true one, and restart from it while that still pays
        previous = true_rnorm
        true_rnorm = math.sqrt(k.residual(x, *args, lev.bcf, r))
        rnorm = true_rnorm
        if (true_rnorm <= rtol * bnorm or restarts >= MG_MAX_RESTARTS
                or (restarts and true_rnorm > 0.5 * previous)):
            break
        restarts += 1
    if bar is not None:
        bar.close()
    del z, p, r
    true_res = true_rnorm / bnorm
    # a float32 solve may stop at its rounding floor a little above rtol (τ is then still
    # accurate to a few rtol, and the residual is reported); beyond 10 rtol it is flagged by
    # the result's diagnostics as well
    if true_res > rtol and (its >= limit or true_res > 10 * rtol):
        warnings.warn(f"tortuosity solver (cg-mg, {precision}) did not reach rtol={rtol:g} in "
                      f"{its} iterations (relative residual {true_res:.2g}); check "
                      "flux_deviation", FitWarning, stacklevel=3)
    return x, lev.diag, its, true_res, setup, time.perf_counter() - t0, restarts
