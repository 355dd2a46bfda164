"""Backup and restore: the whole database in one file, readable by either backend.

A backup is a zip archive holding ``manifest.json`` and one JSON Lines file per table, one row
per line in primary-key order. The manifest records the format, the Alembic schema revision
and every table's columns and row count. The tables are taken from ``db.Base.metadata``, so a
table added by a later migration is backed up without a change here. Values are written as
JSON by their column's type, so a backup made from SQLite restores into PostgreSQL and back
with nothing lost or reinterpreted.

A restore replaces everything in the target database in one transaction: it ends with every
row of the backup, or it changes nothing. Before the first write it reads the whole backup
once, line by line with a cap on a line's length, and checks every record's shape (an object
with exactly the table's columns), types (numbers, text within the column's length, dates,
base64 bytes) and meaning (criteria files parse, round labels are round labels, statuses and
roles are known ones); a backup that fails is refused naming the member and line, so a
tampered file can neither break the database nor leave it holding what the league cannot
read. The restore itself is recorded in the audit trail.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Boolean, Float, Integer, LargeBinary, String, Table, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from kim_metrics.storage.models import Base, CriteriaVersion, DataVersion, utcnow
from kim_metrics.storage.engine import retry_reason, retry_when_busy, write_transaction
from kim_metrics.domain.access import ROLES
from kim_metrics.domain.criteria import parse_criteria
from kim_metrics.domain.errors import KimError
from kim_metrics.domain.ima import parse_framework
from kim_metrics.domain.rounds import normalise_label
from kim_metrics.domain.scoring import CHALLENGED, SELF_DECLARED, VERIFIED
from kim_metrics.storage import audit
from kim_metrics.storage.audit import SYSTEM_ACTOR, data_version

FORMAT = "kim-league-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_INSERT_BATCH = 1_000
_READ_BATCH = 5_000
# Longest line (one row) a restore reads. The longest rows are stored results (an Arrow
# file of a round's league, base64): about 3 MB for a 10,000-team department.
MAX_LINE_BYTES = 64 * 1024 * 1024
RESTORED = "backup restored"


@dataclass(frozen=True)
class BackupSummary:
    file: str
    schema_revision: str
    rows: dict[str, int]  # table → row count, in the order tables are restored

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def tables() -> list[Table]:
    """Every table of the schema, parents before the tables that refer to them."""
    return list(Base.metadata.sorted_tables)


# --- backup ----------------------------------------------------------------------------------

def backup(engine: Engine, output: str | os.PathLike) -> BackupSummary:
    """Write every table to ``output``, read from one consistent snapshot of the database."""
    path = Path(output)
    partial = path.with_name(path.name + ".partial")
    rows: dict[str, int] = {}
    try:
        with _snapshot(engine) as conn, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            revision = _revision(conn)
            for table in tables():
                encoders = [(c.name, _encoder(c.type)) for c in table.columns]
                count = 0
                with archive.open(f"tables/{table.name}.jsonl", "w") as out:
                    result = conn.execution_options(yield_per=_READ_BATCH).execute(
                        select(table).order_by(*table.primary_key.columns))
                    for row in result:
                        record = {name: encode(value) for (name, encode), value in zip(encoders, row)}
                        out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
                        count += 1
                rows[table.name] = count
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "schema_revision": revision,
                "created_at": utcnow().isoformat(timespec="seconds") + "Z",
                "source": conn.dialect.name,
                "tables": [{"name": t.name, "rows": rows[t.name], "columns": [c.name for c in t.columns]}
                           for t in tables()],
            }
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
        # Written aside and renamed, so an interrupted backup never leaves a file that looks whole.
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise KimError(f"Cannot write the backup to {output}: {exc.strerror or exc}. Check the folder "
                       "exists and you can write to it.") from None
    return BackupSummary(file=str(path), schema_revision=revision, rows=rows)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that sees the database as it was when it began."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn, conn.begin():
            # pysqlite only opens a transaction before a write; without one every SELECT would
            # see the database as of that statement, and a save in between would tear the backup.
            conn.exec_driver_sql("BEGIN")
            yield conn
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        yield conn


def _revision(conn: Connection) -> str:
    return MigrationContext.configure(conn).get_current_revision() or "none"


# --- restore ---------------------------------------------------------------------------------

def restore(engine: Engine, source: str | os.PathLike, *, force: bool = False,
            actor: str = SYSTEM_ACTOR) -> BackupSummary:
    """Replace the contents of the database with a backup, in one transaction.

    Refuses a database that already holds data unless ``force``, a backup made at another
    schema revision, a file that is not a whole backup and any record that does not hold
    what its table holds; all of it is checked before the first write.
    """
    name = Path(source).name
    try:
        archive = zipfile.ZipFile(source)
    except FileNotFoundError:
        raise KimError(f"{source}: no such file. Check the name and folder.") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise KimError(f"{name} is not a KIM League backup, or it is damaged ({exc}). Use a file "
                       "written by `kim backup`.") from None
    with archive:
        manifest = _manifest(archive, name)
        with engine.connect() as conn:
            _check_revision(manifest, _revision(conn), name)
        counts = _check_all(archive, manifest, name)
        return _restore(engine, archive, manifest, counts, name, force, actor)


def _manifest(archive: zipfile.ZipFile, name: str) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise KimError(f"{name} is not a KIM League backup (it has no readable {MANIFEST}). Use a file "
                       "written by `kim backup`.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise KimError(f"{name} is not a KIM League backup. Use a file written by `kim backup`.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise KimError(f"{name} is a version {manifest.get('format_version')} backup; this version of "
                       f"KIM League reads version {FORMAT_VERSION}. Restore it with the version that "
                       "wrote it.")
    listed = manifest.get("tables")
    if not isinstance(listed, list) or not all(
            isinstance(t, dict) and isinstance(t.get("name"), str)
            and isinstance(t.get("rows"), int) and not isinstance(t.get("rows"), bool) and t["rows"] >= 0
            for t in listed):
        raise KimError(f"{name}: {MANIFEST} is damaged (its tables are not a list of names and row "
                       "counts). Use a file written by `kim backup`. Nothing was changed.")
    if not isinstance(manifest.get("schema_revision"), str):
        raise KimError(f"{name}: {MANIFEST} is damaged (no schema revision). Use a file written by "
                       "`kim backup`. Nothing was changed.")
    return manifest


def _check_revision(manifest: dict, revision: str, name: str) -> None:
    if manifest["schema_revision"] != revision:
        raise KimError(f"{name} was made from a database at schema revision "
                       f"{manifest['schema_revision']}; this database is at revision {revision}. "
                       "Restore it into a database set up by the same version of KIM League, then "
                       "upgrade that with `kim init`.")


def _check_all(archive: zipfile.ZipFile, manifest: dict, name: str) -> dict[str, int]:
    """Read the whole backup once and check every record; each table's row count.

    Nothing is kept but the counts, so a backup of any size is checked in bounded memory.
    """
    listed = {t["name"]: t for t in manifest["tables"]}
    missing = [t.name for t in tables() if t.name not in listed]
    if missing:
        raise KimError(f"{name} has no data for table(s) {', '.join(missing)}; it is incomplete. "
                       "Use a whole backup written by `kim backup`.")
    counts = {}
    for table in tables():
        checks = _column_checks(table)
        count = 0
        for _line, _record in _records(archive, table, name, checks):
            count += 1
        if count != listed[table.name]["rows"]:
            raise KimError(f"{name} lists {listed[table.name]['rows']} rows for table {table.name} "
                           f"but holds {count}; it is damaged. Nothing was changed.")
        counts[table.name] = count
    return counts


@retry_when_busy
def _restore(engine: Engine, archive: zipfile.ZipFile, manifest: dict, counts: dict[str, int],
             name: str, force: bool, actor: str) -> BackupSummary:
    listed = {t["name"]: t for t in manifest["tables"]}
    with write_transaction(engine) as conn:
        revision = _revision(conn)
        _check_revision(manifest, revision, name)
        held = _data_held(conn)
        version_before = data_version(conn)
        if held and not force:
            raise KimError(f"This database already holds data ({held}). A restore replaces all of it: "
                           "add --force to go ahead, or restore into an empty database.")
        for table in reversed(tables()):
            conn.execute(delete(table))
        rows: dict[str, int] = {}
        try:
            for table in tables():
                rows[table.name] = _load_table(conn, archive, table, name)
                if rows[table.name] != counts[table.name]:
                    raise KimError(f"{name} lists {listed[table.name]['rows']} rows for table "
                                   f"{table.name} but holds {rows[table.name]}; it is damaged. Nothing "
                                   "was changed.")
            _reset_sequences(conn)
            # Past any version the pages have cached, whatever number the backup held: the
            # audit record of the restore moves it one past the higher of the two.
            conn.execute(update(DataVersion).where(DataVersion.id == 1).values(
                version=max(version_before, data_version(conn))))
            audit.record(conn, actor=actor, action=RESTORED, target=name,
                         after={"schema_revision": revision, "rows": rows, "replaced": held or None,
                                "backup_created_at": manifest.get("created_at")})
        except DBAPIError as exc:
            if retry_reason(exc) == "busy":
                raise  # retry_when_busy tries again
            raise KimError(f"{name} could not be restored into this database: {exc.orig}. Nothing was "
                           "changed.") from exc
    return BackupSummary(file=name, schema_revision=revision, rows=rows)


def _data_held(conn: Connection) -> str:
    """What the database holds, in words, ignoring what `kim init` puts in every new database."""
    held = []
    for table in tables():
        if table is DataVersion.__table__:
            continue  # a counter every database has, not data
        count = conn.scalar(select(func.count()).select_from(table))
        if table is CriteriaVersion.__table__:
            # The shipped criteria, loaded by the system when the database was created.
            seeded = conn.scalar(select(func.count()).select_from(table)
                                 .where(CriteriaVersion.loaded_by == SYSTEM_ACTOR))
            if count == seeded <= 1:
                count = 0
        if count:
            held.append(f"{count:,} {table.name} row{'s' if count != 1 else ''}")
    return ", ".join(held)


def _load_table(conn: Connection, archive: zipfile.ZipFile, table: Table, name: str) -> int:
    checks = _column_checks(table)
    count = 0
    batch: list[dict] = []
    for _line, record in _records(archive, table, name, checks):
        batch.append(record)
        if len(batch) >= _INSERT_BATCH:
            conn.execute(insert(table), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)
        count += len(batch)
    return count


def _records(archive: zipfile.ZipFile, table: Table, name: str,
             checks: dict[str, Callable[[object], object]]) -> Iterator[tuple[int, dict]]:
    """Each row of a table's member, checked and decoded, with its line number.

    A line is read with a cap on its length, so a line of hundreds of megabytes is refused
    after reading ``MAX_LINE_BYTES`` of it, not held whole.
    """
    member = f"tables/{table.name}.jsonl"
    line_no = 0

    def refuse(why: str) -> KimError:
        where = f"{member}, line {line_no}" if line_no else member
        return KimError(f"{name} is damaged: {where}: {why}. Nothing was changed; use a backup "
                        "written by `kim backup`.")

    try:
        with archive.open(member) as raw:
            while True:
                line = raw.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return
                line_no += 1
                if len(line) > MAX_LINE_BYTES:
                    raise refuse(f"the line is longer than {MAX_LINE_BYTES // 2 ** 20} MB, more than "
                                 "any row KIM League writes")
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise refuse(f"not a JSON record ({exc})") from None
                try:
                    yield line_no, _check_record(table, record, checks)
                except (ValueError, TypeError, KimError) as exc:
                    raise refuse(str(exc)) from None
    except KeyError:
        raise KimError(f"{name} has no {member}; it is incomplete. Use a whole backup written by "
                       "`kim backup`. Nothing was changed.") from None
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
        raise refuse(f"the archive could not be read ({exc})") from None


def _check_record(table: Table, record: object, checks: dict[str, Callable[[object], object]]) -> dict:
    if not isinstance(record, dict):
        raise ValueError(f"a row of {table.name} is an object of its columns, not "
                         f"{type(record).__name__ if record is not None else 'null'}")
    if record.keys() != checks.keys():
        unknown = sorted(set(record) - set(checks))
        absent = sorted(set(checks) - set(record))
        raise ValueError("the row's columns are not the table's ("
                         + "; ".join(filter(None, [f"unknown: {', '.join(map(str, unknown))}" if unknown else "",
                                                   f"missing: {', '.join(absent)}" if absent else ""])) + ")")
    out = {column: check(record[column]) for column, check in checks.items()}
    meaning = _MEANING.get(table.name)
    if meaning:
        meaning(out)
    return out


def _column_checks(table: Table) -> dict[str, Callable[[object], object]]:
    """Column → a function that checks a JSON value for it and returns the value to insert."""
    return {c.name: _column_check(c) for c in table.columns}


def _column_check(column) -> Callable[[object], object]:
    decode = _decoder(column.type)
    kind = column.type
    name = column.name

    def check(value: object) -> object:
        if value is None:
            if not column.nullable or column.primary_key:
                raise ValueError(f"'{name}' is empty but must have a value")
            return None
        if isinstance(kind, Boolean):
            if not isinstance(value, bool) and value not in (0, 1):
                raise ValueError(f"'{name}' must be true or false, not {value!r:.40}")
        elif isinstance(kind, Integer):
            if not isinstance(value, int) or isinstance(value, bool) or not -2 ** 63 <= value < 2 ** 63:
                raise ValueError(f"'{name}' must be a whole number, not {value!r:.40}")
        elif isinstance(kind, Float):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"'{name}' must be a number, not {value!r:.40}")
        elif isinstance(kind, (String, LargeBinary)) or _python_type(kind) in (dt.datetime, dt.date, dt.time):
            if not isinstance(value, str):
                raise ValueError(f"'{name}' must be text, not {value!r:.40}")
            length = getattr(kind, "length", None)
            if isinstance(kind, String) and length and len(value) > length:
                raise ValueError(f"'{name}' is {len(value)} characters; the column holds {length}")
        try:
            if isinstance(kind, LargeBinary):
                return base64.b64decode(value, validate=True)
            return decode(value)
        except (ValueError, TypeError, decimal.InvalidOperation) as exc:
            raise ValueError(f"'{name}' holds {value!r:.40}, which is not its type ({exc})") from None

    return check


# What a row must mean, beyond its types: what the league reads back must parse.

def _criteria_row(row: dict) -> None:
    parse_criteria(row["toml"], file_name="the stored criteria")


def _round_row(row: dict) -> None:
    if normalise_label(row["label"]) != row["label"]:
        raise ValueError(f"'{row['label']}' is not a round label as KIM League writes it")


def _score_row(row: dict) -> None:
    if row["review_status"] not in (SELF_DECLARED, VERIFIED, CHALLENGED):
        raise ValueError(f"'{row['review_status']:.40}' is not a review status "
                         f"({SELF_DECLARED}, {VERIFIED} or {CHALLENGED})")


def _role_row(row: dict) -> None:
    if row["role"] not in ROLES:
        raise ValueError(f"'{row['role']:.40}' is not a role ({', '.join(ROLES)})")


def _framework_row(row: dict) -> None:
    parse_framework(row["toml"], file_name="the stored IMA framework")


_MEANING: dict[str, Callable[[dict], None]] = {
    CriteriaVersion.__tablename__: _criteria_row, "round": _round_row, "score": _score_row,
    "role_grant": _role_row, "ima_framework": _framework_row,
}


def _reset_sequences(conn: Connection) -> None:
    """Point PostgreSQL's id sequences past the ids just inserted, so the next insert gets a new one."""
    if conn.dialect.name != "postgresql":
        return
    quote = conn.dialect.identifier_preparer
    for table in tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:table, :column)"),
                               {"table": quote.format_table(table), "column": pk[0].name})
        if sequence:
            top = conn.scalar(select(func.max(pk[0])))
            conn.execute(text("SELECT setval(CAST(:sequence AS regclass), :next, false)"),
                         {"sequence": sequence, "next": (top or 0) + 1})


# --- values as JSON --------------------------------------------------------------------------

def _python_type(column_type) -> type | None:
    try:
        return column_type.python_type
    except NotImplementedError:
        return None


def _encoder(column_type) -> Callable[[object], object]:
    kind = _python_type(column_type)
    if kind in (dt.datetime, dt.date, dt.time):
        return lambda v: None if v is None else v.isoformat()
    if kind is decimal.Decimal:
        return lambda v: None if v is None else str(v)
    if kind is bytes:
        return lambda v: None if v is None else base64.b64encode(v).decode("ascii")
    return lambda v: v


def _decoder(column_type) -> Callable[[object], object]:
    kind = _python_type(column_type)
    if kind in (dt.datetime, dt.date, dt.time):
        return lambda v: None if v is None else kind.fromisoformat(v)
    if kind is decimal.Decimal:
        return lambda v: None if v is None else decimal.Decimal(v)
    if kind is bytes:
        return lambda v: None if v is None else base64.b64decode(v)
    if kind is bool:
        return lambda v: None if v is None else bool(v)
    return lambda v: v
