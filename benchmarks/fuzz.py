"""Fuzz every reader entry point with mutated copies of real and generated files.

Each input runs in a long-lived worker process that imports ionscale once, under an address-
space limit (``--memory``, default 4 GiB) and a per-input time limit (``--timeout``, default
10 s, enforced from the parent, so a hang inside C code is caught too). Outcomes:

``ok``           the reader returned
``input-error``  it raised an ionscale error (the wanted answer to a bad file)
``crash``        any other exception (a defect: the message is kept)
``hang``         no answer within the time limit (the worker is killed and restarted)
``killed``       the worker died (memory limit, signal)
``modified``     the input file changed while it was read (never allowed)

Seeds are the real files in ``../shared/data`` and small files the package generates; a
demo output folder (``--demo DIR``) adds the demo's files. Mutations: byte flips,
truncations, deleted/duplicated lines, inserted bytes, decimal commas, non-finite numbers,
huge numbers, re-encodings (UTF-16, Latin-1), empty files.

Usage::

    python benchmarks/fuzz.py --n 20000 --seed 1            # the long run (make fuzz)
    python benchmarks/fuzz.py --n 300 --seed 7 --json out.json

The short seeded run is part of the test suite (``tests/test_fuzz.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

#: reader name -> "module:function" called as function(path)
READERS = {
    "eis": "ionscale.io.eis:read_spectra",
    "sims-profile": "ionscale.io.sims:read_profile",
    "sims-map": "benchmarks.fuzz:_read_map",
    "pfg-table": "ionscale.io.nmr:read_pfg_table",
    "relaxation-table": "ionscale.io.nmr:read_relaxation_table",
    "topspin-relaxation": "ionscale.io.nmr:read_topspin_relaxation",
    "volume": "benchmarks.fuzz:_read_volume",
    "campaign": "ionscale.campaign:load_campaign",
    "store": "benchmarks.fuzz:_read_store",
    "cycling": "ionscale.io.cycling:read_cycling",
    "interdiffusion": "ionscale.io.interdiffusion:read_profile",
    "bruker-pfg": "benchmarks.fuzz:_read_bruker_pfg",
    "kmc-model": "ionscale.kmc.io:read_model",
    "cif": "ionscale.kmc.cif:read_cif_sites",
    "eds-map": "benchmarks.fuzz:_read_eds_map",
}


def _read_map(path):
    from ionscale.io.sims import read_map

    return read_map(path, pixel_size=1e-6, isotopes=["6Li"])


def _read_volume(path):
    from ionscale.io.volume import read_volume

    return read_volume(path, voxel_size=1e-6)


def _jcamp(path: Path, params: dict) -> None:
    lines = ["##TITLE= Parameter file, TopSpin 3.6.2", "##JCAMP-DX= 5.0",
             "##DATATYPE= Parameter Values", "##ORIGIN= Bruker BioSpin GmbH",
             "$$ written by ionscale's fuzz harness"]
    for key, value in params.items():
        if isinstance(value, str):
            lines.append(f"##${key}= <{value}>")
        elif isinstance(value, list):
            lines.append(f"##${key}= (0..{len(value) - 1})")
            lines += [" ".join(str(v) for v in value[k:k + 8]) for k in range(0, len(value), 8)]
        else:
            lines.append(f"##${key}= {value}")
    path.write_text("\n".join(lines + ["##END="]) + "\n", encoding="latin-1")


def write_bruker_pfg(folder: Path) -> Path:
    """A small Bruker pseudo-2D PFG experiment (acqus, acqu2s, difflist, ser): 8 gradients,
    256 points, one Lorentzian line decaying with b; returns its EXPNO folder."""
    import numpy as np

    d = folder / "12"
    d.mkdir(parents=True, exist_ok=True)
    D, P = [0.0] * 64, [0.0] * 64
    D[20], D[1], P[1], P[30] = 0.1, 5.0, 3.5, 1000
    td, sw, bf1 = 256, 10000.0, 155.5022
    _jcamp(d / "acqus", {"AQ_mod": 3, "BF1": bf1, "BYTORDA": 0, "D": D, "DECIM": 16,
                         "DSPFVS": 20, "DTYPA": 0, "GRPDLY": 0, "NUC1": "7Li", "O1": 0,
                         "P": P, "PULPROG": "ledbpgp2s", "SFO1": bf1, "SW_h": sw, "TD": td,
                         "TE": 393.0, "GPZ": [0] * 6 + [100] + [0] * 25})
    g = np.linspace(20, 620, 8)
    _jcamp(d / "acqu2s", {"NUC1": "off", "TD": g.size, "SW_h": 1, "SFO1": bf1})
    (d / "difflist").write_text("".join(f"{v:.6f}\n" for v in g), encoding="ascii")
    t = np.arange(td // 2) / sw
    out = np.zeros((g.size, td))
    for i, gi in enumerate(g):
        fid = 2e6 * np.exp(-(gi / 400.0) ** 2) * np.exp(2j * np.pi * 500.0 * t - t / 5e-3)
        out[i, 0::2], out[i, 1::2] = fid.real, fid.imag
    (d / "ser").write_bytes(np.round(out).astype("<i4").tobytes())
    return d


def _read_bruker_pfg(path):
    """A mutated file of a Bruker experiment (``x.acqus``, ``x.acqu2s``, ``x.difflist``) read
    in a copy of the generated experiment, in place of the file its suffix names."""
    from ionscale.io.nmr import read_bruker_pfg

    path = Path(path)
    template = path.parent / "bruker-template" / "12"
    if not template.is_dir():
        write_bruker_pfg(template.parent)
    case = path.parent / "bruker-case"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(template, case)
    shutil.copyfile(path, case / path.suffix[1:])
    return read_bruker_pfg(case)


def _read_eds_map(path):
    from ionscale.imaging.eds import read_eds_map

    return read_eds_map(path, elements=["Zr"], pixel_size="81.4 nm")


def _read_store(path):
    """A reading command's view of a results database: every table it lists."""
    from ionscale.store import Store

    with Store(path, readonly=True) as db:
        db.results()
        for a in db.analyses():
            db.analysis(a["id"])
        db.measurements()


# --------------------------------------------------------------------------- seeds


@dataclass(frozen=True)
class Seed:
    reader: str
    path: Path


def _generated_seeds(folder: Path) -> list[Seed]:
    """Small files written by the package's own generators (no shared data needed)."""
    import numpy as np

    from ionscale.datasets import synthetic

    out: list[Seed] = []
    decay = synthetic.pfg_decay(2.6e-12, 2.6e-12, temperature=295.15, seed=1)
    synthetic.write_pfg_table(folder / "pfg.txt", decay)
    out.append(Seed("pfg-table", folder / "pfg.txt"))
    t1 = synthetic.t1_curve(np.linspace(250.0, 450.0, 9), seed=2)
    synthetic.write_relaxation_table(folder / "t1.txt", t1)
    out.append(Seed("relaxation-table", folder / "t1.txt"))
    counts = np.random.default_rng(3).poisson(50, (12, 14))
    synthetic.write_count_map(folder / "map.txt", counts)
    out.append(Seed("sims-map", folder / "map.txt"))
    try:
        import tifffile

        vol = (np.random.default_rng(4).random((16, 20, 24)) > 0.5).astype(np.uint8)
        tifffile.imwrite(folder / "vol.tif", vol)
        out.append(Seed("volume", folder / "vol.tif"))
        np.save(folder / "vol.npy", vol)
        out.append(Seed("volume", folder / "vol.npy"))
    except ImportError:
        pass
    tau = [1e-3, 1e-2, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0]
    lines = ["Dataset : C:/Bruker/TopSpin/data/fuzz/3/pdata/1", "", "INTENSITY fit :",
             "I[t]=I[0]+P*exp(-t/T1)", "", f"{len(tau)} points for Integral 1, Integral Region "
             "from 4.500 to -2.500 ppm", "Results       Comp. 1", "I[0]     =    1.0000e+07",
             "P        =   -1.8600e+07", "T1       =     0.850s", "SD       =    3.1523e-03", "",
             "   Point      Tau           Expt           Calc        Difference"]
    for j, t in enumerate(tau):
        v = 1e7 * (1 - 1.86 * np.exp(-t / 0.85))
        lines.append(f"{j + 1:7d}   {t:9.4f}s  {v:13.4e}  {v:13.4e}  {0.0:13.4e}")
    (folder / "ct1t2.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.append(Seed("topspin-relaxation", folder / "ct1t2.txt"))
    bruker = write_bruker_pfg(folder / "bruker")
    for role in ("acqus", "acqu2s", "difflist"):
        shutil.copyfile(bruker / role, folder / f"experiment.{role}")
        out.append(Seed("bruker-pfg", folder / f"experiment.{role}"))
    from ionscale.kmc.io import write_demo_model

    for kind in ("lattice-gas", "walker", "couple"):
        out.append(Seed("kmc-model", write_demo_model(folder / f"kmc-{kind}.toml", kind)))
    (folder / "LiF.cif").write_text(
        "data_LiF\n_cell_length_a 4.0263(3)\n_cell_length_b 4.0263\n_cell_length_c 4.0263\n"
        "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\nloop_\n"
        "_space_group_symop_operation_xyz\n'x, y, z'\n'x, y+1/2, z+1/2'\n'x+1/2, y, z+1/2'\n"
        "'x+1/2, y+1/2, z'\n'-x, -y, -z'\nloop_\n_atom_site_label\n_atom_site_type_symbol\n"
        "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n_atom_site_occupancy\n"
        "Li1 Li1+ 0 0 0 1.0\nF1 F1- 0.5 0.5 0.5 1.0\n", encoding="ascii")
    out.append(Seed("cif", folder / "LiF.cif"))
    zr = np.random.default_rng(5).poisson(20, (24, 30))
    np.savetxt(folder / "eds_Zr.txt", zr, fmt="%d")
    out.append(Seed("eds-map", folder / "eds_Zr.txt"))
    store = folder / "results.sqlite"
    from ionscale.results import Provenance, Result, Value
    from ionscale.store import Store

    with Store(store) as db:
        for i in range(3):
            db.save_analysis("S", "t.x", Result(values={"D": Value("D", 1e-13 * (i + 1), 1e-14,
                                                                   "m^2/s")},
                                                provenance=Provenance.build("t.x")),
                             cache_key=f"k{i}", label=f"a{i}")
        db.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out.append(Seed("store", store))
    eis = SHARED / "eis" / "eisfitpython-s04147" / "s04147-140deg.txt"
    if eis.exists():
        shutil.copy(eis, folder / "s04147.txt")
        (folder / "campaign.toml").write_text(
            '[campaign]\nname = "fuzz"\n\n[[samples]]\nname = "pellet"\n\n'
            '[[samples.measurements]]\nname = "140C"\ntechnique = "eis"\n'
            'files = ["s04147.txt"]\nconditions = { temperature = "140 degC", '
            'thickness = "2.1 mm", diameter = "8 mm" }\n\n[[samples.analyses]]\n'
            'method = "eis.fit"\nmeasurements = ["140C"]\n'
            'parameters = { circuit = "p(R1,CPE1)-p(R2,CPE2)-CPE3" }\n', encoding="utf-8")
        out.append(Seed("campaign", folder / "campaign.toml"))
    return out


def _shared_seeds(folder: Path) -> list[Seed]:
    out: list[Seed] = []
    if not SHARED.is_dir():
        return out
    for p in sorted((SHARED / "eis").rglob("*")):
        if p.is_file() and not p.name.startswith(("LICENSE", "sample_info")):
            out.append(Seed("eis", p))
    for p in sorted((SHARED / "tracer").glob("*.txt")):
        out.append(Seed("sims-profile", p))
    for p in sorted((SHARED / "cycling").glob("hybrid-drt-CP_SSB.*")):
        out.append(Seed("cycling", p))
    for p in sorted((SHARED / "interdiffusion").glob("*.csv")):
        out.append(Seed("interdiffusion", p))
    tiff = SHARED / "microstructure" / "taufactor-electrode.tiff"
    if tiff.exists():
        try:  # a crop keeps every mutated read fast
            import tifffile

            tifffile.imwrite(folder / "electrode-crop.tif", tifffile.imread(tiff)[:24, :40, :40])
            out.append(Seed("volume", folder / "electrode-crop.tif"))
        except Exception:
            pass
    return out


def _demo_seeds(demo: Path) -> list[Seed]:
    out = []
    suffix_reader = {".dta": "eis", ".mpt": "eis", ".mpr": "eis", ".z": "eis",
                     ".tif": "volume", ".tiff": "volume", ".npy": "volume", ".h5": "volume",
                     ".sqlite": "store", ".toml": "campaign"}
    for p in sorted(demo.rglob("*")):
        if not p.is_file():
            continue
        reader = suffix_reader.get(p.suffix.lower())
        parts = {q.lower() for q in p.parts}
        if reader is None and p.suffix.lower() in (".txt", ".csv"):
            reader = ("eis" if "eis" in parts else "cycling" if "cycling" in parts else
                      "interdiffusion" if "interdiffusion" in parts else
                      "pfg-table" if "pfg" in p.name.lower() else
                      "relaxation-table" if "t1" in p.name.lower() else "sims-profile")
        if reader:
            out.append(Seed(reader, p))
    return out


# --------------------------------------------------------------------------- mutations

_NUMBER = re.compile(rb"[-+]?\d+\.\d+(?:[eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+")


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [data]


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One random mutation of ``data``: (name, mutated bytes)."""
    kind = rng.choice(["flip", "flip", "truncate", "truncate", "delete-line", "dup-line",
                       "insert", "decimal-comma", "non-finite", "huge", "encoding", "empty",
                       "swap-lines"])
    n = len(data)
    if kind == "flip" and n:
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(n)
            b[i] ^= 1 << rng.randrange(8)
        return kind, bytes(b)
    if kind == "truncate" and n:
        return kind, data[:rng.randrange(n)]
    if kind in ("delete-line", "dup-line", "swap-lines"):
        lines = _lines(data)
        i = rng.randrange(len(lines))
        if kind == "delete-line":
            del lines[i]
        elif kind == "dup-line":
            lines.insert(i, lines[i])
        else:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        return kind, b"".join(lines)
    if kind == "insert":
        i = rng.randrange(n + 1)
        return kind, data[:i] + os.urandom(rng.randint(1, 64)) + data[i:]
    if kind == "decimal-comma":
        return kind, _NUMBER.sub(lambda m: m.group(0).replace(b".", b","), data)
    if kind in ("non-finite", "huge"):
        found = list(_NUMBER.finditer(data))
        if not found:
            return "flip", mutate(data, rng)[1]
        m = rng.choice(found)
        new = rng.choice([b"nan", b"inf", b"-inf", b"1e400", b"NaN"]) if kind == "non-finite" \
            else rng.choice([b"1e300", b"2147483648", b"-1e300", b"1e-320", b"0"])
        return kind, data[:m.start()] + new + data[m.end():]
    if kind == "encoding":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return "flip", mutate(data, rng)[1]
        enc = rng.choice(["utf-16", "utf-16-le", "latin-1", "utf-32"])
        return f"encoding-{enc}", text.encode(enc, errors="replace")
    if kind == "empty":
        return kind, b""
    return "flip", data[::-1] if n else b"\x00"


# --------------------------------------------------------------------------- worker


def _worker(conn, memory: int) -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):
        pass
    import importlib
    import logging
    import warnings

    logging.disable(logging.WARNING)  # decoders' own log lines (tifffile) are not outcomes
    sys.path.insert(0, str(ROOT))
    warnings.simplefilter("ignore")
    from ionscale.errors import IonscaleError

    cache = {}
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        reader, path = job
        t0 = time.perf_counter()
        try:
            if reader not in cache:
                module, func = READERS[reader].split(":")
                cache[reader] = getattr(importlib.import_module(module), func)
            cache[reader](path)
            outcome, detail = "ok", ""
        except IonscaleError as exc:
            outcome, detail = "input-error", str(exc)[:300]
        except (ModuleNotFoundError, AttributeError) as exc:
            if reader not in cache:
                outcome, detail = "skipped", f"reader unavailable: {exc}"
            else:
                outcome, detail = "crash", _describe(exc)
        except BaseException as exc:  # noqa: BLE001 - classifying everything is the point
            outcome, detail = "crash", _describe(exc)
        conn.send((outcome, detail, time.perf_counter() - t0))


def _describe(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)
                  if "ionscale" in f.filename), tb[-1].name if tb else "?")
    return f"{type(exc).__name__} at {where}: {str(exc)[:200]}"


class Runner:
    """A worker process with a restart on hang or death."""

    def __init__(self, memory: int, timeout: float):
        self.memory, self.timeout = memory, timeout
        self.ctx = mp.get_context("spawn")
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.memory), daemon=True)
        self.proc.start()
        child.close()

    def run(self, reader: str, path: Path, first: bool = False) -> tuple[str, str, float]:
        self.conn.send((reader, str(path)))
        # the first call also imports ionscale and the reader's dependencies
        limit = self.timeout + (60.0 if first else 0.0)
        if self.conn.poll(limit):
            try:
                return self.conn.recv()
            except EOFError:
                pass
        alive = self.proc.is_alive()
        self.proc.kill()
        self.proc.join()
        self._start()
        if alive:
            return "hang", f"no answer within {self.timeout:g} s", limit
        return "killed", f"worker died (exit code {self.proc.exitcode})", limit

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_fuzz(n: int, seed: int, *, demo: Path | None = None, timeout: float = 10.0,
             memory: int = 4 << 30, readers: set[str] | None = None,
             progress: bool = False) -> dict:
    """Run ``n`` mutated inputs (spread over the seeds) and return the outcome table."""
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="ionscale-fuzz-"))
    try:
        seeds_dir = work / "seeds"
        seeds_dir.mkdir()
        seeds = _generated_seeds(seeds_dir) + _shared_seeds(seeds_dir)
        if demo is not None:
            seeds += _demo_seeds(Path(demo))
        if readers:
            seeds = [s for s in seeds if s.reader in readers]
        originals = {s.path: _sha(s.path) for s in seeds}
        table: dict[str, Counter] = defaultdict(Counter)
        problems: list[dict] = []
        runner = Runner(memory, timeout)
        first = True
        t_start = time.perf_counter()
        try:
            for i in range(n):
                s = seeds[i % len(seeds)]
                name, data = mutate(s.path.read_bytes(), rng)
                target = work / f"case{i % 8}{s.path.suffix}"
                target.write_bytes(data)
                before = hashlib.sha256(data).hexdigest()
                outcome, detail, elapsed = runner.run(s.reader, target, first)
                first = False
                if outcome != "skipped" and _sha(target) != before:
                    outcome, detail = "modified", "the input file changed"
                table[s.reader][outcome] += 1
                if outcome in ("crash", "hang", "killed", "modified"):
                    case = work.parent / f"ionscale-fuzz-case-{seed}-{i}{s.path.suffix}"
                    shutil.copy(target, case)
                    problems.append({"reader": s.reader, "seed_file": s.path.name,
                                     "mutation": name, "outcome": outcome, "detail": detail,
                                     "case": str(case)})
                if progress and (i + 1) % 200 == 0:
                    print(f"{i + 1}/{n} inputs, {time.perf_counter() - t_start:.0f} s",
                          file=sys.stderr)
        finally:
            runner.close()
        for s in seeds:  # the seeds themselves were never touched
            if _sha(s.path) != originals[s.path]:
                problems.append({"reader": s.reader, "seed_file": str(s.path),
                                 "outcome": "modified", "detail": "a seed file changed"})
        return {"n": n, "seed": seed, "seconds": time.perf_counter() - t_start,
                "table": {k: dict(v) for k, v in sorted(table.items())},
                "problems": problems}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def format_table(report: dict) -> str:
    cols = ["ok", "input-error", "crash", "hang", "killed", "modified", "skipped"]
    lines = [f"{'reader':20s} {'inputs':>7s} " + " ".join(f"{c:>11s}" for c in cols)]
    total = Counter()
    for reader, counts in report["table"].items():
        total.update(counts)
        lines.append(f"{reader:20s} {sum(counts.values()):7d} "
                     + " ".join(f"{counts.get(c, 0):11d}" for c in cols))
    lines.append(f"{'all':20s} {sum(total.values()):7d} "
                 + " ".join(f"{total.get(c, 0):11d}" for c in cols))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--demo", type=Path, help="a demo output folder to take seeds from too")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--memory", type=float, default=4.0, help="GiB per worker")
    ap.add_argument("--reader", action="append", help="only these readers")
    ap.add_argument("--json", type=Path, help="write the full report here")
    args = ap.parse_args(argv)
    report = run_fuzz(args.n, args.seed, demo=args.demo, timeout=args.timeout,
                      memory=int(args.memory * 2**30),
                      readers=set(args.reader) if args.reader else None, progress=True)
    print(format_table(report))
    print(f"{report['seconds']:.0f} s")
    for p in report["problems"][:50]:
        print(f"{p['outcome']:8s} {p['reader']:16s} {p.get('mutation', '')} "
              f"{p.get('seed_file', '')}: {p['detail']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
