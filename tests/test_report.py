"""The HTML report: self-contained, one embedded PNG per figure, values with errors and units,
contents and search, key-result tables, downloads (CSV, PNG, SVG), field units, figure style.

The checks that need a browser (images decoded, links scroll, search filters, no sideways
scrolling on a phone) are in test_report_browser.py."""

import base64
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from ionscale.campaign import run_campaign
from ionscale.cli import main
from ionscale.datasets.synthetic import write_storage_study
from ionscale.report import write_report
from ionscale.results import Provenance, Result, Value
from ionscale.store import Store
from ionscale.units import format_value

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

CAMPAIGN = """\
[campaign]
name = "Report <test> & co"

[[samples]]
name = "LLTO <A>"
description = "pellet <i>A</i> & B"

[[samples.measurements]]
name = "before"
technique = "sims-line"
files = ["before.txt"]
conditions = { temperature = "22 degC", time = "110 h" }

[[samples.measurements]]
name = "after"
technique = "sims-line"
files = ["after.txt"]
conditions = { temperature = "22 degC", time = "2 weeks" }

[[samples.measurements]]
name = "nmr"
technique = "arrhenius-table"
files = ["nmr.txt"]

[[samples.analyses]]
method = "tracer.profile"
label = "erfc fit"
measurements = ["before"]
parameters = { model = "erfc", source = "fit", background = "fit" }

[[samples.analyses]]
method = "tracer.evolve"
label = "storage evolution"
measurements = ["before", "after"]
parameters = { surface = "0 um" }

[[samples.analyses]]
method = "transport.arrhenius"
label = "NMR Arrhenius"
measurements = ["nmr"]
"""

LABELS = ("erfc fit", "storage evolution", "NMR Arrhenius")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    write_storage_study(folder, seed=11, table_points=7, table_error=0.03)
    path = folder / "campaign.toml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    summary = run_campaign(path, progress=False)
    assert summary.failed == () and len(summary.ran) == 3
    return summary


@pytest.fixture(scope="module")
def html(run):
    return Path(run.report).read_text(encoding="utf-8")


IMG = re.compile(r"<img\b[^>]*>", re.I)


def img_sources(text: str) -> list[str]:
    out = []
    for tag in IMG.findall(text):
        m = re.search(r'\bsrc="([^"]*)"', tag)
        assert m, tag
        out.append(m.group(1))
    return out


DATA_URIS = ("data:image/png;base64,", "data:image/svg+xml;base64,", "data:text/csv;", "#")


def test_report_is_self_contained(html):
    assert html.lstrip().lower().startswith("<!doctype html>")
    low = html.lower()
    # one inline script (contents, search, downloads), nothing loaded
    assert low.count("<script") == 1 and "<script>" in low
    assert "<link" not in low
    assert "@import" not in low
    assert "url(" not in low
    assert "fetch(" not in low and "xmlhttprequest" not in low
    # nothing is loaded from elsewhere: no src/href/srcset pointing to another file or server
    for attr, value in re.findall(r'\b(src|href|srcset|poster|data)\s*=\s*"([^"]*)"', html, re.I):
        assert value.startswith(DATA_URIS), (attr, value[:60])
    assert "http://" not in low and "https://" not in low


def test_figures_are_embedded_pngs(run, html):
    sources = img_sources(html)
    with Store(run.database, create=False) as db:
        analyses = db.analyses()
        with_figures = [a for a in analyses if db.figures(a["id"])]
        stored = [png for a in analyses for name, png in db.figures(a["id"]).items()
                  if not name.endswith(".svg")]
    assert len(analyses) == 3 and len(with_figures) == 3
    assert len(stored) == 3
    # the stored figures, plus the report's own overview figures
    assert len(sources) >= len(stored)
    for png in stored:
        assert "data:image/png;base64," + base64.b64encode(png).decode() in sources
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png[:8] == PNG_MAGIC
        assert png[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"  # complete file
        assert len(png) > 2000
    # each figure sits inside its own analysis block
    for a in analyses:
        block = html.split(f'id="analysis-{a["id"]}"', 1)[1].split('<div class="analysis"', 1)[0]
        assert len(img_sources(block)) == 1


def test_values_with_errors_and_field_units(run, html):
    with Store(run.database, create=False) as db:
        rows = db.results()
    assert rows
    for r in rows:
        text = format_value(r["field_value"], r["field_error"], r["field_unit"])
        assert "±" in text
        assert text in html, text
    assert "cm² s⁻¹" in html
    assert " eV" in html
    for label in LABELS:
        assert label in html
    # provenance: the input file names and their hashes
    assert "before.txt" in html and "nmr.txt" in html
    assert html.count("sha256") >= 3


def test_user_text_is_escaped(html):
    assert "<i>A</i>" not in html
    assert "pellet &lt;i&gt;A&lt;/i&gt; &amp; B" in html
    assert "LLTO &lt;A&gt;" in html
    assert "<title>Report &lt;test&gt; &amp; co</title>" in html


class Balance(HTMLParser):
    """Checks that the structural tags open and close in order."""

    CHECKED = {"html", "head", "body", "title", "style", "div", "table", "tr", "td", "th",
               "h1", "h2", "h3", "nav", "ul", "li", "details", "summary", "pre", "code", "span",
               "sub", "section", "main", "figure", "figcaption", "script", "a", "p"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.seen: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        self.seen[tag] = self.seen.get(tag, 0) + 1
        if tag in self.CHECKED:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag not in self.CHECKED:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> at {self.getpos()} closes {self.stack[-1:]}")
            return
        self.stack.pop()


def test_report_is_well_formed(html):
    parser = Balance()
    parser.feed(html)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    assert parser.seen["html"] == parser.seen["body"] == parser.seen["head"] == 1
    assert parser.seen["img"] == len(img_sources(html)) >= 3
    assert parser.seen["h3"] >= 3


def test_report_rebuilt_from_database(run, html, tmp_path, capsys):
    out = tmp_path / "sub" / "rebuilt.html"
    code = main(["report", str(run.database), "--out", str(out), "--title", "Rebuilt"])
    assert code == 0
    assert str(out.resolve()) in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert "<title>Rebuilt</title>" in text
    assert sorted(img_sources(text)) == sorted(img_sources(html))
    for label in LABELS:
        assert label in text


def test_report_without_figure_and_of_empty_store(run, tmp_path):
    db_path = tmp_path / "copy.sqlite"
    with Store(run.database, create=False) as src, Store(db_path) as dst:
        src.connection.backup(dst.connection)
    extra = Result(values={"x": Value("x", 1.5, 0.25, "", "x")},
                   provenance=Provenance.build("custom.step"), title="no figure")
    with Store(db_path) as db:
        db.save_analysis("LLTO <A>", "custom.step", extra, cache_key="k-extra",
                         label="figureless")
        assert len(db.analyses()) == 4
    text = write_report(db_path, tmp_path / "r.html", title="t").read_text(encoding="utf-8")
    assert "figureless" in text
    assert format_value(1.5, 0.25, "") in text
    block = text.split("figureless", 1)[1].split('<div class="analysis"', 1)[0]
    assert img_sources(block) == []  # no figure stored, none shown

    Store(tmp_path / "empty.sqlite").close()
    text = write_report(tmp_path / "empty.sqlite", tmp_path / "e.html").read_text(
        encoding="utf-8")
    assert "0 analyses of 0 sample(s)" in text
    assert img_sources(text) == []


def test_report_of_missing_database(tmp_path, capsys):
    code = main(["report", str(tmp_path / "missing.sqlite"), "--out", str(tmp_path / "r.html")])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing.sqlite" in err
    assert not (tmp_path / "missing.sqlite").exists()
    assert not (tmp_path / "r.html").exists()


# --------------------------------------------------------------------- navigation, units


def test_contents_link_every_analysis(run, html):
    nav = html.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0]
    with Store(run.database, create=False) as db:
        ids = [a["id"] for a in db.analyses()]
    for i in ids:
        assert f'href="#analysis-{i}"' in nav
        assert html.count(f'id="analysis-{i}"') == 1
    # every in-page link has its target
    targets = set(re.findall(r'\bid="([^"]+)"', html))
    for href in re.findall(r'href="#([^"]*)"', html.split("<script>", 1)[0]):
        assert href in targets, href
    assert 'id="search"' in nav and 'type="search"' in nav


def test_conditions_as_the_field_writes_them(html):
    assert "time = 110 h" in html
    assert "time = 14 d" in html  # "2 weeks"
    assert "temperature = 22 °C" in html
    shown = re.sub(r"<pre>.*?</pre>", "", html, flags=re.S)  # the raw JSON keeps SI
    assert "3.96e5" not in shown and "396000" not in shown


def _two_samples(path):
    from ionscale.report.style import render

    class Plotted(Result):
        def plot(self, ax=None):
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(5, 3.6))
            ax.plot([1, 2, 3], [3, 1, 2], "o-", label="a series with a long label")
            ax.legend()
            ax.set_title("a title that is much too long for one column of a journal page")
            return ax

    with Store(path) as db:
        db.add_sample("A", "first", grain_size=16e-6, gb_width=5e-10)
        db.add_sample("B", "second", thickness=2.1e-3)
        for T in (300.0, 400.0):
            r = Plotted(values={"D": Value("D", 1e-13 * T / 300, 1e-14, "m^2/s", "D*"),
                                "n_boundaries": Value("n_boundaries", 56.0, 0.0, "",
                                                      "boundaries")},
                        provenance=Provenance.build(
                            "tracer.gb", parameters={"gb_width_m": 5e-10, "window_m": [7e-6,
                                                                                       7e-6],
                                                     "side": "auto"}),
                        title="D at T")
            out = render(r)
            db.save_analysis("A", "tracer.gb", r, cache_key=f"A{T}", label=f"D at {T:.0f} K",
                             conditions={"temperature": T, "time": 5400.0},
                             figures={"main": out["png"], "main.svg": out["svg"]})
        for T in (300.0, 350.0):
            r = Result(values={"sigma_bulk": Value("sigma_bulk", 1e-3 * T / 300, 1e-5, "S/m",
                                                   "σ_bulk")},
                       provenance=Provenance.build("eis.fit"), title="σ")
            db.save_analysis("B", "eis.fit", r, cache_key=f"B{T}", label=f"σ at {T:.0f} K",
                             conditions={"temperature": T})
        r = Result(values={"D": Value("D", 2e-13, 1e-14, "m^2/s", "D*")},
                   provenance=Provenance.build("tracer.gb"), title="D of B")
        db.save_analysis("B", "tracer.gb", r, cache_key="B-D", label="D of B",
                         conditions={"temperature": 300.0})
    return write_report(path, path.with_suffix(".html"), title="two").read_text(
        encoding="utf-8")


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    return _two_samples(tmp_path_factory.mktemp("two") / "two.sqlite")


def _csv(html, name):
    m = re.search(r'download="' + re.escape(name) + r'" href="data:text/csv;charset=utf-8,'
                  r'([^"]*)"', html)
    assert m, name
    return unquote(m.group(1)).lstrip("\ufeff").splitlines()


def test_key_results_and_comparison_tables(two):
    assert 'id="sample-1-key"' in two and 'id="sample-2-key"' in two
    key = two.split('id="sample-1-key"', 1)[1].split("</table>", 1)[0]
    assert "D*" in key and 'href="#analysis-' in key
    assert "boundaries" not in key  # a count is not a headline number
    compare = two.split('id="comparison-table"', 1)[1].split("</table>", 1)[0]
    assert "<th>A</th>" in compare and "<th>B</th>" in compare
    assert "σ_bulk" in compare and "(1.000 ± 0.010)e-5 S cm⁻¹" in compare
    rows = _csv(two, "key-results-all-samples.csv")
    assert rows[0].startswith("sample,quantity,name,method")
    assert any(r.startswith("B,σ_bulk,sigma_bulk,eis.fit") for r in rows)
    per_sample = _csv(two, "A-key-results.csv")
    assert len(per_sample) == 1 + 2  # D* at two temperatures
    values = _csv(two, "A-D_at_300_K-values.csv")
    assert values[0] == "quantity,name,value,error,unit,relative_error"
    assert values[1].split(",")[2:5] == ["1e-09", "1e-10", "cm² s⁻¹"]
    assert values[2].startswith("boundaries,n_boundaries,56.0,0.0,,")


def test_counts_have_no_relative_error(two):
    row = re.search(r"<tr><td>boundaries</td>(.*?)</tr>", two).group(1)
    assert '<td class="num">56</td>' in row
    assert "±" not in row and "%" not in row


def test_sample_properties_and_parameters_in_field_units(two):
    assert "<td>gb_width</td><td class=\"num\">0.5 nm</td>" in two
    assert "<td>grain_size</td><td class=\"num\">16 µm</td>" in two
    assert "<td>thickness</td><td class=\"num\">2.1 mm</td>" in two
    assert "5.00e-4" not in two
    assert "time = 90 min" in two
    prov = two.split('<details class="prov">', 1)[1].split("</details>\n</details>", 1)[0]
    assert "<th>gb_width</th><td class=\"num\">0.5 nm</td>" in prov
    assert "<th>window</th><td class=\"num\">[7, 7] µm</td>" in prov
    assert "<summary>raw parameters (JSON)</summary>" in prov
    assert "&#34;gb_width_m&#34;: 5e-10" in prov


def test_figure_downloads_png_and_svg(two):
    figure = re.search(r'<figure id="fig-\d+-main">.*?</figure>', two, re.S).group(0)
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', figure).group(1))
    svg = base64.b64decode(re.search(r'href="data:image/svg\+xml;base64,([^"]+)"',
                                     figure).group(1))
    assert png[:8] == PNG_MAGIC and b"<svg" in svg[:1000]
    assert re.search(r'download="A-D_at_300_K-main.png" href="#fig-\d+-main" data-png=', figure)
    # shown at 1.2x its printed size: a single-column figure (3.35 in) is 386 px wide
    assert 'width="386"' in figure
    # overviews: the sample's diffusivities and the Arrhenius plot of all samples
    assert 'id="fig-A-diffusivities"' in two or 'id="fig-A"' in two
    assert 'id="fig-all-samples"' in two


# --------------------------------------------------------------------------- figure style


def test_save_figure_prints_at_a_journal_width():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ionscale.report.style import DPI, SINGLE, png_size, save_figure

    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50), "o", label="points on the diagonal")
    ax.plot([0, 1], [1, 0], label="the other diagonal, with a long legend label")
    ax.legend(loc="center")
    ax.set_title("a title much longer than a single journal column can hold on one line")
    out = save_figure(fig)
    w, h, dpi = png_size(out["png"])
    assert dpi == pytest.approx(DPI, rel=1e-3)
    assert w == round(SINGLE * DPI)
    assert out["svg"].lstrip().startswith(b"<?xml")
    # the legend left the data, the title was wrapped to the axes
    assert ax.get_legend().get_bbox_to_anchor().y0 < ax.bbox.y0
    assert "\n" in ax.get_title()
    assert not plt.fignum_exists(fig.number)


# --------------------------------------------------------------------------- headline numbers


def test_key_results_of_interdiffusion_kmc_and_correlative_analyses(tmp_path):
    from ionscale.report import build_context, headline_rank

    def value(name, v, unit="", symbol=None):
        return Value(name, v, 0.02 * v, unit, symbol or name)

    def result(*values):
        return Result(values={v.name: v for v in values},
                      provenance=Provenance.build("custom"), title="t")

    path = tmp_path / "k.sqlite"
    with Store(path) as db:
        db.add_sample("couple", "Ti-Zr")
        db.save_analysis("couple", "interdiffusion.matano", result(
            value("D_0.5", 3e-13, "m^2/s", "D̃(X=0.5)"), value("x_matano", 1e-4, "m"),
            value("C_left", 0.1)), cache_key="m", label="matano",
            conditions={"temperature": 1273.15})
        db.save_analysis("couple", "interdiffusion.fit", result(
            value("D_knot1", 2e-15, "m^2/s", "D̃(X=0.05)"),
            value("D_knot2", 3e-15, "m^2/s", "D̃(X=0.5)"), value("x0", 3e-4, "m")),
            cache_key="k", label="knots only", conditions={"temperature": 1373.15})
        db.add_sample("kmc", "lattice gas")
        db.save_analysis("kmc", "kmc.run", result(
            value("D_tracer_Li", 4e-10, "m^2/s", "D*(Li)"),
            value("D_tracer_x_Li", 4e-10, "m^2/s", "D*_x(Li)"),
            value("D_sigma", 5e-10, "m^2/s", "D_σ"), value("f", 0.84), value("f_I", 1.06),
            value("H_R", 0.8), value("Gamma", 1e9, "1/s")), cache_key="r", label="run")
        db.save_analysis("kmc", "kmc.series", result(
            value("D_tracer@500K", 1e-10, "m^2/s", "D*"), value("f@500K", 0.84)),
            cache_key="s", label="series")
        db.add_sample("cathode", "correlative")
        db.save_analysis("cathode", "correlative.phases", result(
            value("fraction_LLZTO", 0.36, symbol="φ(LLZTO)"),
            value("6Li_LLZTO", 0.3, symbol="6Li fraction (LLZTO)"),
            value("contact_LLZTO_LCO", 1e-9, "m^2"), value("unassigned", 0.01)),
            cache_key="p", label="phases")
        db.save_analysis("cathode", "correlative.stats", result(
            value("r", 0.17, symbol="Pearson r"), value("p_value", 0.01)),
            cache_key="c", label="stats")
    with Store(path, readonly=True) as db:
        context = build_context(db, "k")
    key = {s["name"]: [(k["name"], k["method"], k["T"]) for k in s["key_results"]]
           for s in context["samples"]}
    # a D̃ at a named composition; a fit's knots only when it gives no such D̃
    assert key["couple"] == [("D_0.5", "interdiffusion.matano", "1000"),
                             ("D_knot1", "interdiffusion.fit", "1100"),
                             ("D_knot2", "interdiffusion.fit", "1100")]
    # kMC: species suffixes yes, axis components and f_I no; a series' @T values at their T
    assert [n for n, _, _ in key["kmc"]] == ["D_tracer_Li", "D_tracer@500K", "D_sigma", "H_R",
                                             "f", "f@500K"]
    assert ("D_tracer@500K", "kmc.series", "226.9") in key["kmc"]
    assert [n for n, _, _ in key["cathode"]] == ["fraction_LLZTO", "6Li_LLZTO", "r"]
    assert headline_rank("D_tracer_x") is None and headline_rank("contact_a_b") is None
    assert headline_rank("D_knot3")[0] > headline_rank("D_0.25")[0]
    # every sample shows up side by side
    compare = {row["symbol"] for row in context["comparison"]["rows"]}
    assert {"D̃(X=0.5)", "D*(Li)", "D_σ", "Pearson r", "φ(LLZTO)"} <= compare
