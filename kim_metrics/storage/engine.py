"""The engine and how writes are run.

SQLite at ``data/kim.db`` by default; any SQLAlchemy URL through ``KIM_DATABASE_URL`` or
``--db`` (PostgreSQL for several dashboard replicas sharing one database). The schema is
owned by Alembic: ``init_db`` upgrades a database to the newest revision.
"""

from __future__ import annotations

import functools
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from kim_metrics.domain.errors import DatabaseBusy, KimError
from kim_metrics.settings import default_database_path, env_name, load_settings


DATABASE_URL_ENV = env_name("database_url")


# How long SQLite waits for another writer before giving up; saves are short, so a
# wait this long only happens when many returns arrive in the same second.
SQLITE_BUSY_TIMEOUT_S = 30


# The databases the schema, the bulk writes and the advisory locks are written for.
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
_URL_HELP = ("Give --db or KIM_DATABASE_URL as sqlite:///path/to/kim.db or "
             "postgresql://user:password@host:5432/database.")


def database_url(url: str | None = None) -> str:
    """The URL to use: the one given, else ``KIM_DATABASE_URL``, else the SQLite default.

    Raises ``KimError`` for an address that is not a database URL or names a database other
    than SQLite or PostgreSQL; the message never repeats the address, which may hold a password.
    """
    url = url or load_settings().database_url or f"sqlite:///{default_database_path()}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise KimError(f"The database address is not a URL. {_URL_HELP}") from None
    # People paste postgres:// URLs from their platform; SQLAlchemy wants a named driver.
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise KimError(f"The database address names '{parsed.get_backend_name()}', which KIM League "
                       f"does not support: it runs on SQLite or PostgreSQL. {_URL_HELP}")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the dashboard read while a return is being saved.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"^(down_)?revision\s*=\s*['\"]?(\w+)?['\"]?\s*$", re.M)


def head_revision() -> str:
    """The newest migration's revision, read from the migration files themselves.

    Alembic takes most of a second to import; a dashboard or command whose database is
    already at this revision need not import it at all.
    """
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).add(value)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({sorted(heads)}); chain them")
    return heads.pop()


def database_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it has no schema yet."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def alembic_config(engine: Engine):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


# PostgreSQL advisory lock key taken while the schema is created or upgraded ("KIMSCHEMA").
SCHEMA_LOCK_KEY = 0x4B494D534348454D


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's schema lock for the block: one start creates or upgrades the
    schema while any other waits, then finds it done.

    On PostgreSQL, four dashboards or ``kim init`` starting at once on an empty database
    would otherwise each create the same types and tables, and all but one would fail. The
    lock is a session advisory lock on its own connection, so it is released even if the
    migration's transaction fails, and when the process dies. SQLite needs none: its first
    writer holds the whole file.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({SCHEMA_LOCK_KEY})")
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({SCHEMA_LOCK_KEY})")
            conn.commit()


def init_db(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (nothing to do when it is current)."""
    head = head_revision()
    if database_revision(engine) == head:
        return
    with schema_lock(engine):
        if database_revision(engine) == head:   # another start did it while this one waited
            return
        from alembic import command
        command.upgrade(alembic_config(engine), "head")


RETRY_ATTEMPTS = 8


RETRY_FIRST_DELAY_S = 0.05


RETRY_MAX_DELAY_S = 2.0


# SQLite's own wait already covers most of it; past this, the person is told to try again.
RETRY_DEADLINE_S = 60.0


_SQLITE_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED; extended codes keep them in the low byte


_PG_TRY_AGAIN = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


_PG_UNIQUE_VIOLATION = "23505"


_P = ParamSpec("_P")


_T = TypeVar("_T")


def retry_reason(exc: DBAPIError) -> str | None:
    """"busy" when the database asks to try again, "race" for a key another save just made."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return "busy" if code & 0xFF in _SQLITE_BUSY else None
    state = getattr(orig, "sqlstate", None)
    if state in _PG_TRY_AGAIN:
        return "busy"
    return "race" if state == _PG_UNIQUE_VIOLATION else None


def retry_when_busy(write: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run ``write`` (which opens its own transaction) again while the database says "later"."""
    @functools.wraps(write)
    def retrying(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        started = time.monotonic()
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                return write(*args, **kwargs)
            except DBAPIError as exc:
                reason = retry_reason(exc)
                if reason is None:
                    raise
                delay = min(RETRY_MAX_DELAY_S, RETRY_FIRST_DELAY_S * 2 ** (attempt - 1))
                delay *= random.uniform(0.5, 1.5)  # so the writers that collided do not collide again
                if attempt == RETRY_ATTEMPTS or time.monotonic() - started + delay > RETRY_DEADLINE_S:
                    if reason == "race":
                        raise  # the same key every time is not a race: let the defect show
                    raise DatabaseBusy("The database is busy with other saves and this one could not "
                                       "get in after several tries; nothing was saved. Try again in "
                                       "a minute.") from exc
                time.sleep(delay)
        raise AssertionError("unreachable")
    return retrying


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write, committed on success and rolled back on any error.

    On SQLite the writer lock is taken at the start (BEGIN IMMEDIATE), while nothing has been
    read yet, so SQLite's busy timeout applies. A transaction that reads first and then asks
    to write can instead be refused at once with "database is locked" when another writer got
    in between.
    """
    with engine.connect() as conn:
        with conn.begin():
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
