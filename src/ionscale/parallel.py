"""Campaigns on dask: many analyses at once, on this machine or on a cluster.

``ionscale run campaign.toml --workers 4`` runs a campaign's independent analyses on a local
``dask.distributed`` cluster of 4 worker processes; ``--scheduler tcp://host:8786`` (or the
``DASK_SCHEDULER_ADDRESS`` environment variable) sends them to an existing cluster, e.g. one
started on Slurm by dask-jobqueue (``examples/campaign_on_slurm.py``). The Python API is the
same :func:`ionscale.campaign.run_campaign` with ``workers=``, ``scheduler=`` or ``client=``.

How a run is split
------------------
* **The graph** (:func:`ionscale.campaign.plan_campaign`): every analysis with its cache key;
  one declared with ``uses_results=True`` (``transport.arrhenius``, ``transport.haven``,
  ``cycling.ccd``...) depends on the analyses of its sample that precede it in the file, the
  others on their files only. Cached analyses are decided on the driver before anything runs.
* **Workers compute, the driver writes.** Each independent analysis is one dask task that
  returns its :class:`~ionscale.results.Result` and its figure (PNG bytes); only the driver
  writes the SQLite store, one transaction per analysis, and it stores each sample's analyses
  in the order of the file. A ``uses_results`` analysis runs on the driver once everything
  before it in its sample is stored, so it reads the store exactly as a serial run would.
* **Files.** A worker reads a measurement file from its path when it can (a local cluster, a
  shared filesystem); otherwise the driver sends the file's bytes, if the file is at most
  ``ship_limit`` (50 MiB by default). Either way the worker checks the file's SHA-256 against
  the driver's before analysing, and a mismatch (a file changed during the run, or another file
  at the same path on the worker) fails that analysis with a message naming the file. Only the
  files named in the campaign travel: a reader that also opens files beside them needs a shared
  filesystem.
* **Failures.** An analysis that raises, or whose result has status ``failed``, is reported and
  the others go on, as in a serial run. A worker that dies has its tasks rerun on other workers
  (dask's ``distributed.scheduler.allowed-failures``, 3 by default); past that the analysis is
  reported failed. Nothing is ever half-written: a result reaches the store whole or not at all.
* **Reproducible.** An analysis' random seed comes from its cache key
  (:func:`ionscale.campaign.analysis_seed`), never from the worker that runs it, so a
  distributed run stores the same numbers as a serial one (to round-off).
* **Nested parallelism.** An analysis that is itself parallel (``eis.series`` with
  ``n_jobs > 1``) uses the same cluster through ``distributed.worker_client()`` when it runs
  inside a dask worker, never a process pool of its own.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import logging
import os
import pickle
import sys
import threading
import uuid
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .campaign import Outcome, PlannedAnalysis, _Record, compute_analysis
from .errors import InputError, IonscaleError
from .results import InputFile, file_sha256

__all__ = ["dask_client", "in_dask_worker", "run_plan"]

#: Bytes of shipped files in flight at once (tasks waiting on the scheduler hold their files).
SHIP_IN_FLIGHT = 512 * 2**20
_FIGURE_LOCK = threading.Lock()  # pyplot is not thread-safe


def _require_distributed():
    try:
        import distributed
    except ImportError:
        raise IonscaleError(
            "parallel campaigns need dask.distributed: pip install 'distributed' (it is an "
            "ionscale dependency; reinstall ionscale)") from None
    return distributed


def in_dask_worker() -> bool:
    """True inside a task running on a ``dask.distributed`` worker."""
    if "distributed" not in sys.modules:  # never imported: cannot be a worker
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def _worker_name() -> str:
    if in_dask_worker():
        from distributed import get_worker

        return str(get_worker().address)
    return f"pid {os.getpid()}"


@contextlib.contextmanager
def dask_client(workers: int = 1, scheduler: str | None = None, client: Any = None
                ) -> Iterator[tuple[Any, bool]]:
    """A ``distributed.Client`` for a run, and whether its workers share this machine.

    ``client`` is used as it is (and left open); ``scheduler`` connects to an existing cluster;
    otherwise a local cluster of ``workers`` processes with one thread each is started and shut
    down afterwards.
    """
    if client is not None:
        yield client, False
        return
    distributed = _require_distributed()
    if scheduler is not None:
        try:  # waits distributed.comm.timeouts.connect (30 s unless configured)
            connected = distributed.Client(scheduler)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the dask scheduler at {scheduler} ({exc})",
                             field="scheduler", expected="the address of a running dask "
                             "scheduler, e.g. tcp://10.0.0.5:8786") from None
        with connected:
            yield connected, False
        return
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as local:
        yield local, True


# --------------------------------------------------------------------------- on the worker


class _NoStore:
    """The store seen by an analysis on a worker: there is none (the driver writes it)."""

    def __init__(self, method: str) -> None:
        self.__dict__["_method"] = method

    def __getattr__(self, name: str):
        raise IonscaleError(
            f"{self._method} read the results store on a dask worker; an analysis that reads "
            "stored results must be registered with uses_results=True (it then runs on the "
            "driver after the analyses it reads)")


def _visible(items: list[tuple[str, int]]) -> list[bool]:
    """Which of ``(path, size)`` this process can read with that size (run on each worker)."""
    out = []
    for path, size in items:
        try:
            out.append(os.path.isfile(path) and os.path.getsize(path) == size)
        except OSError:
            out.append(False)
    return out


def _inputs_folder() -> Path:
    if in_dask_worker():
        from distributed import get_worker

        base = Path(get_worker().local_directory)
    else:
        import tempfile

        base = Path(tempfile.gettempdir())
    return base / "ionscale-inputs"


def _received_file(data: bytes, sha: str, name: str) -> Path:
    """Write shipped bytes under the worker's folder (once per content), keeping the file name
    (readers choose the format by its extension)."""
    folder = _inputs_folder() / sha
    path = folder / name
    if path.is_file() and path.stat().st_size == len(data):
        return path  # written whole before (renamed into place)
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.{uuid.uuid4().hex}.part"
    part.write_bytes(data)
    os.replace(part, path)
    return path


def localise(task: PlannedAnalysis, shipped: Mapping[str, bytes], where: str = ""
             ) -> tuple[PlannedAnalysis, dict[str, str]]:
    """The task with each file at a path this process can read, every file checked against
    the SHA-256 the driver hashed.

    Parameters
    ----------
    task : PlannedAnalysis
    shipped : mapping of str to bytes
        Files sent as bytes, by SHA-256; the others are read from their paths.
    where : str
        The worker, for messages.

    Returns
    -------
    task : PlannedAnalysis
        With its measurements' files replaced by local copies where bytes were shipped.
    renamed : dict
        Local path → the driver's path, for provenance.

    Raises
    ------
    InputError
        A file is not readable here and was not shipped, or its SHA-256 differs.
    """
    on = f" on dask worker {where}" if where else ""
    renamed: dict[str, str] = {}
    measurements = []
    for m in task.measurements:
        paths = []
        for path, sha in zip(m.files, m.hashes, strict=True):
            if sha in shipped:
                data = shipped[sha]
                got = hashlib.sha256(data).hexdigest()
                if got != sha:
                    raise InputError(
                        f"the bytes received{on} have SHA-256 {got[:12]}…, the driver hashed "
                        f"{sha[:12]}… (damaged in transfer); {task.label} not analysed",
                        file=str(path), expected="the file as the driver read it")
                local = _received_file(data, sha, Path(path).name)
                renamed[str(local)] = str(path)
                paths.append(local)
                continue
            if not os.path.isfile(path):
                raise InputError(
                    f"not readable{on}, and not sent to it; {task.label} not analysed",
                    file=str(path), expected="a path every worker can read (a shared "
                    "filesystem), or a file small enough to send (ship_limit, --ship-limit)")
            got = file_sha256(path)
            if got != sha:
                raise InputError(
                    f"SHA-256 mismatch{on}: {got[:12]}… here, {sha[:12]}… when the driver "
                    f"hashed it (the file changed during the run, or the worker sees another "
                    f"file at this path); {task.label} not analysed", file=str(path),
                    expected="the same file on the driver and every worker")
            paths.append(Path(path))
        measurements.append(dataclasses.replace(m, files=tuple(paths)))
    return dataclasses.replace(task, measurements=tuple(measurements)), renamed


def _original_paths(outcome: Outcome, renamed: Mapping[str, str]) -> Outcome:
    """Put the driver's file paths back into the result's provenance."""
    result = outcome.result
    if result is None or not renamed:
        return outcome
    prov = result.provenance
    inputs = tuple(InputFile(renamed.get(f.path, f.path), f.sha256) for f in prov.inputs)
    if inputs != prov.inputs:
        # the result is this worker's own fresh object: mend it in place rather than
        # re-running a subclass' __post_init__
        object.__setattr__(result, "provenance", dataclasses.replace(prov, inputs=inputs))
    return outcome


def _portable(category: type) -> type:
    try:
        pickle.dumps(category)
    except Exception:
        return UserWarning
    return category


def execute_remote(task: PlannedAnalysis, shipped: Mapping[str, bytes], version: str) -> bytes:
    """Compute one analysis on a dask worker; returns the pickled :class:`Outcome`.

    Pickled here, not by dask, so that a result that cannot travel is known on the worker
    (``Outcome(rerun=True)``: the driver computes it) instead of failing in transit.
    """
    from . import __version__

    where = _worker_name()
    if version != __version__:
        return pickle.dumps(Outcome(error=f"dask worker {where} runs ionscale {__version__}, "
                                    f"the driver {version}: install the same ionscale on "
                                    "every worker", where=where))
    try:
        task, renamed = localise(task, shipped, where)
    except IonscaleError as exc:
        return pickle.dumps(Outcome(error=str(exc), where=where))
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")  # a worker never opens a window
    with warnings.catch_warnings(record=True) as caught:
        outcome = compute_analysis(task, _NoStore(task.entry.method), where=where,
                                   figure_lock=_FIGURE_LOCK)
    outcome = dataclasses.replace(outcome, warnings=tuple(
        (_portable(w.category), str(w.message), str(w.filename), int(w.lineno or 0))
        for w in caught))
    outcome = _original_paths(outcome, renamed)
    try:
        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps(Outcome(rerun=True, seconds=outcome.seconds, where=where,
                                    peak_rss=outcome.peak_rss))


# --------------------------------------------------------------------------- on the driver


def _replay(outcome: Outcome) -> None:
    """Show a worker's warnings here, as a serial run would have."""
    for category, message, filename, lineno in outcome.warnings:
        warnings.warn_explicit(message, category, filename, lineno)


class _Driver:
    """Submits the independent analyses, stores results per sample in file order, and runs
    the ``uses_results`` analyses here when their turn comes."""

    def __init__(self, plan, store, record: _Record, bar, client, local: bool, ship: str,
                 ship_limit: float) -> None:
        self.plan = plan
        self.store = store
        self.record = record
        self.bar = bar
        self.client = client
        self.local = local
        self.ship = ship
        self.ship_limit = ship_limit
        self.outcomes: dict[int, Outcome] = {}
        self.queues: dict[str, list[int]] = {}
        for task in plan:
            self.queues.setdefault(task.sample.name, []).append(task.index)
        self.cursor = dict.fromkeys(self.queues, 0)

    # -- storing in order

    def advance(self, sample: str) -> None:
        """Store (or run here) the sample's analyses in file order, as far as results are in."""
        queue = self.queues[sample]
        while self.cursor[sample] < len(queue):
            task = self.plan[queue[self.cursor[sample]]]
            counted = False  # a worker's analysis was counted when its future completed
            if task.cached is not None:
                self.record.skip(task)
            elif task.index in self.outcomes:
                outcome = self.outcomes.pop(task.index)
                _replay(outcome)
                if outcome.rerun:  # the worker's result could not travel: compute it here
                    outcome = compute_analysis(task, self.store)
                self.record.commit(task, outcome, self.store)
                counted = True
            elif task.spec.uses_results:  # reads the store: here, after all before it
                self.tick(task, done=False)
                self.record.commit(task, compute_analysis(task, self.store), self.store)
            else:
                return  # still on a worker
            self.cursor[sample] += 1
            if not counted:
                self.tick(task)

    def tick(self, task: PlannedAnalysis, done: bool = True) -> None:
        """Progress: name the analysis, and count it when ``done``."""
        if self.bar is not None:
            self.bar.set_postfix_str(task.entry.label[:30])
            if done:
                self.bar.update()

    def advance_all(self) -> None:
        for sample in self.queues:
            self.advance(sample)

    # -- files

    def shipped_files(self, remote: list[PlannedAnalysis]) -> set[str]:
        """SHA-256 of the files to send as bytes."""
        files: dict[str, tuple[str, int]] = {}
        for task in remote:
            for m in task.measurements:
                for path, sha in zip(m.files, m.hashes, strict=True):
                    try:
                        files[sha] = (str(path), os.path.getsize(path))
                    except OSError:
                        continue  # gone since it was hashed: the worker will say so
        if self.ship == "never" or not files or (self.local and self.ship == "auto"):
            return set()
        small = {sha for sha, (_, size) in files.items() if size <= self.ship_limit}
        if self.ship == "always":
            return small
        shas = list(files)
        seen = self.client.run(_visible, [files[s] for s in shas])
        if not seen:  # no worker yet (an adaptive cluster): send what may be sent
            return small
        blind = {s for i, s in enumerate(shas) if not all(v[i] for v in seen.values())}
        return blind & small

    # -- the run

    def run(self) -> None:
        from distributed import as_completed

        from . import __version__

        remote = [t for t in self.plan if t.cached is None and not t.spec.uses_results]
        ship = self.shipped_files(remote)
        index_of: dict[str, int] = {}
        sizes: dict[int, int] = {}
        waiting = collections.deque(remote)
        in_flight = 0
        done = as_completed()

        def submit_more() -> None:
            nonlocal in_flight
            while waiting:
                task = waiting[0]
                need = {sha: path for m in task.measurements
                        for path, sha in zip(m.files, m.hashes, strict=True) if sha in ship}
                size = sum(_size(p) for p in need.values())
                if size and in_flight and in_flight + size > SHIP_IN_FLIGHT:
                    return  # send more files once some have been used
                waiting.popleft()
                try:
                    data = {sha: Path(p).read_bytes() for sha, p in need.items()}
                except OSError as exc:
                    self.outcomes[task.index] = Outcome(
                        error=f"cannot read {exc.filename} to send it to a worker "
                              f"({exc.strerror})", where="driver")
                    self.tick(task)
                    continue
                job = dataclasses.replace(task, cached=None)
                key = f"ionscale-{task.entry.method}-{task.index}-{uuid.uuid4().hex[:8]}"
                future = self.client.submit(execute_remote, job, data, __version__, key=key,
                                            pure=False)
                index_of[future.key] = task.index
                sizes[task.index] = size
                in_flight += size
                done.add(future)

        try:
            with _quiet_large_graphs():
                submit_more()
                # meanwhile: cached analyses, and those reading the store with nothing before
                # them left to wait for
                self.advance_all()
                for future in done:
                    index = index_of.pop(future.key)
                    self.outcomes[index] = _outcome_of(future)
                    self.tick(self.plan[index])
                    future.release()
                    in_flight -= sizes.pop(index)
                    submit_more()
                    self.advance(self.plan[index].sample.name)
        except BaseException:
            futures = list(done.futures)
            if futures:
                self.client.cancel(futures)
            raise
        self.advance_all()


def _size(path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


@contextlib.contextmanager
def _quiet_large_graphs():
    """Shipped files make large task arguments on purpose; dask need not warn of them."""
    import dask

    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "2GiB"}):
        yield


def _outcome_of(future) -> Outcome:
    """The outcome a finished dask future carries, or a failed one saying what happened."""
    from distributed.scheduler import KilledWorker

    try:
        data = future.result()
    except KilledWorker as exc:
        return Outcome(error=f"its dask worker died each time it ran it (killed, or out of "
                             f"memory); nothing of it was stored ({exc})", where="lost")
    except Exception as exc:  # cancelled, lost, or a failure outside the analysis
        return Outcome(error=f"dask could not run it: {type(exc).__name__}: {exc}",
                       where="lost")
    try:
        return pickle.loads(data)
    except Exception as exc:
        return Outcome(error=f"its result could not be read back from the worker "
                             f"({type(exc).__name__}: {exc})", where="lost")


def run_plan(plan: tuple[PlannedAnalysis, ...], store: Any, record: _Record, *, bar=None,
             workers: int = 1, scheduler: str | None = None, client: Any = None,
             ship: str = "auto", ship_limit: float = 50 * 2**20) -> None:
    """Run a planned campaign on dask and store it (see :func:`run_campaign`).

    No cluster is started when nothing needs a worker (every analysis cached, or reading
    stored results).
    """
    needs_workers = any(t.cached is None and not t.spec.uses_results for t in plan)
    if not needs_workers:
        _Driver(plan, store, record, bar, None, True, ship, ship_limit).advance_all()
        return
    with dask_client(workers, scheduler, client) as (c, local):
        _Driver(plan, store, record, bar, c, local, ship, ship_limit).run()
