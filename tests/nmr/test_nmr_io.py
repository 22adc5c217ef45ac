"""Tests of the NMR readers: PFG and relaxation tables, TopSpin ct1t2.txt, Bruker PFG ser."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest

from ionscale.errors import InputError
from ionscale.io.nmr import (
    RelaxationCurve,
    read_bruker_pfg,
    read_pfg_table,
    read_relaxation_table,
    read_topspin_relaxation,
)
from ionscale.nmr.recovery import fit_inversion_recovery, fit_saturation_recovery

GAMMA_7LI = 103.962e6  # rad s^-1 T^-1 (SCIENCE.md §5)
D_TRUE = 2e-11  # m^2/s


def b_hand(g_T_per_m, delta, Delta, gamma=GAMMA_7LI):
    return gamma**2 * np.asarray(g_T_per_m) ** 2 * delta**2 * (Delta - delta / 3)


def sha(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------
# PFG tables
# ------------------------------------------------------------------------------------------


def test_pfg_table_gradient_with_metadata(tmp_path):
    g_gcm = np.array([10.0, 50, 100, 200, 300, 400])
    b = b_hand(g_gcm * 0.01, 2e-3, 0.1)
    sig = np.exp(-b * D_TRUE)
    text = ("# nucleus: 7Li\n# delta: 2 ms\n# Delta: 100 ms\n# temperature: 120 degC\n"
            "g (G/cm)\tI\tsigma\n"
            + "".join(f"{g}\t{s:.10f}\t0.01\n" for g, s in zip(g_gcm, sig, strict=True)))
    path = tmp_path / "pfg.txt"
    path.write_text(text)
    before = sha(path)
    data = read_pfg_table(path)
    assert sha(path) == before
    np.testing.assert_allclose(data.gradient, g_gcm * 0.01, rtol=1e-12)
    np.testing.assert_allclose(data.b, b, rtol=1e-10)
    np.testing.assert_allclose(data.signal, sig, rtol=1e-9)
    np.testing.assert_allclose(data.sigma, 0.01)
    assert data.delta == pytest.approx(2e-3, rel=1e-12, abs=0)
    assert data.Delta == pytest.approx(0.1, rel=1e-12, abs=0)
    assert data.temperature == pytest.approx(393.15, rel=1e-12)
    assert data.nucleus == "7Li"
    # keywords win over the metadata lines
    data2 = read_pfg_table(path, delta=1e-3, Delta="50 ms", temperature=300.0)
    np.testing.assert_allclose(data2.b, b_hand(g_gcm * 0.01, 1e-3, 0.05), rtol=1e-10)
    assert data2.temperature == 300.0


@pytest.mark.parametrize("label, factor", [("s/m2", 1.0), ("s/mm2", 1e6), ("1e9 s/m2", 1e9),
                                           ("s/m^2", 1.0)])
def test_pfg_table_b_column_units(tmp_path, label, factor):
    path = tmp_path / "b.csv"
    path.write_text(f"b ({label}),I/I0\n0,1\n1,0.5\n2,0.25\n")
    data = read_pfg_table(path)
    np.testing.assert_allclose(data.b, np.array([0, 1, 2]) * factor, rtol=1e-12)
    np.testing.assert_allclose(data.signal, [1, 0.5, 0.25])
    assert data.gradient is None and data.sigma is None


@pytest.mark.parametrize("label, factor", [("T/m", 1.0), ("mT/m", 1e-3), ("G/cm", 1e-2)])
def test_pfg_table_gradient_units(tmp_path, label, factor):
    path = tmp_path / "g.txt"
    path.write_text(f"gradient ({label})  intensity\n1  0.9\n2  0.7\n")
    data = read_pfg_table(path, delta="1 ms", Delta="20 ms", nucleus="1H")
    np.testing.assert_allclose(data.gradient, np.array([1.0, 2.0]) * factor, rtol=1e-12)
    np.testing.assert_allclose(data.b, b_hand(data.gradient, 1e-3, 0.02, 267.522e6),
                               rtol=1e-6)


def test_pfg_table_delta_columns(tmp_path):
    path = tmp_path / "cols.txt"
    path.write_text("# nucleus: 7Li\ng (T/m)  I  delta (ms)  Delta (ms)  T (K)\n"
                    "1 1.0 2 100 393\n2 0.9 2 100 393\n")
    data = read_pfg_table(path)
    assert data.delta == pytest.approx(2e-3, abs=0, rel=1e-12)
    assert data.Delta == pytest.approx(0.1, abs=0, rel=1e-12)
    assert data.temperature == pytest.approx(393.0)
    np.testing.assert_allclose(data.b, b_hand([1.0, 2.0], 2e-3, 0.1), rtol=1e-10)


@pytest.mark.parametrize("missing, field", [("delta", "delta"), ("Delta", "Delta")])
def test_pfg_table_missing_delta(tmp_path, missing, field):
    lines = {"delta": "# delta: 2 ms\n", "Delta": "# Delta: 100 ms\n"}
    del lines[missing]
    path = tmp_path / "m.txt"
    path.write_text("# nucleus: 7Li\n" + "".join(lines.values())
                    + "g (G/cm)\tI\n10\t1\n20\t0.9\n")
    with pytest.raises(InputError) as exc:
        read_pfg_table(path)
    assert exc.value.field == field
    assert exc.value.file == str(path)


def test_pfg_table_bad_input(tmp_path):
    path = tmp_path / "neg.txt"
    path.write_text("# nucleus: 7Li\n# delta: 2 ms\n# Delta: 100 ms\n"
                    "g (G/cm)\tI\n10\t1\n-20\t0.9\n30\t0.8\n")
    with pytest.raises(InputError, match="negative") as exc:
        read_pfg_table(path)
    assert exc.value.line == 6
    path2 = tmp_path / "nuc.txt"
    path2.write_text("# nucleus: 99Xx\n# delta: 2 ms\n# Delta: 100 ms\n"
                     "g (G/cm)\tI\n10\t1\n20\t0.9\n")
    with pytest.raises(InputError) as exc:
        read_pfg_table(path2)
    assert exc.value.field == "nucleus"
    with pytest.raises(InputError, match="nucleus"):
        read_pfg_table(path, nucleus="Unobtainium")
    path3 = tmp_path / "nounit.txt"
    path3.write_text("# nucleus: 7Li\n# delta: 2 ms\n# Delta: 100 ms\ng\tI\n10\t1\n20\t0.9\n")
    with pytest.raises(InputError, match="no unit"):
        read_pfg_table(path3)
    assert read_pfg_table(path3, gradient_unit="G/cm").gradient[1] == pytest.approx(0.2)
    path4 = tmp_path / "noint.txt"
    path4.write_text("g (G/cm)\tfoo\tbar\tbaz\n10\t1\t2\t3\n20\t0.9\t2\t3\n")
    with pytest.raises(InputError):
        read_pfg_table(path4, delta=1e-3, Delta=0.1, nucleus="7Li")
    path5 = tmp_path / "sig.txt"
    path5.write_text("b (s/m2)\tI\terror\n0\t1\t0.01\n1e9\t0.5\t0\n")
    with pytest.raises(InputError, match="not positive"):
        read_pfg_table(path5)
    path6 = tmp_path / "negb.txt"
    path6.write_text("b (s/m2)\tI\n0\t1\n-1e9\t0.5\n")
    with pytest.raises(InputError, match="negative"):
        read_pfg_table(path6)


# ------------------------------------------------------------------------------------------
# relaxation tables
# ------------------------------------------------------------------------------------------


def test_relaxation_table_t1_ms_celsius(tmp_path):
    path = tmp_path / "t1.txt"
    path.write_text("# nucleus: 7Li\n# frequency: 155.4 MHz\n"
                    "T (°C)\tT1 (ms)\tT1 error (ms)\n60\t120.5\t2.0\n20\t300\t5\n")
    before = sha(path)
    data = read_relaxation_table(path)
    assert sha(path) == before
    assert data.kind == "T1"
    np.testing.assert_allclose(data.T, [293.15, 333.15])  # sorted by T
    np.testing.assert_allclose(data.time, [0.3, 0.1205], rtol=1e-12)
    np.testing.assert_allclose(data.time_error, [5e-3, 2e-3], rtol=1e-12)
    assert data.frequency == pytest.approx(155.4e6, rel=1e-12)
    assert data.nucleus == "7Li"


def test_relaxation_table_rates_and_kinds(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("T (K),R1rho (1/s),error (1/s)\n300,10,1\n400,20,2\n")
    data = read_relaxation_table(path, frequency=20e3)
    assert data.kind == "T1rho"
    np.testing.assert_allclose(data.time, [0.1, 0.05])
    np.testing.assert_allclose(data.time_error, [1 / 100, 2 / 400])
    assert data.frequency == 20e3
    path2 = tmp_path / "t2.txt"
    path2.write_text("T (K)  T2 (us)\n300  50\n350  80\n")
    data2 = read_relaxation_table(path2)
    assert data2.kind == "T2"
    np.testing.assert_allclose(data2.time, [50e-6, 80e-6], rtol=1e-12)
    path3 = tmp_path / "t1rho.txt"
    path3.write_text("T (K)\tT1ρ (ms)\n300\t5\n")
    assert read_relaxation_table(path3).kind == "T1rho"
    path4 = tmp_path / "generic.txt"
    path4.write_text("T (K)\ttime (s)\n300\t5\n")
    with pytest.raises(InputError) as exc:
        read_relaxation_table(path4)
    assert exc.value.field == "kind"
    assert read_relaxation_table(path4, kind="T2").kind == "T2"
    with pytest.raises(InputError):
        read_relaxation_table(path4, kind="T3")


def test_relaxation_table_bad_input(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("T (K)\tT1 (s)\n300\t0.1\n310\t-0.2\n")
    with pytest.raises(InputError, match="not positive") as exc:
        read_relaxation_table(path)
    assert exc.value.line == 3
    path2 = tmp_path / "nounit.txt"
    path2.write_text("T\tT1 (s)\n300\t0.1\n")
    with pytest.raises(InputError, match="no unit"):
        read_relaxation_table(path2)
    path3 = tmp_path / "notime.txt"
    path3.write_text("T (K)\tfoo\n300\t0.1\n")
    with pytest.raises(InputError, match="no relaxation"):
        read_relaxation_table(path3)


# ------------------------------------------------------------------------------------------
# TopSpin ct1t2.txt
# ------------------------------------------------------------------------------------------

T1_TRUE = (0.85, 2.4)
ALPHA_TRUE = 0.93


def _ct1t2_text(rng) -> tuple[str, list[np.ndarray]]:
    tau_tokens = ["1.000m", "5.000m", "10.000m", "50.000m", "100.000m", "250.000m",
                  "500.000m", "750.000m", "1.000s", "1.500s", "2.000s", "3.000s", "5.000s",
                  "8.000s"]
    tau = np.array([1e-3, 5e-3, 10e-3, 50e-3, 100e-3, 250e-3, 500e-3, 750e-3, 1, 1.5, 2, 3,
                    5, 8])
    out = ["Dataset : C:/Bruker/TopSpin3.6.2/data/ionscale/nmr/LLTO_T1/3/pdata/1", "",
           "INTENSITY fit :", "I[t]=I[0]+P*exp(-t/T1)", "", ""]
    curves = []
    for k, (t1, lo, hi, i0) in enumerate(((T1_TRUE[0], -2.5, 4.5, 1.0e7),
                                          (T1_TRUE[1], 8.0, 12.0, 3.2e6)), start=1):
        clean = i0 * (1 - 2 * ALPHA_TRUE * np.exp(-tau / t1))
        noisy = clean + rng.normal(0, 0.004 * i0, tau.size)
        curves.append(noisy)
        out += [f"{tau.size} points for Integral {k}, Integral Region from {hi:.3f} to "
                f"{lo:.3f} ppm", "Results       Comp. 1", f"I[0]     =    {i0:.4e}",
                f"P        =   {-2 * ALPHA_TRUE * i0:.4e}", f"T1       =     {t1:.3f}s",
                "SD       =    3.1523e-03", "",
                "   Point      Tau           Expt           Calc        Difference"]
        for j in range(tau.size):
            out.append(f"{j + 1:7d}   {tau_tokens[j]:>9s}  {noisy[j]:13.4e}  {clean[j]:13.4e}"
                       f"  {noisy[j] - clean[j]:13.4e}")
        out += ["", "=" * 70, ""]
    return "\n".join(out) + "\n", [tau, *curves]


def test_topspin_ct1t2(tmp_path):
    rng = np.random.default_rng(4)
    text, (tau, c1, c2) = _ct1t2_text(rng)
    pdata = tmp_path / "3" / "pdata" / "1"
    pdata.mkdir(parents=True)
    path = pdata / "ct1t2.txt"
    path.write_text(text)
    before = sha(path)
    curves = read_topspin_relaxation(path)
    assert sha(path) == before
    assert len(curves) == 2
    assert all(isinstance(c, RelaxationCurve) for c in curves)
    np.testing.assert_allclose(curves[0].tau, tau, rtol=1e-12)
    np.testing.assert_allclose(curves[0].intensity, c1, rtol=1e-4)
    np.testing.assert_allclose(curves[1].intensity, c2, rtol=1e-4)
    assert curves[0].fitted_time == pytest.approx(T1_TRUE[0], rel=1e-9)
    assert curves[1].fitted_time == pytest.approx(T1_TRUE[1], rel=1e-9)
    assert curves[0].peak == 1 and curves[1].peak == 2
    assert curves[0].region == (-2.5, 4.5)
    assert curves[0].kind == "T1"
    assert "I[0]" in curves[0].metadata["numbers"]
    assert curves[0].metadata["function"] == "I[t]=I[0]+P*exp(-t/T1)"
    # directory form
    assert len(read_topspin_relaxation(pdata)) == 2
    # fits: truth within 3 standard errors; α comes back
    for curve, t1 in zip(curves, T1_TRUE, strict=True):
        res = fit_inversion_recovery(curve)
        assert abs(res["T1"].value - t1) < 3 * res["T1"].error
        assert res["T1"].error / t1 < 0.05
        assert abs(res["alpha"].value - ALPHA_TRUE) < 3 * res["alpha"].error
        assert res.provenance.inputs[0].path.endswith("ct1t2.txt")


def test_topspin_simfit_and_peak_point(tmp_path):
    text = ("Dataset : /opt/data/x/5/pdata/1\n\nAREA fit :\n  I[t]=I[0]*exp(-t/T2)\n\n"
            "4 points for Peak 1, Peak Point at -68.561 ppm\n"
            "T2 = 60.764m 1.759s\n\nPoint  Tau  Expt  Calc  Difference\n"
            "1  500u  1.0  1.0  0\n2  1m  0.9  0.9  0\n3  2.5m  0.8  0.8  0\n"
            "4  1.2s  0.1  0.1  0\n")
    path = tmp_path / "ct1t2.txt"
    path.write_text(text)
    (curve,) = read_topspin_relaxation(path)
    np.testing.assert_allclose(curve.tau, [500e-6, 1e-3, 2.5e-3, 1.2], rtol=1e-12)
    assert curve.kind == "T2"
    assert curve.region == (-68.561, -68.561)
    assert curve.fitted_time == pytest.approx(60.764e-3, rel=1e-12)
    assert curve.metadata["components"] == pytest.approx((60.764e-3, 1.759), rel=1e-12)


def test_topspin_bad_input(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_topspin_relaxation(tmp_path / "ct1t2.txt")
    path = tmp_path / "ct1t2.txt"
    path.write_text("Dataset : x\nT1 = 1.0s\n")
    with pytest.raises(InputError, match="no delay"):
        read_topspin_relaxation(path)
    path.write_text("1 points for Integral 1, Integral Region from 1 to 0 ppm\n"
                    "Point Tau Expt\n1 12.0q 1.0\n")
    with pytest.raises(InputError, match="delay") as exc:
        read_topspin_relaxation(path)
    assert exc.value.line == 3


def test_recovery_fits_round_trip():
    rng = np.random.default_rng(11)
    tau = np.geomspace(1e-3, 10, 16)
    hits_ir = hits_sr = 0
    n = 60
    for _ in range(n):
        y = 2.0 * (1 - 2 * 0.95 * np.exp(-tau / 0.7)) + rng.normal(0, 0.02, tau.size)
        res = fit_inversion_recovery(tau, y, sigma=np.full(tau.size, 0.02))
        hits_ir += abs(res["T1"].value - 0.7) < 2 * res["T1"].error
        y = 2.0 * (1 - np.exp(-tau / 0.7)) + rng.normal(0, 0.02, tau.size)
        res = fit_saturation_recovery(tau, y, sigma=np.full(tau.size, 0.02))
        hits_sr += abs(res["T1"].value - 0.7) < 2 * res["T1"].error
    # 95 % nominal coverage; 60 replicas: accept 85-100 %
    assert hits_ir / n > 0.85 and hits_sr / n > 0.85
    # exact data: exact answer; fixed alpha
    y = 5 * (1 - 2 * np.exp(-tau / 0.3))
    res = fit_inversion_recovery(tau, y, alpha=1.0)
    assert res["T1"].value == pytest.approx(0.3, rel=1e-6)
    assert res.fit.free == (True, True, False)
    ax = res.plot()
    assert ax.get_xscale() == "log"
    with pytest.raises(InputError):
        fit_inversion_recovery(tau[:3], y[:3])
    with pytest.raises(InputError):
        fit_inversion_recovery(tau)


# ------------------------------------------------------------------------------------------
# Bruker PFG experiment directory
# ------------------------------------------------------------------------------------------


def _write_jcamp(path: Path, params: dict) -> None:
    lines = ["##TITLE= Parameter file, TopSpin 3.6.2", "##JCAMP-DX= 5.0",
             "##DATATYPE= Parameter Values", "##ORIGIN= Bruker BioSpin GmbH",
             "##OWNER= ionscale", "$$ synthetic data set written by the ionscale tests"]
    for key, value in params.items():
        if isinstance(value, str):
            lines.append(f"##${key}= <{value}>")
        elif isinstance(value, list):
            lines.append(f"##${key}= (0..{len(value) - 1})")
            for k in range(0, len(value), 8):
                lines.append(" ".join(str(v) for v in value[k:k + 8]))
        else:
            lines.append(f"##${key}= {value}")
    lines.append("##END=")
    path.write_text("\n".join(lines) + "\n")


BF1 = 155.5022  # MHz, 7Li at 9.4 T
SW = 10000.0  # Hz
NU = 500.0  # Hz, peak offset from the carrier -> 500/155.5 = 3.215 ppm
T2STAR = 5e-3  # s


def _write_bruker(root: Path, *, g_gcm, td=1900, dtypa=0, grpdly=0, noise=0.0, seed=0,
                  amp=2e6, pulprog="ledbpgp2s", files=("acqus", "acqu2s", "difflist", "ser"),
                  rows=None, phase=0.7) -> Path:
    d = root / "12"
    d.mkdir(parents=True)
    g_gcm = np.asarray(g_gcm, dtype=float)
    nrows = g_gcm.size if rows is None else rows
    D = [0.0] * 64
    D[20] = 0.1
    D[1] = 5.0
    P = [0.0] * 64
    P[1] = 3.5
    P[30] = 1000
    acqus = {"AQ_mod": 3, "BF1": BF1, "BYTORDA": 0, "D": D, "DECIM": 16, "DSPFVS": 20,
             "DTYPA": dtypa, "GRPDLY": grpdly, "NUC1": "7Li", "O1": 0, "P": P,
             "PULPROG": pulprog, "SFO1": BF1, "SW_h": SW, "TD": td, "TE": 393.0,
             "GPZ": [0] * 6 + [100] + [0] * 25}
    if "acqus" in files:
        _write_jcamp(d / "acqus", acqus)
    if "acqu2s" in files:
        _write_jcamp(d / "acqu2s", {"NUC1": "off", "TD": nrows, "SW_h": 1, "SFO1": BF1})
    if "difflist" in files:
        (d / "difflist").write_text("".join(f"{g:.6f}\n" for g in g_gcm))
    n = td // 2
    t = np.arange(n) / SW
    b = b_hand(g_gcm * 0.01, 2e-3, 0.1)
    rng = np.random.default_rng(seed)
    block = 256 if dtypa == 0 else 128
    stored = int(math.ceil(td / block) * block)
    out = np.zeros((nrows, stored))
    shift = int(round(grpdly)) if grpdly > 0 else 0
    for i in range(nrows):
        a = amp * math.exp(-b[i % b.size] * D_TRUE)
        fid = a * np.exp(2j * np.pi * NU * t - t / T2STAR + 1j * phase)
        fid = np.concatenate([np.zeros(shift, complex), fid])[:n]
        fid = fid + noise * (rng.normal(size=n) + 1j * rng.normal(size=n))
        out[i, 0:2 * n:2] = fid.real
        out[i, 1:2 * n:2] = fid.imag
    if "ser" in files:
        if dtypa == 0:
            (d / "ser").write_bytes(np.round(out).astype("<i4").tobytes())
        else:
            (d / "ser").write_bytes(out.astype("<f8").tobytes())
    return d


G_LIST = np.linspace(20, 620, 16)  # G/cm


@pytest.mark.parametrize("dtypa", [0, 2])
def test_bruker_pfg_decay(tmp_path, dtypa):
    d = _write_bruker(tmp_path, g_gcm=G_LIST, dtypa=dtypa)
    before = sha(d)
    data = read_bruker_pfg(d, region=(-2, 8))
    assert sha(d) == before
    b = b_hand(G_LIST * 0.01, 2e-3, 0.1)
    np.testing.assert_allclose(data.b, b, rtol=1e-10)
    np.testing.assert_allclose(data.gradient, G_LIST * 0.01, rtol=1e-12)
    assert data.delta == pytest.approx(2e-3, rel=1e-12, abs=0)
    assert data.Delta == pytest.approx(0.1, rel=1e-12, abs=0)
    assert data.nucleus == "7Li" and data.temperature == pytest.approx(393.0)
    ratio = data.signal / data.signal[0]
    expected = np.exp(-(b - b[0]) * D_TRUE)
    np.testing.assert_allclose(ratio, expected, rtol=0.01)
    assert expected[-1] < 0.1  # the decay is deep enough to matter
    # D comes back from a log-linear fit
    slope = np.polyfit(b, np.log(data.signal), 1)[0]
    assert -slope == pytest.approx(D_TRUE, rel=0.01, abs=0)
    assert data.metadata["delta_rule"].startswith("2*P30")
    assert data.metadata["n_rows"] == 16
    # magnitude mode and whole spectrum give the same decay here (no noise)
    mag = read_bruker_pfg(d, region=(-2, 8), phase="magnitude")
    np.testing.assert_allclose(mag.signal / mag.signal[0], expected, rtol=0.01)
    whole = read_bruker_pfg(d)
    np.testing.assert_allclose(whole.signal / whole.signal[0], expected, rtol=0.01)
    # the peak is where it was put (+3.2 ppm, not at the mirror image -3.2 ppm)
    p0 = data.metadata["phase0_deg"]
    on = read_bruker_pfg(d, region=(NU / BF1 - 2, NU / BF1 + 2), phase=p0)
    mirror = read_bruker_pfg(d, region=(-NU / BF1 - 2, -NU / BF1 + 2), phase=p0)
    assert np.all(on.signal > 0.85 * data.signal)
    assert np.all(np.abs(mirror.signal) < 0.03 * data.signal)  # tails only


def test_bruker_pfg_overrides_and_group_delay(tmp_path):
    d = _write_bruker(tmp_path, g_gcm=G_LIST, grpdly=67.98, pulprog="stegp1s")
    data = read_bruker_pfg(d, region=(-2, 8))
    # monopolar program: δ = P30
    assert data.delta == pytest.approx(1e-3, rel=1e-12, abs=0)
    np.testing.assert_allclose(data.b, b_hand(G_LIST * 0.01, 1e-3, 0.1), rtol=1e-10)
    data = read_bruker_pfg(d, region=(-2, 8), delta="2 ms", Delta=0.1)
    b = b_hand(G_LIST * 0.01, 2e-3, 0.1)
    np.testing.assert_allclose(data.b, b, rtol=1e-10)
    np.testing.assert_allclose(data.signal / data.signal[0], np.exp(-(b - b[0]) * D_TRUE),
                               rtol=0.01)


def test_bruker_pfg_noise_sigma(tmp_path):
    # 48 rows at one gradient: the scatter of the integrals is their standard error
    d = _write_bruker(tmp_path, g_gcm=np.full(48, 100.0), noise=2e4, seed=3)
    data = read_bruker_pfg(d, region=(1, 5.5), noise_region=(-30, -10))
    scatter = np.std(data.signal, ddof=1)
    assert data.sigma is not None and np.all(data.sigma == data.sigma[0])
    assert 0.7 < data.sigma[0] / scatter < 1.4


def test_bruker_pfg_difframp(tmp_path):
    d = _write_bruker(tmp_path, g_gcm=G_LIST, files=("acqus", "acqu2s", "ser"))
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d)
    assert exc.value.file.endswith("difflist")
    ramp = G_LIST / 620.0
    (d / "Difframp").write_text("##TITLE= Difframp\n##NPOINTS= 16\n##XYPOINTS= (XY..XY)\n"
                                + "".join(f"{r:.8f}, 0.0\n" for r in ramp) + "##END=\n")
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d)
    assert exc.value.field == "gradient_calibration"
    data = read_bruker_pfg(d, gradient_calibration="620 G/cm", region=(-2, 8))
    np.testing.assert_allclose(data.gradient, G_LIST * 0.01, rtol=1e-6)
    data2 = read_bruker_pfg(d, gradient_calibration=6.2, region=(-2, 8))
    np.testing.assert_allclose(data2.b, data.b, rtol=1e-12)


@pytest.mark.parametrize("missing", ["acqus", "ser", "difflist"])
def test_bruker_pfg_missing_files(tmp_path, missing):
    files = tuple(f for f in ("acqus", "acqu2s", "difflist", "ser") if f != missing)
    d = _write_bruker(tmp_path, g_gcm=G_LIST, files=files)
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d)
    assert exc.value.file == str(d / missing)
    with pytest.raises(InputError, match="not a directory"):
        read_bruker_pfg(tmp_path / "nope")


def test_bruker_pfg_bad_input(tmp_path):
    # more rows in ser than gradients
    d = _write_bruker(tmp_path / "a", g_gcm=G_LIST, rows=17)
    with pytest.raises(InputError, match="17 FIDs but the gradient list has 16"):
        read_bruker_pfg(d)
    # negative gradient
    d = _write_bruker(tmp_path / "b", g_gcm=G_LIST)
    (d / "difflist").write_text("10\n-20\n30\n")
    with pytest.raises(InputError, match="negative") as exc:
        read_bruker_pfg(d)
    assert exc.value.line == 2 and exc.value.file.endswith("difflist")
    # unknown nucleus
    d = _write_bruker(tmp_path / "c", g_gcm=G_LIST)
    text = (d / "acqus").read_text().replace("<7Li>", "<99Xx>")
    (d / "acqus").write_text(text)
    before = sha(d)
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d)
    assert exc.value.field == "NUC1" and exc.value.file.endswith("acqus")
    with pytest.raises(InputError, match="nucleus"):
        read_bruker_pfg(d, nucleus="Qq")
    assert read_bruker_pfg(d, nucleus="7Li", region=(-2, 8)).nucleus == "7Li"
    assert sha(d) == before
    # missing δ / Δ
    d = _write_bruker(tmp_path / "e", g_gcm=G_LIST)
    text = (d / "acqus").read_text()
    (d / "acqus").write_text(text.replace("##$P= (0..63)", "##$PX= (0..63)"))
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d)
    assert exc.value.field == "delta"
    assert read_bruker_pfg(d, delta=2e-3).delta == 2e-3
    (d / "acqus").write_text(text.replace("##$D= (0..63)", "##$DX= (0..63)"))
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d)
    assert exc.value.field == "Delta"
    # region outside the spectrum; bad phase mode; truncated ser
    d = _write_bruker(tmp_path / "f", g_gcm=G_LIST)
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d, region=(200, 300))
    assert exc.value.field == "region"
    with pytest.raises(InputError):
        read_bruker_pfg(d, phase="sideways")
    good = (d / "acqus").read_text()
    (d / "acqus").write_text(good.replace("##$AQ_mod= 3", "##$AQ_mod= 0"))
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d)
    assert exc.value.field == "AQ_mod"
    (d / "acqus").write_text(good)
    raw = (d / "ser").read_bytes()
    (d / "ser").write_bytes(raw[:-100])
    with pytest.raises(InputError, match="whole number"):
        read_bruker_pfg(d)
