"""Fuzz :func:`ionscale.io.volume.read_volume` with mutated copies of small volumes in every
format it reads (issue 10, "Hostile input").

Seeds are small volumes written by the package's own writer (:func:`write_volume`: ImageJ
TIFF, tifffile TIFF, HDF5, zarr v3, raw), files written the way other tools write them (Ilastik
HDF5, zarr v2, .npy, zipped TIFF stack and slices, a folder of TIFF slices) and a copy of the
real ``taufactor-electrode.tiff`` (the original is only read). Each input is one mutation of one
file of a seed (bit flips, overwritten bytes, a 1/2/4/8-byte integer set to 0, -1, 2³¹... in
the header or anywhere, truncation, inserted or deleted bytes, an empty file, numbers in JSON
metadata made huge, negative or zero).

Each input runs in a long-lived worker process under an address-space limit (``--memory``,
default 3 GiB) and a time limit (``--timeout``, default 10 s, enforced from the parent, so a
hang inside C code is caught too). Outcomes:

``ok``           read_volume returned
``input-error``  it raised InputError naming the input (the wanted answer to a bad file)
``unnamed``      it raised InputError whose message does not name the input
``crash``        any other exception (a defect: the message is kept)
``hang``         no answer within the time limit (the worker is killed and restarted)
``killed``       the worker died (memory limit, signal)
``modified``     the input changed while it was read (never allowed)

An answer that took more than half the time limit is also listed (``slow``), with its outcome.

Usage::

    python benchmarks/fuzz_volume.py --n 2000 --seed 1
    python benchmarks/fuzz_volume.py --n 200 --format hdf5 --json out.json
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
import struct
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
ELECTRODE = SHARED / "microstructure" / "taufactor-electrode.tiff"
VS = (50e-9, 20e-9, 10e-9)


# --------------------------------------------------------------------------- seeds


@dataclass(frozen=True)
class Seed:
    fmt: str  # the row of the table
    path: Path  # a file or a directory (zarr store, slice folder)
    kwargs: dict = field(default_factory=dict)  # read_volume arguments (raw: shape, dtype)


def _labels(shape, dtype="uint8", seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return np.asarray([0, 85, 170], dtype=dtype)[rng.integers(0, 3, shape)]


def make_seeds(folder: Path) -> list[Seed]:
    """Small volumes in every format read_volume reads."""
    import h5py
    import numpy as np
    import tifffile
    import zarr

    from ionscale.io.volume import write_volume

    lab = _labels((6, 16, 20))
    out: list[Seed] = []
    w = {"voxel_size": VS, "phases": {"pore": 0, "a": 85, "b": 170}}
    out.append(Seed("tiff", write_volume(lab, folder / "imagej-zlib.tif", **w)))
    out.append(Seed("tiff", write_volume(lab, folder / "imagej-plain.tif", compression=False,
                                         **w)))
    out.append(Seed("tiff", write_volume(lab.astype("int32"), folder / "json-int32.tif", **w)))
    tifffile.imwrite(folder / "ome.ome.tif", lab, ome=True, compression="zlib",
                     metadata={"axes": "ZYX", "PhysicalSizeX": 0.01, "PhysicalSizeY": 0.02,
                               "PhysicalSizeZ": 0.05}, rowsperstrip=4)
    out.append(Seed("tiff", folder / "ome.ome.tif"))
    tifffile.imwrite(folder / "tiled.tif", _labels((4, 32, 32)), tile=(16, 16),
                     compression="lzma", photometric="minisblack", metadata={"axes": "ZYX"})
    out.append(Seed("tiff", folder / "tiled.tif"))
    if ELECTRODE.exists():
        shutil.copyfile(ELECTRODE, folder / "electrode.tiff")  # mutations touch copies only
        out.append(Seed("tiff-electrode", folder / "electrode.tiff"))
    out.append(Seed("hdf5", write_volume(lab, folder / "gzip.h5", chunks=(3, 8, 10), **w)))
    out.append(Seed("hdf5", write_volume(lab, folder / "plain.h5", compression=False, **w)))
    with h5py.File(folder / "ilastik.h5", "w") as f:
        d = f.create_dataset("exported_data", data=lab[..., None] // 85 + 1, chunks=True,
                             compression="gzip", shuffle=True)
        d.attrs["axistags"] = json.dumps({"axes": [{"key": k, "typeFlags": 2} for k in "zyxc"]})
    out.append(Seed("hdf5-ilastik", folder / "ilastik.h5"))
    out.append(Seed("zarr", write_volume(lab, folder / "v3.zarr", chunks=(3, 8, 10), **w)))
    a = zarr.open_array(str(folder / "v2.zarr"), mode="w", shape=lab.shape, chunks=(3, 16, 10),
                        dtype=lab.dtype, zarr_format=2)
    a[:] = lab
    a.attrs["element_size_um"] = [0.05, 0.02, 0.01]
    out.append(Seed("zarr", folder / "v2.zarr"))
    np.save(folder / "v.npy", lab)
    out.append(Seed("npy", folder / "v.npy"))
    np.save(folder / "v-fortran.npy", np.asfortranarray(lab.astype("<u2")))
    out.append(Seed("npy", folder / "v-fortran.npy"))
    out.append(Seed("raw", write_volume(lab.astype("<u2"), folder / "v.raw", **w),
                    {"shape": lab.shape, "dtype": "<u2"}))
    for name, comp in (("stack-deflate.zip", zipfile.ZIP_DEFLATED),
                       ("stack-stored.zip", zipfile.ZIP_STORED)):
        with zipfile.ZipFile(folder / name, "w", comp) as z:
            z.write(folder / "imagej-plain.tif", "stack.tif")
        out.append(Seed("zip", folder / name))
    with zipfile.ZipFile(folder / "slices.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(lab.shape[0]):
            buf = folder / "tmp-slice.tif"
            tifffile.imwrite(buf, lab[i])
            z.write(buf, f"stack/s{i}.tif")
        buf.unlink()
    out.append(Seed("zip", folder / "slices.zip"))
    sl = folder / "slices"
    sl.mkdir()
    for i in range(lab.shape[0]):
        tifffile.imwrite(sl / f"s{i}.tif", lab[i], compression="zlib" if i % 2 else None)
    out.append(Seed("slices", sl))
    return out


# --------------------------------------------------------------------------- mutations

_SPECIAL = [0, 1, 2, 0xFF, 0xFFFF, 0x7FFF, 0x8000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
            4096, 65536, 2**40, 2**63 - 1, 2**64 - 1]
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One random mutation of ``data``: (name, mutated bytes)."""
    n = len(data)
    if n and data.lstrip()[:1] in (b"{", b"["):  # JSON metadata: numbers and text
        kind = rng.choice(["json-number", "json-number", "flip", "truncate", "delete"])
    else:
        kind = rng.choice(["flip", "flip", "bytes", "int-header", "int-header", "int-any",
                           "truncate", "truncate", "insert", "delete", "duplicate", "empty"])
    if n == 0:
        return "empty", b""
    b = bytearray(data)
    if kind == "json-number":
        found = list(_NUMBER.finditer(data))
        if found:
            m = rng.choice(found)
            new = rng.choice([b"0", b"-1", b"4096", b"1e300", b"2147483648", b"99999999999",
                              b"1.5", b"null", b'"x"'])
            return kind, data[:m.start()] + new + data[m.end():]
        kind = "flip"
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(n)
            b[i] ^= 1 << rng.randrange(8)
        return kind, bytes(b)
    if kind == "bytes":
        for _ in range(rng.randint(1, 16)):
            b[rng.randrange(n)] = rng.randrange(256)
        return kind, bytes(b)
    if kind in ("int-header", "int-any"):
        size = rng.choice([1, 2, 4, 8])
        hi = min(n, 512) if kind == "int-header" else n
        i = rng.randrange(max(hi - size, 1))
        v = rng.choice(_SPECIAL) % (1 << (8 * size))
        fmt = {1: "B", 2: "H", 4: "I", 8: "Q"}[size]
        b[i:i + size] = struct.pack(rng.choice("<>") + fmt, v)[:max(0, min(size, n - i))]
        return f"{kind}-{size}", bytes(b[:n])
    if kind == "truncate":
        return kind, data[:rng.randrange(n)]
    if kind == "insert":
        i = rng.randrange(n + 1)
        return kind, data[:i] + os.urandom(rng.randint(1, 64)) + data[i:]
    if kind == "delete":
        i = rng.randrange(n)
        return kind, data[:i] + data[i + rng.randint(1, 64):]
    if kind == "duplicate":
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 256))
        return kind, data[:j] + data[i:j] + data[j:]
    return "empty", b""


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    for p in _files(path):
        h.update(str(p.relative_to(path.parent)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def make_case(seed: Seed, target: Path, rng: random.Random) -> str:
    """Copy ``seed`` to ``target`` and mutate one of its files; return what was done."""
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    if seed.path.is_dir():
        shutil.copytree(seed.path, target)
        files = _files(target)
        if seed.fmt == "slices" and rng.random() < 0.15:  # the folder itself
            choice = rng.choice(["drop", "other-shape", "not-tiff", "empty-file"])
            victim = rng.choice(files)
            if choice == "drop":
                victim.unlink()
            elif choice == "other-shape":
                import numpy as np
                import tifffile

                tifffile.imwrite(target / "s99.tif", np.zeros((5, 7), np.uint8))
            elif choice == "not-tiff":
                (target / "s50.tif").write_text("not a TIFF")
            else:
                victim.write_bytes(b"")
            return f"folder-{choice}"
        victim = rng.choice(files)
    elif seed.fmt == "zip" and rng.random() < 0.5:  # a damaged member in an intact archive
        with zipfile.ZipFile(seed.path) as src, zipfile.ZipFile(target, "w") as dst:
            infos = src.infolist()
            k = rng.randrange(len(infos))
            for j, info in enumerate(infos):
                data = src.read(info)
                if j == k:
                    name, data = mutate(data, rng)
                dst.writestr(info, data)
        return f"member-{name} {infos[k].filename}"
    else:
        shutil.copyfile(seed.path, target)
        victim = target
    name, data = mutate(victim.read_bytes(), rng)
    victim.write_bytes(data)
    return f"{name} {victim.relative_to(target.parent)}"


# --------------------------------------------------------------------------- worker


def _worker(conn, memory: int) -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):
        pass
    import logging
    import warnings

    logging.disable(logging.CRITICAL)  # tifffile's log lines are not outcomes
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(ROOT / "src"))
    import dask

    from ionscale.errors import InputError
    from ionscale.io.volume import read_volume

    dask.config.set(scheduler="synchronous")
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        path, kwargs, name = job
        t0 = time.perf_counter()
        try:
            read_volume(path, **kwargs)
            outcome, detail = "ok", ""
        except InputError as exc:
            outcome, detail = ("input-error" if name in str(exc) else "unnamed"), str(exc)[:300]
        except BaseException as exc:  # noqa: BLE001 - classifying everything is the point
            outcome, detail = "crash", _describe(exc)
        conn.send((outcome, detail, time.perf_counter() - t0))


def _describe(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)
                  if "ionscale" in f.filename), tb[-1].name if tb else "?")
    return f"{type(exc).__name__} at {where}: {str(exc)[:200]}"


class Runner:
    """A worker process, restarted after a hang or a death."""

    def __init__(self, memory: int, timeout: float):
        self.memory, self.timeout = memory, timeout
        self.ctx = mp.get_context("spawn")
        self.first = True
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.memory), daemon=True)
        self.proc.start()
        child.close()
        self.first = True

    def run(self, path: Path, kwargs: dict) -> tuple[str, str, float]:
        self.conn.send((str(path), kwargs, path.name))
        limit = self.timeout + (60.0 if self.first else 0.0)  # the first call imports
        self.first = False
        if self.conn.poll(limit):
            try:
                return self.conn.recv()
            except EOFError:
                pass
        alive = self.proc.is_alive()
        self.proc.kill()
        self.proc.join()
        code = self.proc.exitcode
        self._start()
        if alive:
            return "hang", f"no answer within {self.timeout:g} s", limit
        return "killed", f"worker died (exit code {code})", limit

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def run_fuzz(n: int, seed: int, *, timeout: float = 10.0, memory: int = 3 << 30,
             formats: set[str] | None = None, keep: Path | None = None,
             progress: bool = False) -> dict:
    """Run ``n`` mutated inputs spread over the seeds; return the outcome table."""
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="ionscale-fuzz-volume-"))
    try:
        seeds_dir = work / "seeds"
        seeds_dir.mkdir()
        seeds = make_seeds(seeds_dir)
        if formats:
            seeds = [s for s in seeds if s.fmt in formats]
        originals = {s.path: _digest(s.path) for s in seeds}
        table: dict[str, Counter] = defaultdict(Counter)
        problems: list[dict] = []
        slow: list[tuple[float, str, str]] = []
        runner = Runner(memory, timeout)
        t_start = time.perf_counter()
        try:
            for i in range(n):
                s = seeds[i % len(seeds)]
                target = work / f"case{i}{''.join(s.path.suffixes)}"
                what = make_case(s, target, rng)
                kwargs = dict(s.kwargs)
                if rng.random() < 0.75 or s.fmt == "raw":
                    kwargs["voxel_size"] = "20 nm"
                if s.fmt != "raw" and rng.random() < 0.1:  # a few blocks: a small dask graph
                    kwargs["chunks"] = (64, 128, 128) if s.fmt == "tiff-electrode" else (3, 8, 8)
                before = _digest(target)
                outcome, detail, elapsed = runner.run(target, kwargs)
                if _digest(target) != before:
                    outcome, detail = "modified", "the input changed"
                table[s.fmt][outcome] += 1
                slow.append((elapsed, s.fmt, what))
                if outcome not in ("ok", "input-error") or elapsed > timeout / 2:
                    case = None
                    if keep is not None:
                        keep.mkdir(parents=True, exist_ok=True)
                        case = keep / f"case-{seed}-{i}{''.join(s.path.suffixes)}"
                        if target.is_dir():
                            shutil.copytree(target, case, dirs_exist_ok=True)
                        else:
                            shutil.copyfile(target, case)
                    problems.append({"format": s.fmt, "seed_file": s.path.name,
                                     "mutation": what, "kwargs": repr(kwargs),
                                     "outcome": outcome if elapsed <= timeout / 2 or outcome
                                     == "hang" else f"slow-{outcome}", "seconds": elapsed,
                                     "detail": detail, "case": str(case) if case else None})
                shutil.rmtree(target) if target.is_dir() else target.unlink()
                if progress and (i + 1) % 200 == 0:
                    print(f"{i + 1}/{n} inputs, {time.perf_counter() - t_start:.0f} s",
                          file=sys.stderr)
        finally:
            runner.close()
        for s in seeds:
            if _digest(s.path) != originals[s.path]:
                problems.append({"format": s.fmt, "seed_file": str(s.path),
                                 "outcome": "modified", "detail": "a seed changed"})
        slow.sort(reverse=True)
        return {"n": n, "seed": seed, "seconds": time.perf_counter() - t_start,
                "table": {k: dict(v) for k, v in sorted(table.items())},
                "problems": problems,
                "slowest": [{"seconds": round(t, 3), "format": f, "mutation": w}
                            for t, f, w in slow[:10]]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


COLUMNS = ["ok", "input-error", "unnamed", "crash", "hang", "killed", "modified"]


def format_table(report: dict) -> str:
    lines = [f"{'format':16s} {'inputs':>7s} " + " ".join(f"{c:>11s}" for c in COLUMNS)]
    total: Counter = Counter()
    for fmt, counts in report["table"].items():
        total.update(counts)
        lines.append(f"{fmt:16s} {sum(counts.values()):7d} "
                     + " ".join(f"{counts.get(c, 0):11d}" for c in COLUMNS))
    lines.append(f"{'all':16s} {sum(total.values()):7d} "
                 + " ".join(f"{total.get(c, 0):11d}" for c in COLUMNS))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--memory", type=float, default=3.0, help="GiB of address space")
    ap.add_argument("--format", action="append", help="only these rows of the table")
    ap.add_argument("--keep", type=Path, help="copy failing inputs into this folder")
    ap.add_argument("--json", type=Path, help="write the full report here")
    args = ap.parse_args(argv)
    report = run_fuzz(args.n, args.seed, timeout=args.timeout,
                      memory=int(args.memory * 2**30),
                      formats=set(args.format) if args.format else None, keep=args.keep,
                      progress=True)
    print(format_table(report))
    print(f"{report['seconds']:.0f} s; slowest: "
          + ", ".join(f"{s['seconds']:.2f} s ({s['format']}, {s['mutation']})"
                      for s in report["slowest"][:3]))
    for p in report["problems"][:60]:
        print(f"{p['outcome']:8s} {p['format']:14s} {p.get('mutation', '')} "
              f"{p.get('kwargs', '')} {p.get('seconds', 0):.1f} s: {p['detail']} "
              f"{p.get('case') or ''}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 1 if any(not p["outcome"].startswith("slow-") for p in report["problems"]) else 0


if __name__ == "__main__":
    sys.exit(main())
