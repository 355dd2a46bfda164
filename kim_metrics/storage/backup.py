"""Backup and restore: the whole database in one file, readable by either backend.

A backup is a zip archive holding ``manifest.json`` and one JSON Lines file per table, one row
per line in primary-key order. The manifest records the format, the Alembic schema revision
and every table's columns and row count. The tables are taken from ``db.Base.metadata``, so a
table added by a later migration is backed up without a change here. Values are written as
JSON by their column's type, so a backup made from SQLite restores into PostgreSQL and back
with nothing lost or reinterpreted.

A restore replaces everything in the target database in one transaction: it ends with every
row of the backup, or it changes nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Integer, Table, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from kim_metrics.storage.models import Base, CriteriaVersion, DataVersion, utcnow
from kim_metrics.storage.engine import retry_reason, retry_when_busy, write_transaction
from kim_metrics.domain.errors import KimError
from kim_metrics.storage.audit import SYSTEM_ACTOR, data_version

FORMAT = "kim-league-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_INSERT_BATCH = 1_000
_READ_BATCH = 5_000


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

def restore(engine: Engine, source: str | os.PathLike, *, force: bool = False) -> BackupSummary:
    """Replace the contents of the database with a backup, in one transaction.

    Refuses a database that already holds data unless ``force``, a backup made at another
    schema revision, and a file that is not a whole backup.
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
        return _restore(engine, archive, manifest, name, force)


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
    return manifest


@retry_when_busy
def _restore(engine: Engine, archive: zipfile.ZipFile, manifest: dict, name: str,
             force: bool) -> BackupSummary:
    listed = {t["name"]: t for t in manifest.get("tables", [])}
    with write_transaction(engine) as conn:
        revision = _revision(conn)
        if manifest.get("schema_revision") != revision:
            raise KimError(f"{name} was made from a database at schema revision "
                           f"{manifest.get('schema_revision')}; this database is at revision {revision}. "
                           "Restore it into a database set up by the same version of KIM League, then "
                           "upgrade that with `kim init`.")
        missing = [t.name for t in tables() if t.name not in listed]
        if missing:
            raise KimError(f"{name} has no data for table(s) {', '.join(missing)}; it is incomplete. "
                           "Use a whole backup written by `kim backup`.")
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
                if rows[table.name] != listed[table.name].get("rows"):
                    raise KimError(f"{name} lists {listed[table.name].get('rows')} rows for table "
                                   f"{table.name} but holds {rows[table.name]}; it is damaged. Nothing "
                                   "was changed.")
            _reset_sequences(conn)
            # Past any version the pages have cached, whatever number the backup held.
            conn.execute(update(DataVersion).where(DataVersion.id == 1).values(
                version=max(version_before, data_version(conn)) + 1))
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
    decoders = {c.name: _decoder(c.type) for c in table.columns}
    count = 0
    batch: list[dict] = []
    try:
        with archive.open(f"tables/{table.name}.jsonl") as raw:
            for line in io.TextIOWrapper(raw, encoding="utf-8"):
                if not line.strip():
                    continue
                record = json.loads(line)
                batch.append({k: decoders[k](v) for k, v in record.items() if k in decoders})
                if len(batch) >= _INSERT_BATCH:
                    conn.execute(insert(table), batch)
                    count += len(batch)
                    batch = []
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile, EOFError) as exc:
        raise KimError(f"{name} is damaged: table {table.name} could not be read ({exc}). Nothing was "
                       "changed.") from exc
    if batch:
        conn.execute(insert(table), batch)
        count += len(batch)
    return count


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
