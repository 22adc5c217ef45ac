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
                lines.append(" ".join(f"<{v}>" if isinstance(v, str) else str(v)
                                      for v in value[k:k + 8]))
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
                  rows=None, phase=0.7, acq_extra=None, b_true=None, title=None) -> Path:
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
    acqus.update(acq_extra or {})
    if "acqus" in files:
        _write_jcamp(d / "acqus", acqus)
    if title is not None:
        (d / "pdata" / "1").mkdir(parents=True)
        (d / "pdata" / "1" / "title").write_text(title)
    if "acqu2s" in files:
        _write_jcamp(d / "acqu2s", {"NUC1": "off", "TD": nrows, "SW_h": 1, "SFO1": BF1})
    if "difflist" in files:
        (d / "difflist").write_text("".join(f"{g:.6f}\n" for g in g_gcm))
    n = td // 2
    t = np.arange(n) / SW
    b = b_hand(g_gcm * 0.01, 2e-3, 0.1) if b_true is None else np.asarray(b_true)
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
    # bipolar pairs with a gap τ = D16 + P2 (P2 = 0 here: taken as 2·P1 = 7 µs)
    tau = 7e-6
    np.testing.assert_allclose(data.b, b * (0.1 - 2e-3 / 3 - tau / 2) / (0.1 - 2e-3 / 3),
                               rtol=1e-10)
    assert data.metadata["tau_s"] == pytest.approx(tau, rel=1e-12)
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


# ------------------------------------------------------------------------------------------
# issue 9: gradient shape, sequence and bipolar gap of Bruker data sets; δ without P30
# ------------------------------------------------------------------------------------------


def _smsq_lobe(t, L, frac=0.1):
    """Bruker SMSQ10.100 modelled as a square with raised-cosine edges over 10 % each end."""
    e = frac * L
    s = np.ones_like(t)
    rise = t < e
    s[rise] = np.sin(np.pi * t[rise] / (2 * e)) ** 2
    fall = t > L - e
    s[fall] = np.sin(np.pi * (L - t[fall]) / (2 * e)) ** 2
    return s


def b_numeric(g, lobe, L, Delta, *, tau=None, gamma=GAMMA_7LI, dt=1e-7):
    """b = γ² ∫ q² dt by brute force on a fine grid (independent of ionscale.nmr.bvalues);
    the pulse edges fall on grid points (times multiples of dt), the samples at mid-cells."""
    g = np.atleast_1d(np.asarray(g, float))
    pulses = [(0.0, L)] if tau is None else [(0.0, L), (L + tau, L)]
    T = Delta + pulses[-1][0] + L
    n = int(round(T / dt))
    t = (np.arange(n) + 0.5) * (T / n)
    geff = np.zeros(n)
    for sign, offset in ((1.0, 0.0), (-1.0, Delta)):
        for start, length in pulses:
            u = t - offset - start
            on = (u >= 0) & (u <= length)
            geff[on] += sign * lobe(u[on], length)
    q = np.cumsum(geff) * (T / n)
    return gamma ** 2 * g ** 2 * float(np.sum(q ** 2) * (T / n))


def _gpnam(name):
    names = ["sine.100"] * 32
    names[6] = name
    return names


def test_bruker_pfg_smsq_bipolar_shape_factor(tmp_path):
    # ledbpgp2s with Bruker's default SMSQ10.100: D must come back, not 0.81·D
    P = [0.0] * 64
    P[1], P[2], P[30] = 3.5, 7.0, 1000.0
    D = [0.0] * 64
    D[20], D[16] = 0.1, 2e-4
    tau = 2e-4 + 7e-6
    b_true = b_numeric(G_LIST * 0.01, _smsq_lobe, 1e-3, 0.1, tau=tau)
    d = _write_bruker(tmp_path, g_gcm=G_LIST, b_true=b_true,
                      acq_extra={"GPNAM": _gpnam("SMSQ10.100"), "P": P, "D": D})
    data = read_bruker_pfg(d, region=(-2, 8))
    np.testing.assert_allclose(data.b, b_true, rtol=1e-5)
    assert data.metadata["gradient_shape"] == "SMSQ10.100"
    assert data.metadata["shape_factor"] == pytest.approx(0.9, rel=1e-12)
    assert data.metadata["sequence"] == "bipolar"
    assert data.metadata["tau_s"] == pytest.approx(tau, rel=1e-12)
    assert "SMSQ10.100" in data.b_formula and "bipolar" in data.b_formula
    from ionscale.nmr.pfg import fit_pfg

    fit = fit_pfg(data)
    assert fit["D"].value == pytest.approx(D_TRUE, rel=0.005)
    assert "SMSQ10.100" in fit.summary()
    # the old reading (rectangular pulses) is 19 % low
    rect = read_bruker_pfg(d, region=(-2, 8), gradient_shape="rectangular")
    assert fit_pfg(rect)["D"].value / D_TRUE == pytest.approx(0.81, abs=0.005)


@pytest.mark.parametrize("gpnam, lobe", [
    ("SINE.100", lambda t, L: np.sin(np.pi * t / L)),
    ("RECT.1", lambda t, L: np.ones_like(t)),
])
@pytest.mark.parametrize("pulprog, sequence", [("stebpgp1s", "bipolar"),
                                               ("stegp1s", "stimulated")])
def test_bruker_pfg_shapes_and_sequences(tmp_path, gpnam, lobe, pulprog, sequence):
    P = [0.0] * 64
    P[1], P[2], P[30] = 3.5, 7.0, 1500.0
    D = [0.0] * 64
    D[20], D[16] = 0.05, 1e-4
    d = _write_bruker(tmp_path, g_gcm=G_LIST,
                      acq_extra={"GPNAM": _gpnam(gpnam), "P": P, "D": D, "PULPROG": pulprog})
    data = read_bruker_pfg(d, region=(-2, 8))
    if sequence == "bipolar":
        expected = b_numeric(G_LIST * 0.01, lobe, 1.5e-3, 0.05, tau=1e-4 + 7e-6)
        assert data.delta == pytest.approx(3e-3, rel=1e-12)
    else:
        expected = b_numeric(G_LIST * 0.01, lobe, 1.5e-3, 0.05)
        assert data.delta == pytest.approx(1.5e-3, rel=1e-12)
    np.testing.assert_allclose(data.b, expected, rtol=1e-5)
    assert data.metadata["sequence"] == sequence


def test_bruker_pfg_double_stimulated_echo(tmp_path):
    # dstebpgp3s: two bipolar stimulated echoes, D20 the total diffusion time
    P = [0.0] * 64
    P[1], P[2], P[30] = 3.5, 7.0, 1000.0
    D = [0.0] * 64
    D[20], D[16] = 0.1, 2e-4
    d = _write_bruker(tmp_path, g_gcm=G_LIST,
                      acq_extra={"GPNAM": _gpnam("SMSQ10.100"), "P": P, "D": D,
                                 "PULPROG": "dstebpgp3s"})
    data = read_bruker_pfg(d, region=(-2, 8))
    half = b_numeric(G_LIST * 0.01, _smsq_lobe, 1e-3, 0.05, tau=2e-4 + 7e-6)
    np.testing.assert_allclose(data.b, 2 * half, rtol=1e-5)
    assert data.metadata["sequence"] == "double-bipolar"
    assert "double" in data.b_formula


def test_bruker_pfg_options_override_the_data_set(tmp_path):
    d = _write_bruker(tmp_path, g_gcm=G_LIST, acq_extra={"GPNAM": _gpnam("SMSQ10.100")})
    data = read_bruker_pfg(d, region=(-2, 8), gradient_shape="sine", sequence="bipolar",
                           tau="1 ms")
    expected = b_numeric(G_LIST * 0.01, lambda t, L: np.sin(np.pi * t / L), 1e-3, 0.1,
                         tau=1e-3)
    np.testing.assert_allclose(data.b, expected, rtol=1e-5)
    assert data.metadata["shape_source"] == "given"
    # an unknown shape name with no shape file: refuse rather than guess
    d2 = _write_bruker(tmp_path / "x", g_gcm=G_LIST, acq_extra={"GPNAM": _gpnam("MYSHAPE.7")})
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d2)
    assert exc.value.field == "GPNAM6" and exc.value.file.endswith("acqus")
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d, sequence="zigzag")
    assert exc.value.field == "sequence"
    # a Bruker shape file in the data set is used as sampled
    values = 100 * np.sin(np.pi * np.arange(100) / 99)
    (d2 / "MYSHAPE.7").write_text(
        "##TITLE= MYSHAPE.7\n##JCAMP-DX= 5.00 Bruker JCAMP library\n##DATA TYPE= Shape Data\n"
        "##$SHAPE_INTEGFAC= 6.366E-01\n##NPOINTS= 100\n##XYPOINTS= (XY..XY)\n"
        + "".join(f"{v:.8E}\n" for v in values) + "##END=\n")
    data2 = read_bruker_pfg(d2, region=(-2, 8))
    np.testing.assert_allclose(data2.b, data.b * 0 + b_numeric(
        G_LIST * 0.01, lambda t, L: np.sin(np.pi * t / L), 1e-3, 0.1, tau=7e-6), rtol=2e-4)
    assert data2.metadata["shape_source"].endswith("MYSHAPE.7")


def test_bruker_pfg_without_gpnam_says_rectangular_was_assumed(tmp_path):
    d = _write_bruker(tmp_path, g_gcm=G_LIST)
    data = read_bruker_pfg(d, region=(-2, 8))
    assert data.metadata["gradient_shape"] == "rectangular"
    assert data.metadata["shape_source"] == "assumed"
    from ionscale.nmr.pfg import fit_pfg

    fit = fit_pfg(data)
    assert fit.status == "warning"
    assert any(x.code == "fixed-choice" and "shape" in x.message for x in fit.diagnostics)


@pytest.mark.parametrize("where, text", [
    ("title", "LLTO 7Li PFG, ledbpgp2s, little delta = 2 ms, Delta = 100 ms\n"),
    ("diff.xml", '<?xml version="1.0"?>\n<diffusion><littleDelta unit="ms">2.0</littleDelta>'
                 '<bigDelta unit="ms">100</bigDelta></diffusion>\n'),
])
def test_bruker_pfg_delta_without_p30(tmp_path, where, text):
    P = [0.0] * 64
    P[1] = 3.5  # P30 = 0: δ only in diff.xml or the title
    d = _write_bruker(tmp_path, g_gcm=G_LIST, acq_extra={"P": P},
                      title=text if where == "title" else None)
    if where == "diff.xml":
        (d / "diff.xml").write_text(text)
    data = read_bruker_pfg(d, region=(-2, 8))
    assert data.delta == pytest.approx(2e-3, rel=1e-12)
    assert where in data.metadata["delta_rule"]
    # without either, the error says where δ can come from
    (d / "diff.xml").unlink(missing_ok=True)
    (d / "pdata" / "1" / "title").unlink(missing_ok=True)
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d)
    assert exc.value.field == "delta" and "title" in exc.value.expected


def test_bruker_cli_shows_b_formula_and_options(tmp_path, capsys):
    from ionscale.cli import main

    d = _write_bruker(tmp_path, g_gcm=G_LIST, noise=2e3, seed=5,
                      acq_extra={"GPNAM": _gpnam("SMSQ10.100")})
    code = main(["nmr", "pfg", str(d), "--region=-2,8", "--noise-region=-30,-10"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "SMSQ10.100" in out and "bipolar" in out
    assert "χ²_red" in out  # σ known from the noise region
    code = main(["nmr", "pfg", str(d), "--region=-2,8", "--gradient-shape", "sine",
                 "--sequence", "bipolar", "--tau", "1 ms", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    import json

    res = json.loads(out)
    assert "sine" in res["data"]["b_formula"]
    assert main(["nmr", "pfg", str(d), "--gradient-shape", "blob"]) == 2
    assert "gradient" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# issue 9/10: TopSpin exports: diffusion sets, decimal commas, non-finite numbers
# ------------------------------------------------------------------------------------------

_CT1T2_DIFFUSION = """Dataset : C:/Bruker/TopSpin3.6.2/data/ionscale/nmr/LLTO_PFG/12/pdata/1

Diffusion : Variable Gradient :

INTENSITY fit :
I=I[0]*exp(-D*SQR(2*PI*gamma*Gi*LD)*(BD-LD/3)*1e4)

Gamma  =      1654.600 Hz/G
Little Delta  =      2.000m
Big Delta  =    100.000m

4 points for Integral 1, Integral Region from 8.000 to -2.000 ppm
Results       Comp. 1
I[0]     =    1.0000e+00
Diff Con.=    2.000e-11 m2/s
SD       =    1.0e-03

Point     Gradient      Expt          Calc        Difference
   1      2.000e+01   9.98e-01   9.98e-01   0.0
   2      1.000e+02   9.50e-01   9.50e-01   0.0
   3      3.000e+02   6.30e-01   6.30e-01   0.0
   4      6.000e+02   1.60e-01   1.60e-01   0.0
"""


def test_topspin_diffusion_export_is_not_read_as_t1(tmp_path):
    path = tmp_path / "ct1t2.txt"
    path.write_text(_CT1T2_DIFFUSION)
    with pytest.raises(InputError) as exc:
        read_topspin_relaxation(path)
    assert "diffusion" in exc.value.message.lower()
    assert "read_bruker_pfg" in exc.value.expected
    assert exc.value.file == str(path)


def test_topspin_decimal_commas(tmp_path):
    text = ("Dataset : x\n\nINTENSITY fit :\nI[t]=I[0]+P*exp(-t/T1)\n\n"
            "3 points for Integral 1, Integral Region from 4,500 to -4,500 ppm\n"
            "I[0]     =    1,0000e+07\nT1       =     0,850s\n\n"
            "Point  Tau  Expt  Calc  Difference\n"
            "1  1,000m  -8,1e+06  -8,1e+06  0\n2  500,000m  2,3e+06  2,3e+06  0\n"
            "3  5,000s  9,9e+06  9,9e+06  0\n")
    path = tmp_path / "ct1t2.txt"
    path.write_text(text)
    (curve,) = read_topspin_relaxation(path)
    assert curve.region == (-4.5, 4.5)
    np.testing.assert_allclose(curve.tau, [1e-3, 0.5, 5.0], rtol=1e-12)
    np.testing.assert_allclose(curve.intensity, [-8.1e6, 2.3e6, 9.9e6], rtol=1e-12)
    assert curve.fitted_time == pytest.approx(0.85, rel=1e-12)
    assert curve.metadata["numbers"]["I[0]"] == pytest.approx(1e7, rel=1e-12)


@pytest.mark.parametrize("bad", ["1e400", "inf", "nan"])
def test_topspin_non_finite_intensity(tmp_path, bad):
    path = tmp_path / "ct1t2.txt"
    path.write_text("2 points for Integral 1, Integral Region from 1 to 0 ppm\n"
                    f"Point Tau Expt\n1 1m 1.0\n2 2m {bad}\n")
    with pytest.raises(InputError) as exc:
        read_topspin_relaxation(path)
    assert exc.value.line == 4 and exc.value.file == str(path)


@pytest.mark.parametrize("bad", ["inf", "1e400", "nan"])
def test_relaxation_table_non_finite_temperature(tmp_path, bad):
    path = tmp_path / "t1.txt"
    path.write_text(f"T (K)\tT1 (s)\n300\t0.1\n{bad}\t0.2\n")
    with pytest.raises(InputError) as exc:
        read_relaxation_table(path)
    assert exc.value.file == str(path) and exc.value.field == "T (K)"
    assert exc.value.line == 3


def test_pfg_table_non_finite_delta_column_names_file(tmp_path):
    path = tmp_path / "cols.txt"
    path.write_text("# nucleus: 7Li\ng (T/m)  I  delta (ms)  Delta (ms)\n"
                    "1 1.0 2 inf\n2 0.9 2 100\n")
    with pytest.raises(InputError) as exc:
        read_pfg_table(path)
    assert exc.value.file == str(path) and exc.value.field == "Delta (ms)"


@pytest.mark.parametrize("header", ["intensity_err", "sigma", "error", "err", "intensity_error",
                                    "d_intensity", "intensity err (a.u.)"])
def test_pfg_table_error_column_spellings(tmp_path, header):
    path = tmp_path / "e.txt"
    path.write_text(f"b (s/m2)\tintensity\t{header}\n0\t1\t0.01\n1e9\t0.5\t0.02\n"
                    "2e9\t0.25\t0.03\n")
    data = read_pfg_table(path)
    np.testing.assert_allclose(data.sigma, [0.01, 0.02, 0.03])


def test_demo_pfg_tables_carry_sigma(tmp_path):
    from ionscale.datasets.synthetic import (
        llto_pfg_diffusivities,
        pfg_decay,
        write_pfg_table,
    )

    d = llto_pfg_diffusivities(393.15)
    decay = pfg_decay(d["D_a"], d["D_c"], temperature=393.15, seed=4)
    path = tmp_path / "pfg_393K.txt"
    write_pfg_table(path, decay)
    data = read_pfg_table(path)
    assert data.sigma is not None
    np.testing.assert_allclose(data.sigma, decay.sigma, rtol=1e-3)


# ------------------------------------------------------------------------------------------
# issue 10: hostile Bruker files
# ------------------------------------------------------------------------------------------


def _read_in_child(directory: Path, timeout: float = 60.0) -> str:
    """read_bruker_pfg in a child process with a time and memory limit (a hang must fail the
    test, not the machine); returns what the child printed."""
    import subprocess
    import sys

    code = ("import sys\nfrom ionscale.io.nmr import read_bruker_pfg\n"
            "from ionscale.errors import InputError\n"
            "try:\n    read_bruker_pfg(sys.argv[1])\n    print('READ')\n"
            "except InputError as exc:\n    print('InputError', exc.field, '|', exc)\n")

    def limit():  # 1.5 GiB of address space
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))

    try:
        proc = subprocess.run([sys.executable, "-c", code, str(directory)], capture_output=True,
                              text=True, timeout=timeout, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return "TIMEOUT"
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("cut", ["array", "string"])
def test_bruker_truncated_acqus_fails_fast(tmp_path, cut):
    import time

    d = _write_bruker(tmp_path, g_gcm=G_LIST, acq_extra={"GPNAM": _gpnam("SMSQ10.100")})
    text = (d / "acqus").read_text()
    if cut == "array":
        at = text.index("##$P= (0..63)") + len("##$P= (0..63)\n0.0 3.5 0.0")
    else:
        at = text.index("<ledbpgp2s>") + 4
    (d / "acqus").write_text(text[:at])
    start = time.perf_counter()
    out = _read_in_child(d, timeout=30)
    assert out.startswith("InputError"), out
    assert "acqus" in out
    assert time.perf_counter() - start < 30


def test_bruker_acqus_bad_numbers(tmp_path):
    d = _write_bruker(tmp_path, g_gcm=G_LIST)
    good = (d / "acqus").read_text()
    (d / "acqus").write_text(good.replace("##$TD= 1900", "##$TD= !0"))
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d)
    assert exc.value.field == "TD" and exc.value.file == str(d / "acqus")
    (d / "acqus").write_text(good.replace("##$SW_h= 10000.0", "##$SW_h= nan"))
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d)
    assert exc.value.field == "SW_h"
    (d / "acqus").write_text(good.replace("##END=\n", ""))
    with pytest.raises(InputError, match="END"):
        read_bruker_pfg(d)


def test_bruker_nan_in_float_ser(tmp_path):
    d = _write_bruker(tmp_path, g_gcm=G_LIST, dtypa=2)
    raw = np.frombuffer((d / "ser").read_bytes(), dtype="<f8").copy()
    raw[3 * 1920 + 11] = np.nan
    (d / "ser").write_bytes(raw.tobytes())
    with pytest.raises(InputError) as exc:
        read_bruker_pfg(d, region=(-2, 8))
    assert exc.value.file == str(d / "ser") and exc.value.field == "ser"
    assert "4" in exc.value.message  # the FID (row) holding it
    raw[3 * 1920 + 11] = 1e308
    raw[3 * 1920 + 13] = 1e308
    (d / "ser").write_bytes(raw.tobytes())
    with pytest.raises(InputError):
        read_bruker_pfg(d, region=(-2, 8))
