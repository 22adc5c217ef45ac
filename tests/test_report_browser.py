"""The HTML report in a real browser (headless Chromium driven by Playwright).

A small store is filled in the test (two samples, a fitted profile, an Arrhenius fit, a
tortuosity map, values at several temperatures, one result with a warning and one failed),
its report is opened at desktop and phone widths, and the test checks: no console errors,
every image decoded, the contents links scroll to their targets, the search filters, no
sideways scrolling at 420 px, the print stylesheet keeps analyses whole. Screenshots go to the
test's tmp folder and to /tmp/report-screens/.

Needs the Debian ``chromium`` package (``apt-get install chromium``) and Playwright
(``pip install playwright``; no browser download: the system Chromium is used). Skipped with
that message when either is missing.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

SCREENS = Path("/tmp/report-screens")
HOW = ("headless Chromium is needed: `apt-get install chromium` (Debian package) and "
       "`pip install playwright` (set IONSCALE_CHROMIUM to use another Chromium binary)")


def _chromium() -> str | None:
    for candidate in (os.environ.get("IONSCALE_CHROMIUM"), "/usr/lib/chromium/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason=HOW)
    executable = _chromium()
    if executable is None:
        pytest.skip(HOW)
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=executable,
                                  args=["--no-sandbox", "--disable-gpu"])
        except Exception as exc:  # a Chromium that cannot start here
            pytest.skip(f"Chromium at {executable} did not start ({exc}); {HOW}")
        yield b
        b.close()


def _fill_store(path: Path) -> None:
    from ionscale.datasets.synthetic_volumes import blobs
    from ionscale.microstructure import tortuosity_factor
    from ionscale.report.style import render
    from ionscale.results import Provenance, Result, Value
    from ionscale.status import Diagnostic
    from ionscale.store import Store
    from ionscale.tracer import Profile, fit_profile
    from ionscale.transport import fit_arrhenius

    def save(db, sample, method, result, label, conditions=None, figure=True):
        figures = None
        if figure:
            out = render(result)
            figures = {"main": out["png"], "main.svg": out["svg"]}
        return db.save_analysis(sample, method, result, cache_key=f"{sample}/{label}",
                                label=label, conditions=conditions or {}, figures=figures)

    rng = np.random.default_rng(5)
    x = np.linspace(0, 40e-6, 80)
    from scipy.special import erfc

    D, t = 3e-13, 110 * 3600.0
    c = 0.05 + 0.9 * erfc(x / (2 * np.sqrt(D * t)))
    sigma = np.full(x.size, 0.01)
    profile = Profile(x, c + sigma * rng.standard_normal(x.size), sigma, source="line.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_profile(profile, model="erfc", time=t)
    T = np.array([300.0, 350.0, 400.0, 450.0, 500.0])
    Dt = 1e-6 * np.exp(-0.45 / (8.617e-5 * T))
    arr = fit_arrhenius(T, Dt * (1 + 0.03 * rng.standard_normal(T.size)), y_err=0.03 * Dt)
    tau = tortuosity_factor(blobs((24, 24, 24), porosity=0.45, seed=2), True, 0,
                            voxel_size="0.5 um", return_field=True)

    A, B = "LLTO <A>", "Pellet B"
    with Store(path) as db:
        db.add_sample(A, "pellet <i>A</i>", grain_size=16e-6, gb_width=5e-10)
        db.add_sample(B, "sintered pellet, 255 MPa", thickness=2.1e-3, diameter=8e-3)
        db.add_measurement(A, "line-22C", "sims-line",
                           conditions={"temperature": 295.15, "time": 396000.0})
        save(db, A, "tracer.profile", fit, "erfc fit after 110 h",
             {"temperature": 295.15, "time": 396000.0})
        save(db, A, "transport.arrhenius", arr, "Arrhenius of D*")
        for Ti, Di in zip(T, Dt, strict=True):
            r = Result(values={"D": Value("D", float(Di), 0.05 * float(Di), "m^2/s", "D*")},
                       provenance=Provenance.build("custom.point"), title="tabulated D*")
            save(db, A, "tracer.profile", r, f"D* at {Ti - 273.15:.0f} °C",
                 {"temperature": float(Ti)}, figure=False)
        for i, Ti in enumerate(T[:3]):
            s = 1e-2 * np.exp(-0.35 / (8.617e-5 * Ti))
            r = Result(values={"sigma_bulk": Value("sigma_bulk", s, 0.02 * s, "S/m", "σ_bulk"),
                               "n_points": Value("n_points", 42.0, 0.0, "", "points")},
                       provenance=Provenance.build("custom.eis"), title="bulk conductivity")
            if i == 1:
                r = r.with_diagnostics(Diagnostic("at-bound", "C_bulk ended at its bound"))
            save(db, B, "eis.fit", r, f"σ at {Ti - 273.15:.0f} °C", {"temperature": float(Ti)},
                 figure=False)
        save(db, B, "micro.tortuosity", tau, "Pore tortuosity factor")
        bad = Result(values={"D": Value("D", 5e20, 1.0, "m^2/s", "D*")},
                     provenance=Provenance.build("custom.bad"), title="runaway fit")
        save(db, B, "tracer.profile", bad, "runaway erfc fit", {"temperature": 600.0},
             figure=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from ionscale.report import write_report
    from ionscale.store import Store

    folder = tmp_path_factory.mktemp("report-browser")
    _fill_store(folder / "results.sqlite")
    with Store(folder / "results.sqlite", create=False) as db:
        statuses = {a["label"]: a["status"] for a in db.analyses()}
    assert statuses["runaway erfc fit"] == "failed"
    assert statuses["σ at 77 °C"] == "warning"
    return write_report(folder / "results.sqlite", folder / "report.html", title="Browser test")


def _screens(tmp_path: Path) -> list[Path]:
    out = [tmp_path]
    try:
        SCREENS.mkdir(parents=True, exist_ok=True)
        out.append(SCREENS)
    except OSError:
        pass
    return out


def _shot(page, tmp_path, name, **kw):
    for folder in _screens(tmp_path):
        page.screenshot(path=str(folder / name), **kw)


def _open(browser, report, width, height=900):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    return page, errors


def test_desktop_images_links_and_search(browser, report, tmp_path):
    page, errors = _open(browser, report, 1280)
    # every image decoded
    images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete, "
                           "i.naturalWidth, i.naturalHeight])")
    assert len(images) >= 4
    for alt, complete, w, h in images:
        assert complete and w > 0 and h > 0, alt
    # downloads: PNG links point at the figure's data URI, SVG and CSV links are data URIs
    hrefs = page.evaluate("Array.from(document.querySelectorAll('a[download]'))"
                          ".map(a => [a.getAttribute('download'), a.href.slice(0, 30)])")
    kinds = {name.rsplit('.', 1)[-1] for name, _ in hrefs}
    assert {"png", "svg", "csv"} <= kinds
    for name, href in hrefs:
        assert href.startswith("data:"), (name, href)
    _shot(page, tmp_path, "desktop-top.png")

    # the contents is sticky and every link scrolls its target into view
    links = page.evaluate("Array.from(document.querySelectorAll('nav.toc a[href^=\"#\"]'))"
                          ".map(a => a.getAttribute('href'))")
    assert len(links) >= 12
    page.evaluate("document.documentElement.style.scrollBehavior = 'auto'")
    for href in links:
        page.evaluate("window.scrollTo(0, 0)")
        page.click(f"nav.toc a[href='{href}']")
        page.wait_for_function(
            "h => { const r = document.querySelector(h).getBoundingClientRect();"
            " const bottom = window.scrollY + window.innerHeight >="
            " document.documentElement.scrollHeight - 2;"
            " return r.top >= -2 && r.top < window.innerHeight * (bottom ? 0.95 : 0.5); }",
            arg=href, timeout=5000)
        nav_top = page.evaluate("document.querySelector('nav.toc').getBoundingClientRect().top")
        assert abs(nav_top) < 1, "the contents scrolled away"
    analysis_links = [h for h in links if h.startswith("#analysis-")]
    page.click(f"nav.toc a[href='{analysis_links[-1]}']")
    page.wait_for_timeout(400)
    _shot(page, tmp_path, "desktop-analysis.png")

    # search: by method, by label, by value; Escape clears
    total = page.evaluate("document.querySelectorAll('.analysis').length")
    visible = "document.querySelectorAll('.analysis:not([hidden])').length"
    page.fill("#search", "micro.tortuosity")
    assert page.evaluate(visible) == 1
    assert "1 of" in page.text_content("#match-count")
    page.fill("#search", "runaway")
    assert page.evaluate(visible) == 1
    page.fill("#search", "σ_bulk")
    assert page.evaluate(visible) == 3
    hidden_nav = page.evaluate("document.querySelectorAll('nav.toc li[data-for]:not([hidden])')"
                               ".length")
    assert hidden_nav == 3
    page.fill("#search", "at-bound")  # a diagnostic's code
    assert page.evaluate(visible) == 1
    _shot(page, tmp_path, "desktop-search.png")
    page.fill("#search", "no such thing anywhere")
    assert page.evaluate(visible) == 0
    page.press("#search", "Escape")
    assert page.evaluate(visible) == total
    assert errors == []
    page.close()


def test_phone_width_has_no_sideways_scrolling(browser, report, tmp_path):
    page, errors = _open(browser, report, 420, 860)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 420
    # every table that is wider than the screen scrolls inside its own box
    for _, box in page.evaluate(
            "Array.from(document.querySelectorAll('table')).map(t => "
            "[t.scrollWidth, t.closest('.table-wrap') ? "
            "t.closest('.table-wrap').clientWidth : 0])"):
        assert box <= 420
    # the key-results tables fit the screen without scrolling sideways inside their box:
    # one block per number, the analysis link included
    key = page.evaluate("Array.from(document.querySelectorAll('table.key-results')).map(t => "
                        "[t.scrollWidth, t.closest('.table-wrap').clientWidth, "
                        "t.getBoundingClientRect().right])")
    assert len(key) == 2
    for scroll, box, right in key:
        assert scroll <= box + 1 and right <= 420
    images = page.evaluate("Array.from(document.images).map(i => i.getBoundingClientRect()"
                           ".width)")
    assert images and max(images) <= 420
    _shot(page, tmp_path, "phone-top.png")
    page.evaluate("document.querySelector('.analysis').scrollIntoView()")
    _shot(page, tmp_path, "phone-analysis.png")
    assert errors == []
    page.close()


def test_print_keeps_analyses_whole(browser, report, tmp_path):
    page, errors = _open(browser, report, 1280)
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
    rule = page.evaluate("getComputedStyle(document.querySelector('.analysis')).breakInside")
    assert rule == "avoid"
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF"
    for folder in _screens(tmp_path):
        (folder / "report-print.pdf").write_bytes(pdf)
    assert errors == []
    page.close()
