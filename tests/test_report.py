"""The HTML report: self-contained, one embedded PNG per figure, values with errors and units."""

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

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


def test_report_is_self_contained(html):
    assert html.lstrip().lower().startswith("<!doctype html>")
    low = html.lower()
    assert "<script" not in low
    assert "<link" not in low
    assert "@import" not in low
    assert "url(" not in low
    # nothing is loaded from elsewhere: no src/href/srcset pointing to another file or server
    for attr, value in re.findall(r'\b(src|href|srcset|poster|data)\s*=\s*"([^"]*)"', html, re.I):
        assert value.startswith(("data:image/png;base64,", "#")), (attr, value[:60])
    assert "http://" not in low and "https://" not in low


def test_figures_are_embedded_pngs(run, html):
    sources = img_sources(html)
    with Store(run.database, create=False) as db:
        analyses = db.analyses()
        with_figures = [a for a in analyses if db.figures(a["id"])]
        stored = [png for a in analyses for png in db.figures(a["id"]).values()]
    assert len(analyses) == 3 and len(with_figures) == 3
    assert len(sources) == len(stored) == 3
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
               "sub"}

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
    assert parser.seen["img"] == 3
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
    assert len(img_sources(text)) == 3  # one per stored figure, none for the new analysis

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
