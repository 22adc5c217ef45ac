"""A|B diffusion couples: the model and its concentration profiles.

With equal rates for A and B the labels do not change the dynamics (the vacancies move the same
whatever they exchange with), so the interdiffusion coefficient of the couple is exactly the
tracer diffusion coefficient of the lattice gas, ``D̃ = D* = f(c) · c_v · Γ_v a² / (2d)``
(with ``f(c)`` the tracer correlation factor at occupancy ``c = 1 - c_v``): a Boltzmann-Matano
analysis of the profiles must return a flat D̃(c) equal to the D* the same run measures along
the interface (``D_tracer_y``/``_z``).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..results import Value
from .analysis import run
from .lattice import builtin_lattice
from .model import Couple, Model, Species
from .results import KMCResult

__all__ = ["ab_couple", "ab_couple_profiles"]


def ab_couple(
    shape=(80, 24, 24),
    *,
    lattice: str = "sc",
    a: float = 3e-10,
    vacancy_fraction: float = 0.05,
    nu=1e13,
    Ea="0.5 eV",
    nu_B=None,
    Ea_B=None,
    temperature=800.0,
) -> Model:
    """An A|B couple: A on the lower half of axis 0, B on the upper half, vacancies at random.

    Axis 0 is closed (free ends), the others periodic.

    Parameters
    ----------
    shape : sequence of int
        Cells per axis (axis 0 across the interface).
    lattice : str
        A built-in 3D or 2D lattice.
    a : float
        Lattice parameter, m.
    vacancy_fraction : float
        Site fraction of vacancies on both sides.
    nu, Ea : float or str
        Attempt frequency (s⁻¹) and barrier of A (and of B unless ``nu_B``/``Ea_B`` are given).
    temperature : float or str
        K.

    Returns
    -------
    Model
    """
    if not (0 < float(vacancy_fraction) < 1):
        raise InputError(f"vacancy_fraction = {vacancy_fraction!r}", field="vacancy_fraction",
                         expected="a fraction between 0 and 1")
    dim = len(tuple(shape))
    lat = builtin_lattice(lattice, shape, a, boundary=["closed"] + ["periodic"] * (dim - 1))
    c = 1.0 - float(vacancy_fraction)
    species = [Species("A", nu=nu, Ea=Ea),
               Species("B", nu=nu if nu_B is None else nu_B, Ea=Ea if Ea_B is None else Ea_B)]
    return Model(lat, species, temperature, initial=Couple(axis=0, low={"A": c},
                                                           high={"B": c}))


def ab_couple_profiles(
    times=None,
    *,
    model: Model | None = None,
    diffusion_length: float = 10.0,
    n_profiles: int = 3,
    seed=0,
    replicas: int = 1,
    track: int = 4000,
    progress: bool = False,
) -> KMCResult:
    """Run an A|B couple (default: :func:`ab_couple`, 5 % vacancies, equal rates) and return
    its profiles; about 10 s on one core.

    Parameters
    ----------
    times : sequence of float, optional
        Profile times, s. Default: ``n_profiles`` times up to the time at which
        ``sqrt(4 D̃ t)`` reaches ``diffusion_length`` lattice planes (D̃ estimated from the
        lattice-gas correlation factor).
    model : Model, optional
        A couple model (default ``ab_couple()``).
    diffusion_length : float
        In lattice-plane spacings, for the default times.
    n_profiles : int
    seed, replicas, track, progress
        As in :func:`ionscale.kmc.simulate`.

    Returns
    -------
    KMCResult
        ``profiles`` (:class:`~ionscale.kmc.results.ConcentrationProfiles`: x in m, site
        fractions of vacancy/A/B per layer, times in s) and the tracer values ``D_tracer_A``,
        ``D_tracer_y_A``...; the value ``D_expected`` (m² s⁻¹) is the mean D* of A and B along
        the periodic axes, the D̃ that Boltzmann-Matano should return.

    Examples
    --------
    >>> r = ab_couple_profiles(model=ab_couple((24, 6, 6)), seed=1, track=500)
    >>> p = r.profiles.profile(-1)          # plain arrays, SI
    >>> sorted(p)
    ['concentrations', 'sigma', 'temperature', 'time', 'x']

    ``ionscale.interdiffusion.DiffusionProfile(**p)`` turns the snapshot into an
    interdiffusion profile (this package does not import that one).
    """
    from .analysis import SINGLE_VACANCY_F, lattice_gas_correlation_factor

    model = model or ab_couple()
    lat = model.lattice
    if times is None:
        rate = float(model.tables()["hop0"].max())
        cv = _vacancy_fraction(model)
        f0 = SINGLE_VACANCY_F.get(lat.name, 0.7)
        f = lattice_gas_correlation_factor(1 - cv, f0)
        d = lat.dimension
        z = lat.coordination
        D_est = f * cv * z * rate * lat.jump_length**2 / (2 * d)
        spacing = lat.plane_spacing(0) / max(1, len(np.unique(np.round(lat.basis[:, 0], 9))))
        t_end = (diffusion_length * spacing) ** 2 / (4 * D_est)
        times = t_end * np.arange(1, n_profiles + 1) / n_profiles
    times = np.sort(np.asarray(times, dtype=float))
    res = run(model, profile_times=times, blocks=24, lags=4, replicas=replicas, track=track,
              seed=seed, progress=progress, method="kmc.couple")
    vals = []
    errs = []
    for sp in ("A", "B"):
        for ax in "yz"[: lat.dimension - 1]:
            v = res.values.get(f"D_tracer_{ax}_{sp}")
            if v is not None:
                vals.append(v.value)
                errs.append(v.error)
    if vals:
        D = float(np.mean(vals))
        err = float(math.sqrt(np.sum(np.square(errs))) / len(errs))
        res = _with_value(res, Value("D_expected", D, err, "m^2/s", "D̃ expected (= D*)",
                                     details={"method": "mean D* of A and B along the "
                                              "interface (equal rates: D̃ = D*)"}))
    return res


def _vacancy_fraction(model: Model) -> float:
    c = model.initial
    if isinstance(c, Couple):
        return 1.0 - float(sum(c.low.values()))
    return 0.05


def _with_value(res: KMCResult, value: Value) -> KMCResult:
    import dataclasses

    return dataclasses.replace(res, values={**res.values, value.name: value})
