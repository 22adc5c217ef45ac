"""Several anneals (Arrhenius, √t), the CLI verbs and the campaign analyses (issue 12)."""

from __future__ import annotations

import argparse
import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.special import erfc  # noqa: E402

from ionscale.datasets.synthetic_interdiffusion import nmc_llzo_couple, write_couple  # noqa: E402
from ionscale.errors import InputError  # noqa: E402
from ionscale.interdiffusion import (  # noqa: E402
    DiffusionProfile,
    boltzmann_matano,
    diffusivity_at,
    growth_check,
)
from ionscale.units import BOLTZMANN_EV  # noqa: E402

EA = 1.2  # eV


def d_of_T(T):
    return 1e-14 * np.exp(-EA / BOLTZMANN_EV * (1 / T - 1 / 1273.15))


def erfc_couple(D, t, T, n=241):
    L = np.sqrt(D * t)
    x = np.linspace(-10 * L, 10 * L, n)
    return DiffusionProfile(x, {"B": 0.5 * erfc(-x / (2 * L))}, time=t, temperature=T)


def test_arrhenius_of_D_at_fixed_composition():
    Ts = [1173.15, 1223.15, 1273.15, 1323.15]
    results = [boltzmann_matano(erfc_couple(d_of_T(T), 3.6e5, T), smooth=None,
                                monte_carlo=0) for T in Ts]
    series = diffusivity_at(results, 0.5)
    np.testing.assert_allclose(series.T, Ts)
    np.testing.assert_allclose(series.D, d_of_T(np.array(Ts)), rtol=2e-3)
    fit = series.arrhenius()
    assert fit["Ea"].value / 1.602176634e-19 == pytest.approx(EA, rel=5e-3)
    with pytest.raises(InputError):
        diffusivity_at([boltzmann_matano(erfc_couple(1e-14, 3.6e5, None), smooth=None,
                                         monte_carlo=0)], 0.5)


def test_width_grows_as_sqrt_t():
    ps = [erfc_couple(1e-14, t, 1273.15, n=801) for t in (1e5, 4e5, 1.6e6)]
    r = growth_check(ps, smooth=None)
    assert r["exponent"].value == pytest.approx(0.5, abs=1e-3)
    assert r["D_width"].value == pytest.approx(1e-14, rel=5e-3)
    assert r.status == "ok"
    # a profile that grows linearly in t (interface reaction) is flagged
    ps = [erfc_couple(1e-14 * t / 1e5, t, 1273.15, n=801) for t in (1e5, 4e5, 1.6e6)]
    bad = growth_check(ps, smooth=None)
    assert bad["exponent"].value == pytest.approx(1.0, abs=0.02)
    assert any(d.code == "data-quality" for d in bad.diagnostics)
    bad.plot()


def _parser():
    from ionscale.cli import build_parser
    from ionscale.interdiffusion import cli as dcli

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "diffusion" not in sub.choices:
        dcli.register(sub)
    return parser


def run_cli(argv):
    from ionscale.errors import IonscaleError

    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError:
        return 2
    except IonscaleError:
        return 1


def test_cli_verbs(tmp_path, capsys):
    path = write_couple(tmp_path / "couple.csv", nmc_llzo_couple(0, dwell=30.0))
    common = ["--time", "10 h", "--species", "Co", "--crater-depth", "4.5 um",
              "--layer-rates", "0.8,1.2", "--marker", "Co"]
    assert run_cli(["diffusion", "matano", str(path), *common, "--monte-carlo", "5",
                    "--at", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "interdiffusion.boltzmann_matano" and "D_0.5" in out["values"]
    assert run_cli(["diffusion", "fit", str(path), *common, "--knots", "3", "--ends", "0,1",
                    "--plot", str(tmp_path / "fit.png")]) == 0
    assert (tmp_path / "fit.png").read_bytes()[:4] == b"\x89PNG"
    assert "forward-simulation" in capsys.readouterr().out
    assert run_cli(["diffusion", "sauer-freise", str(path), *common[2:], "--monte-carlo",
                    "0"]) == 2  # no time
    assert run_cli(["diffusion", "simulate", str(path), *common, "--D", "5e-18 m^2/s",
                    "--out", str(tmp_path / "sim.csv")]) == 0
    assert (tmp_path / "sim.csv").read_text().startswith("dis (um),Co")


def test_campaign_fit_then_arrhenius(tmp_path):
    import ionscale.interdiffusion.analyses  # noqa: F401  (registers the analyses)
    from ionscale.campaign import run_campaign
    from ionscale.store import Store

    lines = ['[campaign]\nname = "NMC|LLZO"\n\n[[samples]]\nname = "couple"\n']
    Ts = (923.15, 973.15, 1023.15)
    for i, T in enumerate(Ts):
        d0 = 2e-18 * np.exp(-1.5 / BOLTZMANN_EV * (1 / T - 1 / 973.15))
        write_couple(tmp_path / f"c{i}.csv", nmc_llzo_couple(i, D0=d0, temperature=T, dwell=30.0))
        lines.append(f'[[samples.measurements]]\nname = "m{i}"\ntechnique = "sims-depth"\n'
                     f'files = ["c{i}.csv"]\nconditions = {{ time = "10 h", '
                     f'temperature = "{T} K" }}\n')
    for i in range(len(Ts)):
        lines.append(f'[[samples.analyses]]\nmethod = "interdiffusion.fit"\nlabel = "fit {i}"\n'
                     f'measurements = ["m{i}"]\nparameters = {{ species = "Co", '
                     'crater_depth = "4.5 um", layer_rates = [0.8, 1.2], marker = "Co", '
                     'knots = 2, ends = [0, 1], at = [0.5] }\n')
    lines.append('[[samples.analyses]]\nmethod = "transport.arrhenius"\n'
                 'parameters = { from_method = "interdiffusion.fit", value = "D_0.5" }\n')
    camp = tmp_path / "campaign.toml"
    camp.write_text("\n".join(lines))
    summary = run_campaign(camp, progress=False, report=False)
    assert not summary.failed, summary.failed
    with Store(summary.database) as store:
        rows = store.results(method="transport.arrhenius", name="Ea")
    assert rows and rows[-1]["value"] / 1.602176634e-19 == pytest.approx(1.5, abs=0.1)
