"""Writing a synthetic department straight into the real schema, fast.

The tables are the application's own (``kim_metrics.storage.schema.ensure_schema`` runs the Alembic
migrations); only the way rows get in differs from the application: the small tables go in
with SQLAlchemy Core executemany, the score table (millions of rows at the large scale) with
SQLite's own ``executemany`` on one transaction, or PostgreSQL's ``COPY``. Rows never go
through ingest, so building the department costs seconds, not the hours 12 real rounds took.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine, make_url

from kim_metrics.storage.models import CriteriaVersion, Directorate, Return, Round, Team
from kim_metrics.storage.engine import database_url, make_engine
from kim_metrics.domain.rounds import start_date
from kim_metrics.storage import results
from kim_metrics.storage.engine import write_transaction
from kim_metrics.storage.schema import ensure_schema

from .generate import BASE_TIME, Department

Progress = Callable[[str], None]
UPLOADER = "im.bench@dept.example.gov.uk"
SCORE_COLUMNS = ("return_id", "round_id", "team_id", "criterion", "claimed_raw", "claimed",
                 "evidence", "evidence_link", "comment", "current", "review_status",
                 "reviewed_value", "reviewer", "review_note", "reviewed_at")


def _quiet(_message: str) -> None:
    pass


@dataclass
class Database:
    """A benchmark database: its URL (what KIM_DATABASE_URL would hold) and an engine on it."""

    backend: str
    url: str
    engine: Engine
    schema: str | None = None       # PostgreSQL: the throwaway schema
    admin_url: str | None = None    # PostgreSQL: the URL without the search path

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_database(path) -> Database:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    ensure_schema(engine)
    return Database("sqlite", url, engine)


def postgres_url_for_schema(base_url: str, schema: str) -> str:
    """The base URL with libpq ``options`` setting the search path, so that every process given
    this URL (the dashboard page too, through KIM_DATABASE_URL) lands in ``schema``."""
    url = make_url(database_url(base_url))
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


def postgres_database(base_url: str, prefix: str = "kim_bench") -> Database:
    """A fresh schema in the PostgreSQL database at ``base_url``; drop it with ``drop_postgres``."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin_url = database_url(base_url)
    admin = make_engine(admin_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    url = postgres_url_for_schema(base_url, schema)
    engine = make_engine(url)
    ensure_schema(engine)
    return Database("postgres", url, engine, schema=schema, admin_url=admin_url)


def drop_postgres(db: Database) -> None:
    db.engine.dispose()
    admin = make_engine(db.admin_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
    finally:
        admin.dispose()


@contextmanager
def temporary_postgres(base_url: str, prefix: str = "kim_bench") -> Iterator[Database]:
    db = postgres_database(base_url, prefix)
    try:
        yield db
    finally:
        drop_postgres(db)


def load_org(db: Database, dept: Department) -> None:
    """The organisation (directorates and teams, with the generator's ids), as ``kim org load``
    would leave it, in one transaction."""
    d, t = dept.directorates, dept.teams
    with db.engine.begin() as conn:
        conn.execute(insert(Directorate), [
            {"id": int(i), "name": n, "group_name": g, "director_email": e}
            for i, n, g, e in zip(d["directorate_id"], d["directorate"], d["group"], d["director"])])
        conn.execute(insert(Team), [
            {"id": int(i), "name": n, "directorate_id": int(di), "information_managers": ims,
             "active": True}
            for i, n, di, ims in zip(t["team_id"], t["team"], t["directorate_id"],
                                     t["information_managers"])])
    _fix_sequences(db, ("directorate", "team"))


def load_department(db: Database, dept: Department, *, progress: Progress = _quiet) -> int:
    """Organisation, rounds, one return per directorate per round, and every score.

    Returns the number of scores written.
    """
    load_org(db, dept)
    n_dirs = len(dept.directorates)
    team_dir = dept.teams["directorate_id"].to_numpy()
    k = len(dept.criteria)
    with db.engine.begin() as conn:
        version = conn.scalar(select(func.max(CriteriaVersion.id)))
        conn.execute(insert(Round), [
            {"id": i + 1, "label": label, "start_date": start_date(label),
             "criteria_version_id": version, "opened_at": BASE_TIME + timedelta(days=91 * i),
             "opened_by": "kim.team@dept.example.gov.uk"}
            for i, label in enumerate(dept.round_labels)])
        per_dir = np.bincount(team_dir, minlength=n_dirs + 1)[1:]
        conn.execute(insert(Return), [
            {"id": i * n_dirs + di + 1, "round_id": i + 1,
             "file_name": f"kim-return-{label}-directorate-{di + 1:04d}.xlsx",
             "file_hash": f"{i:08x}{di:08x}".ljust(64, "0"), "uploader": UPLOADER,
             "uploaded_at": BASE_TIME + timedelta(days=91 * i + 14), "layout": "long",
             "team_count": int(per_dir[di]), "score_count": int(per_dir[di]) * k}
            for i, label in enumerate(dept.round_labels) for di in range(n_dirs)])
    _fix_sequences(db, ("round", "return"))
    writer = _sqlite_writer if db.backend == "sqlite" else _postgres_writer
    written = 0
    with writer(db) as write:
        for i, label in enumerate(dept.round_labels):
            scores = dept.round_scores(i)
            return_ids = i * n_dirs + team_dir[scores["team_id"].to_numpy() - 1]
            write(_score_columns(scores, return_ids, i + 1, db.backend))
            written += len(scores)
            progress(f"round {label}: {written:,} scores written")
    # The application stores each round's results when data changes; a bulk load behind its
    # back computes them once here, as `kim rebuild` would.
    with write_transaction(db.engine) as conn:
        results.rebuild(conn)
    progress("stored results rebuilt for every round")
    if db.backend == "postgres":
        progress("VACUUM ANALYZE (a settled database: statistics and visibility map as "
                 "autovacuum leaves them)")
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("score", "team", "directorate", "round", "return", "round_result"):
                conn.execute(text(f'VACUUM ANALYZE "{table}"'))
    return written


def _none_for_missing(values: pd.Series) -> list:
    arr = values.to_numpy(dtype=object)
    missing = pd.isna(arr)
    if missing.any():
        arr = arr.copy()
        arr[missing] = None
    return arr.tolist()


def _score_columns(scores: pd.DataFrame, return_ids: np.ndarray, round_id: int, backend: str) -> list[list]:
    """The score table's columns (``SCORE_COLUMNS`` order) as Python lists, None for NULL."""
    n = len(scores)
    reviewed_at = _none_for_missing(scores["reviewed_at"])
    if backend == "sqlite":
        # The text form SQLAlchemy's SQLite DateTime type writes and reads back.
        reviewed_at = [None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f") for v in reviewed_at]
    return [
        return_ids.astype(int).tolist(), [round_id] * n, scores["team_id"].astype(int).tolist(),
        _none_for_missing(scores["criterion"]), _none_for_missing(scores["claimed_raw"]),
        scores["claimed"].astype(float).tolist(), _none_for_missing(scores["evidence"]),
        _none_for_missing(scores["evidence_link"]), _none_for_missing(scores["comment"]),
        [True] * n, _none_for_missing(scores["review_status"]),
        _none_for_missing(scores["reviewed_value"]), _none_for_missing(scores["reviewer"]),
        _none_for_missing(scores["review_note"]), reviewed_at,
    ]


@contextmanager
def _sqlite_writer(db: Database):
    path = make_url(db.url).database
    # A connection of its own: one transaction for every round, no per-row foreign-key lookups
    # (the generator's ids are consistent by construction) and no fsync until the end.
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        sql = (f"INSERT INTO score ({', '.join(SCORE_COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(SCORE_COLUMNS))})")

        def write(columns: list[list]) -> None:
            conn.executemany(sql, zip(*columns))

        yield write
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


@contextmanager
def _postgres_writer(db: Database):
    raw = db.engine.raw_connection()
    try:
        pg = raw.driver_connection
        sql = f"COPY score ({', '.join(SCORE_COLUMNS)}) FROM STDIN"

        def write(columns: list[list]) -> None:
            with pg.cursor() as cur, cur.copy(sql) as copy:
                for row in zip(*columns):
                    copy.write_row(row)

        yield write
        pg.commit()
    except BaseException:
        raw.driver_connection.rollback()
        raise
    finally:
        raw.close()


def _fix_sequences(db: Database, tables: tuple[str, ...]) -> None:
    """PostgreSQL: move each table's id sequence past the ids written explicitly."""
    if db.backend != "postgres":
        return
    with db.engine.begin() as conn:
        for table in tables:
            conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 0) + 1, false)"))
