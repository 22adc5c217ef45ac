"""Screenshots and browser checks of an ionscale HTML report (issue 11).

Opens a report in headless Chromium (Playwright driving the system ``chromium`` package, as
``tests/test_report_browser.py`` does; no browser is downloaded) and saves into OUT:

- ``desktop-1400-top.png`` / ``desktop-1400-full.png``: 1400 px wide, first screen and full page
- ``phone-420-top.png`` / ``phone-420-full.png``: 420 px wide, likewise
- ``phone-420-analysis.png``: 420 px, the first analysis (usually the widest content)
- ``report-print.pdf``: the print stylesheet, A4

and checks, at both widths: no console errors, every ``<img>`` decoded (naturalWidth > 0), every
contents link's target exists, and at 420 px no sideways scrolling (document scrollWidth ≤
viewport width + 1) with the elements that stick out named. The full-page PNGs of a long report
are cut at ``--max-height`` CSS pixels (Chromium cannot paint taller images).

    python benchmarks/report_screenshots.py report.html OUT [--max-height 16000]

Exit status 0 when every check passes, 1 otherwise (the problems are printed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

_OVERFLOW_JS = """
w => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= w + 1) continue;
    // content inside a box that scrolls sideways on its own is fine
    let p = el.parentElement, inside = false;
    while (p && p !== document.body) {
      const s = getComputedStyle(p);
      if ((s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden')
          && p.getBoundingClientRect().right <= w + 1) { inside = true; break; }
      p = p.parentElement;
    }
    if (inside || el.closest('[hidden]')) continue;
    const id = el.id ? '#' + el.id : '';
    const cls = el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    out.push(el.tagName.toLowerCase() + id + cls + ' right=' + Math.round(r.right) + ' '
             + JSON.stringify((el.textContent || '').trim().slice(0, 60)));
  }
  return out.slice(0, 20);
}
"""


def chromium() -> str | None:
    """The system Chromium (``IONSCALE_CHROMIUM`` first), or None."""
    for candidate in (os.environ.get("IONSCALE_CHROMIUM"), "/usr/lib/chromium/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _open(browser, url: str, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_load_state("load")
    page.evaluate("document.documentElement.style.scrollBehavior = 'auto'")
    return page, errors


def _full(page, path: Path, max_height: int) -> None:
    height = page.evaluate("document.documentElement.scrollHeight")
    width = page.viewport_size["width"]
    if height <= max_height:
        page.screenshot(path=str(path), full_page=True)
    else:
        page.screenshot(path=str(path), full_page=True,
                        clip={"x": 0, "y": 0, "width": width, "height": max_height})


def _check_page(page, errors: list[str], width: int, problems: list[str]) -> dict:
    tag = f"{width} px"
    images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete, "
                           "i.naturalWidth, i.naturalHeight])")
    bad = [alt for alt, complete, w, h in images if not (complete and w > 0 and h > 0)]
    if bad:
        problems.append(f"{tag}: {len(bad)} image(s) not decoded: {bad[:5]}")
    links = page.evaluate("Array.from(document.querySelectorAll('nav.toc a[href^=\"#\"]'))"
                          ".map(a => a.getAttribute('href'))")
    missing = page.evaluate("hs => hs.filter(h => !document.getElementById(h.slice(1)))", links)
    if missing:
        problems.append(f"{tag}: {len(missing)} contents link(s) without a target: "
                        f"{missing[:5]}")
    anchors = page.evaluate("Array.from(document.querySelectorAll('main a[href^=\"#\"]'))"
                            ".map(a => a.getAttribute('href')).filter(h => h.length > 1)")
    dangling = sorted(set(page.evaluate(
        "hs => hs.filter(h => !document.getElementById(h.slice(1)))", anchors)))
    if dangling:
        problems.append(f"{tag}: {len(dangling)} in-page link(s) without a target: "
                        f"{dangling[:5]}")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    overflow = []
    if scroll_width > width + 1:
        overflow = page.evaluate(_OVERFLOW_JS, width)
        problems.append(f"{tag}: page scrolls sideways (scrollWidth {scroll_width}); "
                        f"sticking out: {overflow}")
    if errors:
        problems.append(f"{tag}: console errors: {errors[:5]}")
    return {"width": width, "images": len(images), "undecoded": len(bad),
            "contents_links": len(links), "missing_targets": len(missing),
            "in_page_links": len(anchors), "dangling_links": len(dangling),
            "scroll_width": scroll_width,
            "page_height": page.evaluate("document.documentElement.scrollHeight"),
            "console_errors": list(errors), "overflowing": overflow}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report", type=Path, help="the report's HTML file")
    ap.add_argument("out", type=Path, help="folder for the PNGs, the PDF and checks.json")
    ap.add_argument("--max-height", type=int, default=16000,
                    help="cut full-page screenshots at this many CSS pixels (default 16000)")
    args = ap.parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("needs Playwright: pip install playwright (no browser download: the system "
              "Chromium is used)", file=sys.stderr)
        return 2
    exe = chromium()
    if exe is None:
        print("needs Chromium: apt-get install chromium (or set IONSCALE_CHROMIUM)",
              file=sys.stderr)
        return 2
    if not args.report.is_file():
        print(f"no such report: {args.report}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    url = args.report.resolve().as_uri()
    problems: list[str] = []
    summary: dict = {"report": str(args.report.resolve()), "chromium": exe, "pages": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        try:
            page, errors = _open(browser, url, 1400, 900)
            summary["pages"].append(_check_page(page, errors, 1400, problems))
            page.screenshot(path=str(args.out / "desktop-1400-top.png"))
            _full(page, args.out / "desktop-1400-full.png", args.max_height)
            page.close()

            page, errors = _open(browser, url, 420, 860)
            summary["pages"].append(_check_page(page, errors, 420, problems))
            page.screenshot(path=str(args.out / "phone-420-top.png"))
            _full(page, args.out / "phone-420-full.png", args.max_height)
            if page.evaluate("document.querySelector('.analysis') !== null"):
                page.evaluate("document.querySelector('.analysis').scrollIntoView()")
                page.screenshot(path=str(args.out / "phone-420-analysis.png"))
            page.close()

            page, errors = _open(browser, url, 1400, 900)
            page.emulate_media(media="print")
            pdf = page.pdf(format="A4", print_background=True)
            (args.out / "report-print.pdf").write_bytes(pdf)
            if pdf[:4] != b"%PDF":
                problems.append("print: not a PDF")
            if errors:
                problems.append(f"print: console errors: {errors[:5]}")
            summary["pdf_bytes"] = len(pdf)
            page.close()
        finally:
            browser.close()
    summary["problems"] = problems
    (args.out / "checks.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    for page in summary["pages"]:
        print(f"{page['width']:>5} px: {page['images']} images ({page['undecoded']} not "
              f"decoded), {page['contents_links']} contents links ({page['missing_targets']} "
              f"without target), scrollWidth {page['scroll_width']}, page height "
              f"{page['page_height']} px, {len(page['console_errors'])} console errors")
    print(f"print PDF: {summary['pdf_bytes']} bytes; files in {args.out}")
    if problems:
        print("PROBLEMS:")
        for line in problems:
            print(" -", line)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
