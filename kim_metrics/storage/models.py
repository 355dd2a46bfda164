"""The tables. Alembic migrations (``storage/migrations``) own the schema; these models
describe it for queries."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
