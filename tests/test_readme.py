"""Every fenced code block of README.md runs (issue 9: the README's own campaign example failed).

The README says that its commands and snippets run as shown in ``demo-output/`` after
``ionscale demo``. The test builds that folder once (``write_demo_files``: the demo's
measurement files, without running the demo's own campaign) plus every campaign file the README
asks the reader to save, then runs each block there, one test case per block, its id naming the
README section:

* ``python``: executed; the blocks of one ``##`` section share a namespace (a later block may
  use an earlier one's variables), so a block first runs the earlier blocks of its section
  unless they have already run. Tracebacks point at README.md lines.
* ``bash`` / ``sh`` / ``console``: each ``ionscale ...`` line (``\\`` continuations joined,
  ``#`` comments dropped, globs expanded as a shell would) runs in-process through
  ``ionscale.cli.main`` and must exit with 0. ``printf``/``echo`` lines that write an input
  file run through ``sh``. ``make TARGET`` lines are not run (they install a virtual
  environment) but the Makefile must have the target; ``pip install``, ``git clone`` and
  ``cd`` lines are not run either. Any other line fails the test: teach it here.
* ``toml`` with a ``[campaign]`` table: saved under the name the README's ``ionscale run``
  line gives it and run with ``run_campaign``; no analysis may fail or warn. Other TOML must
  parse.
* ``text``: output samples and diagrams, not run. A fence without a language fails.
"""

from __future__ import annotations

import glob
import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

RUN_LANGS = {"python", "bash", "sh", "console", "toml"}
EXEMPT_LANGS = {"text"}
#: shell commands that only write a small input file (run through sh)
SHELL_WRITERS = ("printf ", "echo ")


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int          # README line of the first code line
    section: str       # the enclosing "## " heading
    heading: str       # the nearest heading ("## " or "### ")
    id: str


def _slug(text: str) -> str:
    text = re.sub(r"\(.*?\)", "", text)  # "Impedance spectroscopy (`ionscale.impedance`)"
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-") or "top"


def _blocks() -> list[Block]:
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks, counts = [], {}
    section = heading = "top"
    i = 0
    while i < len(lines):
        text = lines[i]
        if text.startswith("## "):
            section = heading = text[3:].strip()
        elif text.startswith("### "):
            heading = text[4:].strip()
        elif text.startswith("```"):
            lang = text[3:].strip().lower()
            start = i + 1
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            assert i < len(lines), f"README.md:{start}: unclosed code fence"
            key = (_slug(heading), lang or "nolang")
            counts[key] = counts.get(key, 0) + 1
            bid = f"{key[0]}-{key[1]}{counts[key]}"
            blocks.append(Block(lang, "\n".join(lines[start:i]), start + 1, section, heading,
                                bid))
        i += 1
    return blocks


BLOCKS = _blocks()


def _campaign_name(block: Block) -> str:
    """The file name a campaign block is saved as: the section's ``ionscale run X.toml``."""
    names = [m.group(1) for b in BLOCKS if b.section == block.section and b.lang != "toml"
             for m in re.finditer(r"ionscale run (\S+\.toml)", b.code)]
    assert names, (f"README.md:{block.line}: campaign block without an `ionscale run FILE.toml` "
                   "line in its section saying what to save it as")
    return names[0]


def _is_campaign(block: Block) -> bool:
    return block.lang == "toml" and "campaign" in tomllib.loads(block.code)


# -- the demo-output folder the README's blocks run in ----------------------------------------

_STATE: dict = {"namespaces": {}, "done": set(), "campaigns": {}}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """``demo-output/`` as ``ionscale demo`` leaves it (files only), with the README campaigns."""
    from ionscale.datasets.demo import write_demo_files

    out = tmp_path_factory.mktemp("demo-output")
    write_demo_files(out)
    for block in BLOCKS:
        if _is_campaign(block):
            (out / _campaign_name(block)).write_text(block.code + "\n", encoding="utf-8")
    return out


@pytest.fixture
def in_workspace(workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("IONSCALE_DEBUG", "1")   # a bug in a command raises with its traceback
    monkeypatch.setenv("MPLBACKEND", "Agg")
    yield workspace
    import matplotlib.pyplot as plt

    plt.close("all")


def _run_campaign(path: Path):
    """Run a README campaign once per test session; later calls return the first summary."""
    from ionscale.campaign import run_campaign

    if path not in _STATE["campaigns"]:
        _STATE["campaigns"][path] = run_campaign(path, progress=False)
    return _STATE["campaigns"][path]


# -- runners --------------------------------------------------------------------------------


def _exec_python(block: Block) -> None:
    """Run the earlier python blocks of the section (once), then this one, in one namespace."""
    ns = _STATE["namespaces"].setdefault(block.section, {"__name__": "__readme__"})
    for earlier in BLOCKS:
        if earlier.section != block.section or earlier.lang != "python":
            continue
        if earlier == block:
            break
        if earlier.id not in _STATE["done"]:
            _exec_code(earlier, ns)
    _exec_code(block, ns)


def _exec_code(block: Block, ns: dict) -> None:
    # pad with blank lines: tracebacks then give the block's own README.md line numbers
    code = compile("\n" * (block.line - 1) + block.code, str(README), "exec")
    exec(code, ns)
    _STATE["done"].add(block.id)


def _shell_lines(code: str) -> list[tuple[str, str]]:
    """(command line, as written) per logical line: continuations joined, prompts dropped."""
    out, pending = [], ""
    for raw in code.splitlines():
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line and not line.startswith("#"):
            out.append(line)
    assert not pending, "a continued line without its end"
    return out


def _run_shell(block: Block, capsys) -> None:
    from ionscale.cli import main

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for line in _shell_lines(block.code):
        where = f"README.md:{block.line} ({block.heading}): {line}"
        words = shlex.split(line, comments=True)
        if words[0] == "make":
            # not run: it creates .venv and installs (CI runs `make test` itself)
            for target in words[1:]:
                assert re.search(rf"^{re.escape(target)}\s*:", makefile, re.M), (
                    f"{where}: the Makefile has no target {target!r}")
            continue
        if words[0] == "cd" or words[:2] in (["pip", "install"], ["git", "clone"]):
            continue  # setting up, not ionscale: not run
        if line.startswith(SHELL_WRITERS):
            proc = subprocess.run(["sh", "-c", line], capture_output=True, text=True)
            assert proc.returncode == 0, f"{where}\n{proc.stderr}"
            continue
        assert words[0] == "ionscale", f"{where}: a line the README test cannot run; teach it"
        args = []
        for word in words[1:]:  # expand globs as the shell would
            matches = sorted(glob.glob(word)) if any(c in word for c in "*?[") else []
            args += matches or [word]
        code = main(args)
        captured = capsys.readouterr()
        assert code == 0, (f"{where}\nexit code {code}\n{captured.out[-3000:]}\n"
                           f"{captured.err[-3000:]}")


def _run_toml(block: Block) -> None:
    data = tomllib.loads(block.code)
    if "campaign" not in data:
        return  # parsed: that is all a non-campaign TOML snippet can show
    summary = _run_campaign(Path.cwd() / _campaign_name(block))
    assert not summary.failed, f"README.md:{block.line}: {summary}"
    assert not summary.warnings, f"README.md:{block.line}: {summary}"
    n_analyses = sum(len(s.get("analyses", [])) for s in data.get("samples", []))
    assert len(summary.ran) + len(summary.skipped) == n_analyses, str(summary)


# -- tests ----------------------------------------------------------------------------------


def test_readme_blocks_found():
    langs = {b.lang for b in BLOCKS}
    assert {"python", "bash", "toml"} <= langs
    assert sum(b.lang == "python" for b in BLOCKS) >= 10


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block(block, request, capsys):
    assert block.lang in RUN_LANGS | EXEMPT_LANGS, (
        f"README.md:{block.line}: fence language {block.lang!r}: use python, bash or toml "
        "(run by this test) or text (output samples)")
    if block.lang in EXEMPT_LANGS:
        pytest.skip("output sample or diagram (```text)")
    request.getfixturevalue("in_workspace")
    if block.lang == "python":
        for b in BLOCKS:  # a snippet reading a README campaign's database: run that first
            if _is_campaign(b) and tomllib.loads(b.code)["campaign"]["database"] in block.code:
                _run_campaign(Path.cwd() / _campaign_name(b))
        _exec_python(block)
    elif block.lang == "toml":
        _run_toml(block)
    else:
        _run_shell(block, capsys)
