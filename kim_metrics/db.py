"""The database: tables, engine and schema migrations.

SQLite at ``data/kim.db`` by default; any SQLAlchemy URL through ``KIM_DATABASE_URL`` or
``--db`` (PostgreSQL for several dashboard replicas sharing one database). The schema is
owned by Alembic: ``init_db`` upgrades a database to the newest revision.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
    create_engine, event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "data" / "kim.db"
DATABASE_URL_ENV = "KIM_DATABASE_URL"
# How long SQLite waits for another writer before giving up; saves are short, so a
# wait this long only happens when many returns arrive in the same second.
SQLITE_BUSY_TIMEOUT_S = 30


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Directorate(Base):
    __tablename__ = "directorate"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    group_name: Mapped[str] = mapped_column(String(200))
    director_email: Mapped[str | None] = mapped_column(String(320))


class Team(Base):
    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("directorate_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    directorate_id: Mapped[int] = mapped_column(ForeignKey("directorate.id"))
    information_managers: Mapped[str] = mapped_column(Text, default="")
    # A team dropped from the organisation workbook keeps its history but leaves the league.
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CriteriaVersion(Base):
    __tablename__ = "criteria_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    toml: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(320))


class Round(Base):
    __tablename__ = "round"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(20), unique=True)
    start_date: Mapped[date] = mapped_column(Date)
    criteria_version_id: Mapped[int] = mapped_column(ForeignKey("criteria_version.id"))
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(320))


class Return(Base):
    __tablename__ = "return"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(500))
    file_hash: Mapped[str] = mapped_column(String(64), index=True)
    uploader: Mapped[str] = mapped_column(String(320))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    layout: Mapped[str] = mapped_column(String(20))
    team_count: Mapped[int] = mapped_column(Integer)
    score_count: Mapped[int] = mapped_column(Integer)


class Score(Base):
    __tablename__ = "score"
    __table_args__ = (Index("ix_score_round_current", "round_id", "current"),
                      Index("ix_score_team", "team_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    criterion: Mapped[str] = mapped_column(String(64))
    claimed_raw: Mapped[str] = mapped_column(Text, default="")
    claimed: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text, default="")
    evidence_link: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    # False once a later return for the same team and round supersedes it; kept as history.
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    review_status: Mapped[str] = mapped_column(String(20), default="self-declared")
    reviewed_value: Mapped[float | None] = mapped_column(Float)
    reviewer: Mapped[str | None] = mapped_column(String(320))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)


class RoleGrant(Base):
    """Admins and executives, granted by email; other roles come from the organisation."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("email", "role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(40))


class AuditRecord(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(320), index=True)
    action: Mapped[str] = mapped_column(String(40))
    round: Mapped[str | None] = mapped_column(String(20), index=True)
    target: Mapped[str] = mapped_column(Text)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


def database_url(url: str | None = None) -> str:
    """The URL to use: the one given, else ``KIM_DATABASE_URL``, else the SQLite default."""
    url = url or os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{DEFAULT_DATABASE_PATH}"
    parsed = make_url(url)
    # People paste postgres:// URLs from their platform; SQLAlchemy wants a named driver.
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
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


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def init_db(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    command.upgrade(alembic_config(engine), "head")
