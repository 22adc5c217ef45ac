"""``ionscale diffusion ...`` commands: matano, sauer-freise, fit, simulate.

Examples::

    ionscale diffusion matano couple.csv --time "100 h" --ends 0,1 --at 0.25,0.5 --plot bm.png
    ionscale diffusion fit pydiffusion-NiMo_exp.csv --time "1000 h" --ends 0,1 \\
        --phases "0,0.25;0.49,0.53;0.97,1" --knots "0.05,0.2;0.5,0.515;0.985" --json
    ionscale diffusion simulate pydiffusion-TiZr.csv --time "100 h" --ends 0,1
    ionscale diffusion matano depth.csv --time "10 h" --crater-depth "4.5 um" \\
        --layer-rates 0.8,1.2 --marker Co --species Co
"""

from __future__ import annotations

from ..cli_support import add_output_options, print_result
from ..errors import InputError
from ..units import parse_quantity


def _floats(text: str | None, option: str, n: int | None = None) -> list[float] | None:
    if text is None:
        return None
    try:
        out = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"cannot read {text!r}", field=option,
                         expected="numbers separated by commas, e.g. 0,1") from None
    if n is not None and len(out) != n:
        raise InputError(f"{len(out)} numbers", field=option, expected=f"{n} numbers")
    return out


def _groups(text: str | None, option: str):
    """``"0,0.25;0.49,0.53"`` → [[0, 0.25], [0.49, 0.53]]."""
    if text is None:
        return None
    return [_floats(g, option) for g in text.split(";") if g.strip()]


def _read(args):
    from ..io.interdiffusion import read_profile, read_pydiffusion
    from ..io.text import read_table
    from .depth import to_depth

    fmt = args.format
    if fmt == "auto":
        cols = {c.strip().lower() for c in read_table(args.profile).columns}
        fmt = "pydiffusion" if {"x", "dis"} <= cols else "text"
    kw = {"time": args.time, "temperature": args.temperature}
    if fmt == "pydiffusion":
        prof = read_pydiffusion(args.profile, **kw)
    else:
        prof = read_profile(args.profile, x_unit=args.x_unit, resolution=args.resolution, **kw)
    if prof.coordinate == "time":
        if args.crater_depth is None and args.rate is None:
            raise InputError("the profile is in sputter time", file=args.profile,
                             field="--crater-depth", expected="--crater-depth or --rate")
        prof = to_depth(prof, crater_depth=args.crater_depth, rate=args.rate,
                        layer_rates=_floats(args.layer_rates, "--layer-rates", 2),
                        marker=args.marker)
    return prof


def _direct(args) -> int:
    from .matano import boltzmann_matano, sauer_freise

    func = boltzmann_matano if args.verb == "matano" else sauer_freise
    result = func(_read(args), args.species, smooth=None if args.smooth == "none" else
                  args.smooth, ends=_floats(args.ends, "--ends", 2),
                  monte_carlo=args.monte_carlo, seed=0, at=_floats(args.at, "--at"),
                  hall=args.hall)
    print_result(result, args.json, args.plot)
    return 0


def _knots(text: str):
    if text is None:
        return 5
    if ";" not in text and "," not in text:
        try:
            return int(text)
        except ValueError:
            raise InputError(f"cannot read {text!r}", field="--knots",
                             expected="a number of knots per phase, or '0.1,0.5;0.6'") from None
    return _groups(text, "--knots")


def _domain(text: str | None):
    """``"0,356 um"`` → (0, 3.56e-4) m."""
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 2:
        raise InputError(f"cannot read {text!r}", field="--domain",
                         expected="start,end with a unit, e.g. '0,356 um'")
    unit = parts[1].strip().split(maxsplit=1)
    unit = unit[1] if len(unit) == 2 else "um"
    return tuple(parse_quantity(f"{p.strip().split()[0]} {unit}", "m", field="--domain")
                 for p in parts)


def _fit(args) -> int:
    from .forward import fit_diffusivity

    result = fit_diffusivity(_read(args), args.species, knots=_knots(args.knots),
                             phases=_groups(args.phases, "--phases"),
                             ends=_floats(args.ends, "--ends", 2), at=_floats(args.at, "--at"),
                             n_steps=args.n_steps, domain=_domain(args.domain))
    print_result(result, args.json, args.plot)
    return 0


def _simulate(args) -> int:
    from .diffusivity import TabulatedDiffusivity
    from .forward import simulate_profile

    prof = _read(args)
    phases = _groups(args.phases, "--phases")
    if args.D is not None:
        D = parse_quantity(args.D, "m^2/s", field="--D")
    elif args.D_table is not None:
        from ..io.text import read_table

        table = read_table(args.D_table)
        if table.data.shape[1] < 2:
            raise InputError("the table needs two columns", file=args.D_table, field="D",
                             expected="composition and D̃ (m² s⁻¹)")
        D = TabulatedDiffusivity(table.data[:, 0], table.data[:, 1], phases)
    elif "diffusivity" in prof.metadata:
        from ..io.interdiffusion import pydiffusion_diffusivity

        D = pydiffusion_diffusivity(prof, phases)
    else:
        raise InputError("no D̃ to simulate with", field="--D",
                         expected="--D '1e-14 m^2/s', --D-table FILE, or a file with a DC column")
    x0 = None if args.x0 is None else parse_quantity(args.x0, "m", field="--x0")
    result = simulate_profile(prof, D, args.species, ends=_floats(args.ends, "--ends", 2),
                              phases=phases, x0=x0)
    if args.out:
        from ..io.atomic import write_text_atomic

        rows = "\n".join(f"{x * 1e6:.6g},{c:.8g}" for x, c in zip(result.x_sim, result.c_sim,
                                                                 strict=True))
        write_text_atomic(args.out, f"dis (um),{result.species}\n{rows}\n")
    print_result(result, args.json, args.plot)
    return 0


def register(subparsers) -> None:
    """Add ``ionscale diffusion`` and its verbs to the top-level parser."""
    top = subparsers.add_parser("diffusion", help="interdiffusion D̃(C) across interfaces")
    verbs = top.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    def common(p):
        p.add_argument("profile", help="profile file (delimited text or pyDiffusion CSV)")
        p.add_argument("--time", help="anneal time, e.g. '100 h' (default: none → error)")
        p.add_argument("--temperature", help="anneal temperature, e.g. '1000 degC'")
        p.add_argument("--species", help="species analysed (default: the first)")
        p.add_argument("--format", choices=["auto", "text", "pydiffusion"], default="auto")
        p.add_argument("--x-unit", default="um", help="position unit if the header has none")
        p.add_argument("--resolution", help="probe SD, e.g. '0.5 um'")
        p.add_argument("--crater-depth", help="for sputter-time profiles, e.g. '4.5 um'")
        p.add_argument("--rate", help="sputter rate for sputter-time profiles, e.g. '1 nm/s'")
        p.add_argument("--layer-rates", help="rates of layer 1,2 (relative with --crater-depth)")
        p.add_argument("--marker", help="species blending the layer rates")
        p.add_argument("--ends", help="end-member compositions, e.g. 0,1")
        p.add_argument("--at", help="compositions where D̃ is reported, e.g. 0.25,0.5,0.75")
        add_output_options(p)

    for verb, helptext in (("matano", "Boltzmann-Matano D̃(C)"),
                           ("sauer-freise", "Sauer-Freise D̃(C)")):
        p = verbs.add_parser(verb, help=helptext)
        common(p)
        p.add_argument("--smooth", choices=["spline", "savgol", "none"], default="spline")
        p.add_argument("--monte-carlo", type=int, default=100, help="redraws for the band")
        p.add_argument("--hall", action="store_true", help="add Hall's method for the tails")
        p.set_defaults(func=_direct)

    p = verbs.add_parser("fit", help="forward-simulation fit of D̃(C)")
    common(p)
    p.add_argument("--knots", help="knots per phase (e.g. 5) or '0.05,0.2;0.5,0.515;0.985'")
    p.add_argument("--phases", help="phase ranges, e.g. '0,0.25;0.49,0.53;0.97,1'")
    p.add_argument("--n-steps", type=int, default=150)
    p.add_argument("--domain", help="simulated sample, e.g. '0,356 um' (closed ends)")
    p.set_defaults(func=_fit)

    p = verbs.add_parser("simulate", help="simulate the couple of PROFILE with a given D̃")
    common(p)
    p.add_argument("--D", help="constant D̃, e.g. '1e-14 m^2/s'")
    p.add_argument("--D-table", dest="D_table", help="file: composition, D̃ (m² s⁻¹)")
    p.add_argument("--phases", help="phase ranges, e.g. '0,0.25;0.49,0.53;0.97,1'")
    p.add_argument("--x0", help="initial interface, e.g. '1750 um' (default: Matano plane)")
    p.add_argument("--out", help="write the simulated profile (dis in µm) as CSV")
    p.set_defaults(func=_simulate)


