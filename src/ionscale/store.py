"""The results database: samples, measurements, analyses and their values, in one SQLite file.

Every analysis a campaign (or a notebook) runs can be kept in a :class:`Store`. A store is a
plain SQLite file that any SQLite client can read; the tables are

``meta``               ``key``/``value`` pairs, among them ``schema_version``.
``samples``            one row per sample: unique ``name``, ``description``, ``properties`` (JSON).
``measurements``       a sample's measurement: ``name`` (unique per sample), ``technique``,
                       ``conditions`` (JSON, SI numbers: temperature in K, time in s) and
                       ``temperature_K`` copied from them.
``measurement_files``  the files of a measurement with their SHA-256.
``analyses``           one analysis of a sample: ``method``, ``label``, ``title``,
                       ``parameters`` (JSON), ionscale ``version``, ``cache_key``, ``created``,
                       ``saved``, ``status`` (``ok``, ``warning`` or ``failed``: how far the
                       result can be trusted), ``diagnostics`` (JSON list: code, severity,
                       message, fields), ``superseded``, ``temperature_K`` and ``result``
                       (the full :meth:`Result.to_dict` as JSON). Schema 1 files are migrated
                       on opening: the column is added and old values are checked.
``analysis_inputs``    which measurements an analysis used.
``results``            one row per value of an analysis: ``name``, ``symbol``, ``value``,
                       ``error``, ``unit`` (SI), the same in the field unit (``field_value``,
                       ``field_error``, ``field_unit``) and ``temperature_K`` (the value's
                       own ``details["temperature_K"]`` in a temperature series, else the
                       analysis's), so that an Arrhenius plot across techniques is one query.
``figures``            PNG images of an analysis (for the report).

Durability
----------
The file is opened with ``journal_mode=WAL`` and ``synchronous=FULL``, with foreign keys on.
Every write is one transaction (:meth:`Store.save_analysis` writes the analysis, its inputs,
its figures and all its value rows together), so a process killed mid-write leaves the file
consistent: either the whole analysis is there or none of it. WAL alone already protects
against a killed process; ``FULL`` also makes every committed analysis survive a power cut,
at the price of one ``fsync`` per commit, which is nothing next to the fit it stores.

Re-saving and history
---------------------
Saving an analysis whose ``cache_key`` the sample already has *replaces* the old one in the same
transaction (the inputs did not change, so the old numbers carry no information). Saving an
analysis with a new ``cache_key`` under the ``label`` of an existing analysis of the same sample
and method (the parameters or inputs changed) keeps the old one for the record but marks it
``superseded``; queries leave superseded analyses out unless asked for them. Analysis ids are
never reused, so "analysis 7" always means the same analysis, and a larger id is a newer one.

Examples
--------
>>> from ionscale.results import Provenance, Result, Value
>>> r = Result(values={"D": Value("D", 3e-13, 2e-14, "m^2/s", "D*")},
...            provenance=Provenance.build("tracer.fit"), title="LLTO 600 °C")
>>> with Store(":memory:") as db:                                   # doctest: +SKIP
...     db.add_measurement("LLTO-1", "600C", "tof-sims", [], {"temperature": 873.15})
...     db.save_analysis("LLTO-1", "tracer.fit", r, cache_key="k1", measurements=["600C"])
...     db.results(name="D")[0]["temperature_K"]
873.15
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import io
import json
import math
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import InputError, IonscaleError
from .io.atomic import write_text_atomic
from .results import InputFile, Result, json_safe

#: Version of the table layout written by this ionscale.
SCHEMA_VERSION = 2


def _migrate_1_to_2(con: sqlite3.Connection) -> None:
    """Schema 2 keeps each analysis' diagnostics; old analyses get the value checks that the
    stored numbers allow (a non-finite or physically impossible value is no longer ``ok``)."""
    from .results import Value, worst_status

    con.execute("ALTER TABLE analyses ADD COLUMN diagnostics TEXT NOT NULL DEFAULT '[]'")
    for row in con.execute("SELECT id, status, result FROM analyses").fetchall():
        try:
            values = json.loads(row[2]).get("values", {}) or {}
        except (ValueError, AttributeError):
            continue
        found = []
        for name, v in values.items():
            if not isinstance(v, Mapping):
                continue
            value = v.get("value")
            error = v.get("error")
            found += Value(str(name), math.nan if value is None else float(value),
                           math.nan if error is None else float(error), str(v.get("unit", "")),
                           v.get("symbol")).check()
        if found:
            status = worst_status(found)
            if row[1] == "failed":
                status = "failed"
            con.execute("UPDATE analyses SET status = ?, diagnostics = ? WHERE id = ?",
                        (status, _dumps([d.to_dict() for d in found]), row[0]))


#: ``MIGRATIONS[v]`` upgrades a version-``v`` file to version ``v + 1`` (run inside the opening
#: transaction, so a failed migration leaves the file as it was).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2}

#: Condition keys read as the temperature (K) of a measurement or analysis, first match wins.
TEMPERATURE_KEYS = ("temperature_K", "temperature", "T_K", "T")

#: Columns of the CSV export, in order.
EXPORT_COLUMNS = (
    "analysis_id", "sample", "method", "label", "title", "status", "name", "symbol", "value",
    "error", "unit", "field_value", "field_error", "field_unit", "temperature_K", "created",
    "version", "cache_key",
)

_SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE samples (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    properties  TEXT NOT NULL DEFAULT '{}',
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL
);
CREATE TABLE measurements (
    id            INTEGER PRIMARY KEY,
    sample_id     INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    technique     TEXT NOT NULL,
    conditions    TEXT NOT NULL DEFAULT '{}',
    temperature_K REAL,
    created       TEXT NOT NULL,
    updated       TEXT NOT NULL,
    UNIQUE (sample_id, name)
);
CREATE TABLE measurement_files (
    id             INTEGER PRIMARY KEY,
    measurement_id INTEGER NOT NULL REFERENCES measurements(id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    path           TEXT NOT NULL,
    sha256         TEXT NOT NULL
);
CREATE TABLE analyses (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sample_id     INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    method        TEXT NOT NULL,
    label         TEXT,
    title         TEXT NOT NULL DEFAULT '',
    parameters    TEXT NOT NULL DEFAULT '{}',
    conditions    TEXT NOT NULL DEFAULT '{}',
    temperature_K REAL,
    version       TEXT NOT NULL,
    cache_key     TEXT,
    created       TEXT NOT NULL,
    saved         TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'ok',
    superseded    INTEGER NOT NULL DEFAULT 0,
    result        TEXT NOT NULL,
    diagnostics   TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE analysis_inputs (
    analysis_id    INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    measurement_id INTEGER NOT NULL REFERENCES measurements(id) ON DELETE CASCADE,
    PRIMARY KEY (analysis_id, measurement_id)
);
CREATE TABLE results (
    id            INTEGER PRIMARY KEY,
    analysis_id   INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    name          TEXT NOT NULL,
    symbol        TEXT NOT NULL,
    value         REAL,
    error         REAL,
    unit          TEXT NOT NULL DEFAULT '',
    field_value   REAL,
    field_error   REAL,
    field_unit    TEXT NOT NULL DEFAULT '',
    temperature_K REAL,
    UNIQUE (analysis_id, name)
);
CREATE TABLE figures (
    analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    png         BLOB NOT NULL,
    PRIMARY KEY (analysis_id, name)
);
CREATE INDEX measurements_sample ON measurements(sample_id);
CREATE INDEX measurement_files_measurement ON measurement_files(measurement_id);
CREATE INDEX analyses_sample_method ON analyses(sample_id, method);
CREATE INDEX analyses_cache_key ON analyses(cache_key);
CREATE INDEX analysis_inputs_measurement ON analysis_inputs(measurement_id);
CREATE INDEX results_analysis ON results(analysis_id);
CREATE INDEX results_name_temperature ON results(name, temperature_K);
"""

_ANALYSIS_COLUMNS = (
    "a.id, s.name AS sample, a.method, a.label, a.title, a.status, a.diagnostics, a.superseded, "
    "a.cache_key, a.version, a.created, a.saved, a.temperature_K, a.parameters, a.conditions"
)

_RESULT_QUERY = (
    "SELECT r.analysis_id, s.name AS sample, a.method, a.label, a.title, a.status, r.name, "
    "r.symbol, "
    "r.value, r.error, r.unit, r.field_value, r.field_error, r.field_unit, r.temperature_K, "
    "a.created, a.version, a.cache_key, a.superseded "
    "FROM results r JOIN analyses a ON a.id = r.analysis_id JOIN samples s ON s.id = a.sample_id"
)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _dumps(obj: Any) -> str:
    return json.dumps(json_safe(obj), ensure_ascii=False, allow_nan=False)


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def temperature_of(conditions: Mapping[str, Any] | None) -> float | None:
    """The temperature (K) named in ``conditions``, or None.

    Parameters
    ----------
    conditions : mapping, optional
        Measurement or analysis conditions; the first key of :data:`TEMPERATURE_KEYS` present
        is read. Numbers are taken to be in K; strings such as ``"600 degC"`` are converted.

    Returns
    -------
    float or None
        Temperature in K.

    Examples
    --------
    >>> temperature_of({"temperature": 873.15, "time": 3600.0})
    873.15
    """
    if not conditions:
        return None
    for key in TEMPERATURE_KEYS:
        raw = conditions.get(key)
        if raw is None:
            continue
        if isinstance(raw, str):
            from .units import parse_quantity

            raw = parse_quantity(raw, "K", field=f"conditions.{key}")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise InputError(f"cannot read {raw!r} as a temperature", field=f"conditions.{key}",
                             expected="a temperature in K") from None
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"temperature {value!r} K is not positive",
                             field=f"conditions.{key}", expected="a temperature > 0 K")
        return value
    return None


class Store:
    """A results database (one SQLite file).

    Parameters
    ----------
    path : str or path-like
        The database file; ``":memory:"`` for a throw-away one.
    create : bool
        Create the file if it does not exist (default). With ``False`` a missing file is an
        :class:`~ionscale.errors.InputError`.

    Raises
    ------
    InputError
        The file is not a SQLite database, is a SQLite database of something else, was written by
        a newer ionscale (newer schema), or does not exist and ``create`` is False.

    Notes
    -----
    Use it as a context manager (``with Store(path) as db: ...``) or call :meth:`close`.
    Several processes may open the same file; writers wait for each other (up to 60 s).

    Examples
    --------
    >>> with Store("results.sqlite") as db:                       # doctest: +SKIP
    ...     rows = db.results(method="tracer.fit", name="D")
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True,
                 readonly: bool = False, check: bool = False) -> None:
        self.path = Path(path) if str(path) != ":memory:" else Path(":memory:")
        self._where = os.fspath(path)
        self._depth = 0
        self.readonly = bool(readonly)
        self._con = None
        if self._where != ":memory:":
            if (not create or readonly) and not self.path.exists():
                raise InputError("no such results database", file=self._where,
                                 expected="an existing ionscale database (SQLite)")
            if self.path.is_dir():
                raise InputError("is a folder, not a results database", file=self._where,
                                 expected="an ionscale database file (SQLite)")
        try:
            if readonly and self._where != ":memory:":
                self._con = _connect_readonly(self.path)
            else:
                self._con = sqlite3.connect(self._where, isolation_level=None, timeout=60.0)
        except sqlite3.Error as exc:
            raise InputError(f"cannot open the results database ({exc})", file=self._where,
                             expected="a readable SQLite file" if readonly else
                             "a writable SQLite file in an existing folder") from None
        try:
            self._con.row_factory = sqlite3.Row
            self._con.execute("PRAGMA foreign_keys = ON")
            if readonly:
                version = self._stored_version()
                if version != SCHEMA_VERSION:
                    raise InputError(
                        f"written with results-database schema {version}; reading it needs "
                        f"schema {SCHEMA_VERSION}", file=self._where,
                        expected="a database this ionscale wrote (open it once for writing, "
                        "e.g. with `ionscale run`, to upgrade it)")
            else:
                # the version is checked before anything is written: a file of a newer
                # ionscale is refused untouched (no journal-mode change)
                self._stored_version()
                self._con.execute("PRAGMA journal_mode = WAL")
                self._con.execute("PRAGMA synchronous = FULL")
                if check:
                    self.check_integrity()
                self._prepare()
        except sqlite3.OperationalError as exc:
            self._con.close()
            raise InputError(f"cannot use the results database ({exc})", file=self._where,
                             expected="a readable, writable ionscale database") from None
        except sqlite3.DatabaseError as exc:
            self._con.close()
            raise InputError(f"not a results database, or a damaged one ({exc})",
                             file=self._where, expected="an ionscale database (SQLite)") from None
        except BaseException:
            self._con.close()
            raise

    def check_integrity(self) -> None:
        """Refuse a damaged file before anything is written into it (``PRAGMA quick_check``).

        Raises
        ------
        InputError
            Naming the file and SQLite's first complaint.
        """
        rows = [r[0] for r in self.connection.execute("PRAGMA quick_check(5)")]
        if rows != ["ok"]:
            raise InputError(f"the results database is damaged ({'; '.join(map(str, rows))})",
                             file=self._where,
                             expected="an intact SQLite file (restore it from a backup, or "
                             "export what `ionscale db list` can still read)")

    @classmethod
    def open(cls, path: str | os.PathLike, *, create: bool = True) -> Store:
        """Open (and by default create) the database at ``path``; same as ``Store(path)``."""
        return cls(path, create=create)

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file (committed work is already on disk)."""
        if getattr(self, "_con", None) is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._where!r})"

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying :class:`sqlite3.Connection` (rows are :class:`sqlite3.Row`)."""
        if self._con is None:
            raise IonscaleError(f"{self._where}: the results database is closed")
        return self._con

    @property
    def schema_version(self) -> int:
        """Schema version of the open file (equal to :data:`SCHEMA_VERSION` once open)."""
        row = self.connection.execute(
            "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Group writes into one transaction: all of them are stored, or none.

        Nested uses join the outer transaction. Everything written inside a ``with`` block is
        rolled back if the block raises.
        """
        con = self.connection
        if self._depth:
            self._depth += 1
            try:
                yield con
            finally:
                self._depth -= 1
            return
        con.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield con
        except BaseException:
            self._depth = 0
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        self._depth = 0
        con.execute("COMMIT")

    def _prepare(self) -> None:
        """Create the tables of a new file, migrate an old one, refuse a newer or foreign one."""
        version = self._stored_version()
        if version == SCHEMA_VERSION:
            return  # the usual case: no write needed (a read-only file opens too)
        with self.transaction() as con:
            version = self._stored_version()  # again, now that we hold the write lock
            if version is None:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                    ("schema_version", str(SCHEMA_VERSION)), ("created", _now()),
                    ("created_by", f"ionscale {_package_version()}")])
                return
            while version < SCHEMA_VERSION:
                step = MIGRATIONS.get(version)
                if step is None:
                    raise IonscaleError(f"{self._where}: no migration from results-database "
                                        f"schema {version} to {version + 1}")
                step(con)
                version += 1
                con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                            (str(version),))

    def _stored_version(self) -> int | None:
        """Schema version in the file; None for an empty file; InputError for a foreign one."""
        con = self.connection
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return None
        row = None
        if "meta" in tables:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            raise InputError("is a SQLite database but not an ionscale results database "
                             "(no schema_version)", file=self._where,
                             expected="a file written by ionscale's Store")
        try:
            version = int(row[0])
        except ValueError:
            raise InputError(f"unreadable schema_version {row[0]!r}", file=self._where,
                             field="meta.schema_version", expected="an integer") from None
        if version > SCHEMA_VERSION:
            raise InputError(
                f"written with results-database schema {version}, newer than the "
                f"{SCHEMA_VERSION} this ionscale {_package_version()} understands",
                file=self._where, field="meta.schema_version",
                expected=f"schema <= {SCHEMA_VERSION}; upgrade ionscale to read it")
        return version

    # -- samples and measurements ---------------------------------------------------------------

    def _sample_id(self, name: str, *, create: bool) -> int | None:
        row = self.connection.execute("SELECT id FROM samples WHERE name = ?",
                                      (name,)).fetchone()
        if row is not None:
            return int(row[0])
        if not create:
            return None
        return self.add_sample(name)

    def add_sample(self, name: str, description: str = "", **properties: Any) -> int:
        """Add a sample, or update the one of that name (upsert).

        Parameters
        ----------
        name : str
            Unique sample name.
        description : str
            Free text; an existing description is kept when this is empty.
        **properties
            JSON-serialisable properties in SI (``density=5030.0``, ``grain_size=2e-6``);
            merged into the existing ones (a key given again is overwritten).

        Returns
        -------
        int
            The sample's id.
        """
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"sample name {name!r} is empty", field="sample",
                             expected="a non-empty string")
        now = _now()
        with self.transaction() as con:
            row = con.execute("SELECT id, description, properties FROM samples WHERE name = ?",
                              (name,)).fetchone()
            if row is None:
                cur = con.execute(
                    "INSERT INTO samples (name, description, properties, created, updated) "
                    "VALUES (?, ?, ?, ?, ?)", (name, description, _dumps(properties), now, now))
                return int(cur.lastrowid)
            merged = {**json.loads(row["properties"]), **json_safe(properties)}
            con.execute("UPDATE samples SET description = ?, properties = ?, updated = ? "
                        "WHERE id = ?",
                        (description or row["description"], _dumps(merged), now, row["id"]))
            return int(row["id"])

    def add_measurement(
        self,
        sample: str,
        name: str,
        technique: str,
        files: Iterable[InputFile | str | os.PathLike] = (),
        conditions: Mapping[str, Any] | None = None,
    ) -> int:
        """Add a measurement of ``sample``, or replace the one of that name (upsert).

        Parameters
        ----------
        sample : str
            Sample name (created if new).
        name : str
            Measurement name, unique within the sample.
        technique : str
            ``"tof-sims"``, ``"impedance"``, ``"pfg-nmr"``...
        files : iterable of InputFile or path
            The measurement's files; paths are hashed (SHA-256) now and never modified.
        conditions : mapping, optional
            Conditions in SI (``temperature`` in K, ``time`` in s...); the temperature is copied
            to the ``temperature_K`` column.

        Returns
        -------
        int
            The measurement's id.
        """
        conditions = json_safe(dict(conditions or {}))
        temperature = temperature_of(conditions)
        inputs = []
        for f in files:
            if isinstance(f, InputFile):
                inputs.append(f)
                continue
            try:
                inputs.append(InputFile.of(f))
            except OSError as exc:
                raise InputError(f"cannot read the file to hash it ({exc.strerror})", file=f,
                                 field=f"measurements.{name}.files",
                                 expected="an existing, readable file") from None
        now = _now()
        with self.transaction() as con:
            sample_id = self._sample_id(sample, create=True)
            cur = con.execute(
                "INSERT INTO measurements (sample_id, name, technique, conditions, temperature_K,"
                " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (sample_id, name) DO UPDATE SET technique = excluded.technique, "
                "conditions = excluded.conditions, temperature_K = excluded.temperature_K, "
                "updated = excluded.updated RETURNING id",
                (sample_id, name, technique, _dumps(conditions), temperature, now, now))
            mid = int(cur.fetchone()[0])
            con.execute("DELETE FROM measurement_files WHERE measurement_id = ?", (mid,))
            con.executemany(
                "INSERT INTO measurement_files (measurement_id, position, path, sha256) "
                "VALUES (?, ?, ?, ?)", [(mid, i, f.path, f.sha256) for i, f in enumerate(inputs)])
            return mid

    def samples(self) -> list[dict[str, Any]]:
        """Every sample: ``id``, ``name``, ``description``, ``properties``, ``created``."""
        rows = self.connection.execute(
            "SELECT id, name, description, properties, created, updated FROM samples "
            "ORDER BY name").fetchall()
        return [{**dict(r), "properties": json.loads(r["properties"])} for r in rows]

    def measurements(self, sample: str | None = None) -> list[dict[str, Any]]:
        """Measurements (of one sample or all), each with its ``files`` and ``conditions``.

        Returns
        -------
        list of dict
            Keys ``id``, ``sample``, ``name``, ``technique``, ``conditions`` (dict, SI),
            ``temperature_K``, ``files`` (list of ``{"path", "sha256"}``).
        """
        sql = ("SELECT m.id, s.name AS sample, m.name, m.technique, m.conditions, "
               "m.temperature_K, m.created, m.updated FROM measurements m "
               "JOIN samples s ON s.id = m.sample_id")
        args: tuple = ()
        if sample is not None:
            sql += " WHERE s.name = ?"
            args = (sample,)
        con = self.connection
        out = []
        for r in con.execute(sql + " ORDER BY s.name, m.id", args).fetchall():
            files = [{"path": f["path"], "sha256": f["sha256"]} for f in con.execute(
                "SELECT path, sha256 FROM measurement_files WHERE measurement_id = ? "
                "ORDER BY position", (r["id"],))]
            out.append({**dict(r), "conditions": json.loads(r["conditions"]), "files": files})
        return out

    # -- analyses -------------------------------------------------------------------------------

    def _measurement_ids(self, sample_id: int, sample: str,
                         measurements: Iterable[str | int]) -> list[int]:
        ids = []
        con = self.connection
        for m in measurements:
            if isinstance(m, int) and not isinstance(m, bool):
                row = con.execute("SELECT id FROM measurements WHERE id = ? AND sample_id = ?",
                                  (m, sample_id)).fetchone()
            else:
                row = con.execute("SELECT id FROM measurements WHERE name = ? AND sample_id = ?",
                                  (str(m), sample_id)).fetchone()
            if row is None:
                known = [r[0] for r in con.execute(
                    "SELECT name FROM measurements WHERE sample_id = ? ORDER BY id",
                    (sample_id,))]
                raise InputError(f"sample {sample!r} has no measurement {m!r}",
                                 field="measurements",
                                 expected=f"one of {known} (add it with add_measurement)")
            if int(row[0]) not in ids:
                ids.append(int(row[0]))
        return ids

    def save_analysis(
        self,
        sample: str,
        method: str,
        result: Result,
        *,
        cache_key: str | None,
        measurements: Iterable[str | int] = (),
        label: str | None = None,
        conditions: Mapping[str, Any] | None = None,
        figures: Mapping[str, bytes] | None = None,
        status: str | None = None,
    ) -> int:
        """Store an analysis and every value of its result, in one transaction.

        Parameters
        ----------
        sample : str
            Sample name (created if new).
        method : str
            Analysis method, e.g. ``"tracer.fit"``.
        result : Result
            Its values become rows of ``results``; ``result.to_dict()`` is kept as JSON.
        cache_key : str or None
            Content hash of the inputs; an analysis of this sample with the same key is replaced.
            None stores without caching.
        measurements : iterable of str or int
            Names (or ids) of the sample's measurements the analysis used.
        label : str, optional
            Short name of the analysis within the sample (``"600 °C, 1 h"``). An older analysis
            of the same sample, method and label with another cache key is marked superseded.
        conditions : mapping, optional
            Conditions of the analysis (SI); by default those of its measurements merged. The
            temperature (K) found in them is copied to every result row.
        figures : mapping of str to bytes, optional
            PNG images to keep with the analysis, by name.
        status : str, optional
            Defaults to the result's own :attr:`~ionscale.results.Result.status`; a stricter
            status may be given (a status milder than the result's is refused).

        Returns
        -------
        int
            The new analysis' id.
        """
        if not isinstance(result, Result):
            raise InputError(f"expected a Result, got {type(result).__name__}", field="result",
                             expected="an ionscale.results.Result")
        from .results import STATUSES

        if status is None:
            status = result.status
        if status not in STATUSES:
            raise InputError(f"unknown status {status!r}", field="status",
                             expected=f"one of {list(STATUSES)}")
        if STATUSES.index(status) < STATUSES.index(result.status):
            raise InputError(f"status {status!r} is milder than the result's own "
                             f"{result.status!r}", field="status",
                             expected="the result's status or a stricter one")
        diagnostics_json = _dumps([d.to_dict() for d in result.diagnostics])
        result_json = _dumps(result.to_dict())
        rows = []
        for position, (key, v) in enumerate(result.values.items()):
            fv, fe, funit = v.field()
            own_T = (v.details or {}).get("temperature_K")  # a value of a temperature series
            rows.append((position, key, v.label, _finite(v.value), _finite(v.error), v.unit,
                         _finite(fv), _finite(fe), funit, _finite(own_T)))
        figure_rows = []
        for name, png in (figures or {}).items():
            if not isinstance(png, bytes | bytearray | memoryview):
                raise InputError(f"figure {name!r} is {type(png).__name__}", field="figures",
                                 expected="PNG bytes")
            figure_rows.append((str(name), bytes(png)))
        prov = result.provenance
        now = _now()
        with self.transaction() as con:
            sample_id = self._sample_id(sample, create=True)
            measurement_ids = self._measurement_ids(sample_id, sample, measurements)
            if conditions is None:
                merged: dict[str, Any] = {}
                temps = set()
                for mid in measurement_ids:
                    r = con.execute("SELECT conditions, temperature_K FROM measurements "
                                    "WHERE id = ?", (mid,)).fetchone()
                    merged.update(json.loads(r["conditions"]))
                    if r["temperature_K"] is not None:
                        temps.add(r["temperature_K"])
                conditions = merged
                temperature = temps.pop() if len(temps) == 1 else None
            else:
                conditions = json_safe(dict(conditions))
                temperature = temperature_of(conditions)
            if cache_key is not None:
                con.execute("DELETE FROM analyses WHERE sample_id = ? AND cache_key = ?",
                            (sample_id, cache_key))
            if label is not None:
                con.execute("UPDATE analyses SET superseded = 1 WHERE sample_id = ? AND "
                            "method = ? AND label = ? AND superseded = 0",
                            (sample_id, method, label))
            cur = con.execute(
                "INSERT INTO analyses (sample_id, method, label, title, parameters, conditions, "
                "temperature_K, version, cache_key, created, saved, status, result, "
                "diagnostics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sample_id, method, label, result.title or "", _dumps(prov.parameters),
                 _dumps(conditions), temperature, prov.version, cache_key, prov.created, now,
                 status, result_json, diagnostics_json))
            aid = int(cur.lastrowid)
            con.executemany("INSERT INTO analysis_inputs (analysis_id, measurement_id) "
                            "VALUES (?, ?)", [(aid, mid) for mid in measurement_ids])
            self._insert_results(con, aid, rows, temperature)
            con.executemany("INSERT INTO figures (analysis_id, name, png) VALUES (?, ?, ?)",
                            [(aid, n, png) for n, png in figure_rows])
            return aid

    @staticmethod
    def _insert_results(con: sqlite3.Connection, analysis_id: int, rows: list[tuple],
                        temperature: float | None) -> None:
        con.executemany(
            "INSERT INTO results (analysis_id, position, name, symbol, value, error, unit, "
            "field_value, field_error, field_unit, temperature_K) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(analysis_id, *r[:-1], temperature if r[-1] is None else r[-1]) for r in rows])

    def find_analysis(self, cache_key: str, sample: str | None = None) -> dict[str, Any] | None:
        """The stored analysis with this ``cache_key`` (of ``sample`` if given), or None.

        Returns
        -------
        dict or None
            As :meth:`analysis`; the newest one if several samples share the key.
        """
        sql = ("SELECT a.id FROM analyses a JOIN samples s ON s.id = a.sample_id "
               "WHERE a.cache_key = ?")
        args: tuple = (cache_key,)
        if sample is not None:
            sql += " AND s.name = ?"
            args += (sample,)
        row = self.connection.execute(sql + " ORDER BY a.id DESC LIMIT 1", args).fetchone()
        return None if row is None else self.analysis(int(row[0]))

    def analyses(self, sample: str | None = None, method: str | None = None, *,
                 include_superseded: bool = False) -> list[dict[str, Any]]:
        """Stored analyses (without the result JSON), oldest first.

        Returns
        -------
        list of dict
            Keys ``id``, ``sample``, ``method``, ``label``, ``title``, ``status``
            (``ok``/``warning``/``failed``), ``diagnostics`` (list of dict: ``code``,
            ``severity``, ``message``, ``fields``), ``superseded``, ``cache_key``,
            ``version``, ``created``, ``saved``, ``temperature_K``, ``parameters`` (dict),
            ``conditions`` (dict).
        """
        sql = (f"SELECT {_ANALYSIS_COLUMNS} FROM analyses a "
               "JOIN samples s ON s.id = a.sample_id")
        where, args = self._filters(sample, method, None, include_superseded)
        rows = self.connection.execute(f"{sql}{where} ORDER BY s.name, a.id", args).fetchall()
        return [self._analysis_row(r) for r in rows]

    @staticmethod
    def _analysis_row(r: sqlite3.Row) -> dict[str, Any]:
        return {**dict(r), "superseded": bool(r["superseded"]),
                "parameters": json.loads(r["parameters"]),
                "conditions": json.loads(r["conditions"]),
                "diagnostics": json.loads(r["diagnostics"])}

    @staticmethod
    def _filters(sample: str | None, method: str | None, name: str | None,
                 include_superseded: bool) -> tuple[str, tuple]:
        clauses, args = [], []
        for column, value in (("s.name", sample), ("a.method", method), ("r.name", name)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if not include_superseded:
            clauses.append("a.superseded = 0")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", tuple(args)

    def analysis(self, analysis_id: int) -> dict[str, Any]:
        """One analysis with everything stored about it.

        Returns
        -------
        dict
            The keys of :meth:`analyses` plus ``result`` (the stored ``Result.to_dict()``),
            ``values`` (its rows of :meth:`results`), ``measurements`` (names of the inputs)
            and ``figures`` (names of the stored figures; bytes via :meth:`figures`).

        Raises
        ------
        InputError
            No analysis has this id.
        """
        con = self.connection
        row = con.execute(f"SELECT {_ANALYSIS_COLUMNS}, a.result FROM analyses a "
                          "JOIN samples s ON s.id = a.sample_id WHERE a.id = ?",
                          (int(analysis_id),)).fetchone()
        if row is None:
            raise InputError(f"no analysis with id {analysis_id}", file=self._where, field="id",
                             expected="an id listed by `ionscale db list`")
        out = self._analysis_row(row)
        out["result"] = json.loads(row["result"])
        values = con.execute(_RESULT_QUERY + " WHERE r.analysis_id = ? ORDER BY r.position",
                             (out["id"],)).fetchall()
        out["values"] = [self._result_row(r) for r in values]
        out["measurements"] = [r[0] for r in con.execute(
            "SELECT m.name FROM analysis_inputs i JOIN measurements m ON m.id = i.measurement_id "
            "WHERE i.analysis_id = ? ORDER BY m.id", (out["id"],))]
        out["figures"] = [r[0] for r in con.execute(
            "SELECT name FROM figures WHERE analysis_id = ? ORDER BY name", (out["id"],))]
        return out

    def figures(self, analysis_id: int) -> dict[str, bytes]:
        """The PNG figures stored with an analysis, by name."""
        return {r[0]: bytes(r[1]) for r in self.connection.execute(
            "SELECT name, png FROM figures WHERE analysis_id = ? ORDER BY name",
            (int(analysis_id),))}

    @staticmethod
    def _result_row(r: sqlite3.Row) -> dict[str, Any]:
        out = dict(r)
        out["superseded"] = bool(out["superseded"])
        return out

    def results(self, sample: str | None = None, method: str | None = None,
                name: str | None = None, *, include_superseded: bool = False
                ) -> list[dict[str, Any]]:
        """Stored values, one row per value of each analysis.

        Parameters
        ----------
        sample, method, name : str, optional
            Keep only this sample, analysis method, value name (``"D"``, ``"Ea"``).
        include_superseded : bool
            Also return values of superseded analyses.

        Returns
        -------
        list of dict
            Keys ``analysis_id``, ``sample``, ``method``, ``label``, ``title``, ``status`` (of
            the analysis), ``name``,
            ``symbol``, ``value``, ``error``, ``unit`` (SI; non-finite stored as None),
            ``field_value``, ``field_error``, ``field_unit``, ``temperature_K`` (None when
            unknown), ``created``, ``version``, ``cache_key``, ``superseded``; ordered by
            sample, method, temperature, analysis.

        Examples
        --------
        >>> rows = db.results(name="D")                             # doctest: +SKIP
        >>> [(r["temperature_K"], r["value"], r["error"]) for r in rows]    # doctest: +SKIP
        """
        where, args = self._filters(sample, method, name, include_superseded)
        rows = self.connection.execute(
            f"{_RESULT_QUERY}{where} ORDER BY s.name, a.method, r.temperature_K IS NULL, "
            "r.temperature_K, a.id, r.position", args).fetchall()
        return [self._result_row(r) for r in rows]

    # -- export ---------------------------------------------------------------------------------

    def export(self, path: str | os.PathLike, format: str = "csv",
               sample: str | None = None) -> Path:
        """Write the stored results to a CSV or JSON file, atomically.

        Parameters
        ----------
        path : str or path-like
            Output file; written to a temporary file in the same folder and renamed into place
            (:func:`ionscale.io.atomic.write_text_atomic`), so an existing file is replaced only
            by a complete export.
        format : {"csv", "json"}
            ``csv``: one row per value (columns :data:`EXPORT_COLUMNS`, SI and field units).
            ``json``: samples, measurements and analyses with their full stored results.
        sample : str, optional
            Export only this sample.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        fmt = str(format).lower()
        if fmt not in {"csv", "json"}:
            raise InputError(f"unknown export format {format!r}", field="format",
                             expected="'csv' or 'json'")
        if self._where != ":memory:" and Path(path).resolve() == self.path.resolve():
            raise InputError("refusing to export over the database itself", file=path,
                             expected="another file name")
        out = Path(path)
        if not out.parent.is_dir():
            raise InputError("the folder to write into does not exist", file=out,
                             expected="an existing folder")
        text = io.StringIO()
        if fmt == "csv":
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(EXPORT_COLUMNS)
            for r in self.results(sample=sample):
                writer.writerow(["" if r[c] is None else r[c] for c in EXPORT_COLUMNS])
        else:
            payload = {
                "format": "ionscale-results",
                "schema_version": SCHEMA_VERSION,
                "ionscale_version": _package_version(),
                "exported": _now(),
                "database": self._where,
                "samples": [s for s in self.samples() if sample is None or s["name"] == sample],
                "measurements": self.measurements(sample),
                "analyses": [self.analysis(a["id"]) for a in self.analyses(sample)],
            }
            json.dump(json_safe(payload), text, indent=2, ensure_ascii=False, allow_nan=False)
            text.write("\n")
        return write_text_atomic(out, text.getvalue())


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """Open ``path`` without writing anything (not even the WAL index), for reading commands
    on read-only files and folders."""
    uri = path.resolve().as_uri()
    try:
        con = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=60.0)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.OperationalError:
        # a WAL file in a read-only folder cannot create its -shm index: read it as immutable
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)


def _guard_sqlite(method):
    """Turn SQLite and JSON errors of a damaged database into an InputError naming the file."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc) or "read-only" in str(exc):
                raise InputError(f"the results database is read-only ({exc})", file=self._where,
                                 expected="a writable file for this command") from None
            raise InputError(f"the results database cannot be used ({exc})", file=self._where,
                             expected="an intact ionscale database") from None
        except sqlite3.DatabaseError as exc:
            raise InputError(f"the results database is damaged ({exc})", file=self._where,
                             expected="an intact ionscale database") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"a stored record is not valid JSON ({exc.msg} at {exc.pos})",
                             file=self._where, expected="an intact ionscale database") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"a stored text is not valid UTF-8 ({exc.reason} at byte "
                             f"{exc.start})", file=self._where,
                             expected="an intact ionscale database") from None

    return wrapper


for _name in ("add_sample", "add_measurement", "samples", "measurements", "save_analysis",
              "find_analysis", "analyses", "analysis", "figures", "results", "export",
              "schema_version"):
    _attr = getattr(Store, _name)
    if isinstance(_attr, property):
        setattr(Store, _name, property(_guard_sqlite(_attr.fget)))
    else:
        setattr(Store, _name, _guard_sqlite(_attr))
del _name, _attr


def _package_version() -> str:
    from . import __version__

    return __version__
