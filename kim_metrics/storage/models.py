"""The tables. Alembic migrations (``storage/migrations``) own the schema; these models
describe it for queries."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy import false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kim_metrics.domain.scoring import SELF_DECLARED


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
    # The date returns are due; a return saved after it is accepted and marked late.
    deadline: Mapped[date | None] = mapped_column(Date)
    # A closed round refuses returns until an admin reopens it.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[str | None] = mapped_column(String(320))


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
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


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
    review_status: Mapped[str] = mapped_column(String(20), default=SELF_DECLARED)
    reviewed_value: Mapped[float | None] = mapped_column(Float)
    reviewer: Mapped[str | None] = mapped_column(String(320))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)


class ScoreComment(Base):
    """One message in a score's thread: a challenge's follow-up, the team's answer."""

    __tablename__ = "score_comment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("score.id"), index=True)
    author: Mapped[str] = mapped_column(String(320))
    written_at: Mapped[datetime] = mapped_column(DateTime)
    body: Mapped[str] = mapped_column(Text)


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


# Stored results -------------------------------------------------------------------------
#
# Scores, statuses and ranks are computed when data changes (a saved return, a review, an
# organisation load, a round opened), in the same transaction as the change, and every read
# uses them. Each round keeps one table per level (team, directorate, group, department) as
# an Arrow IPC file: a 10,000-team league reads back in one row and one decode, on any
# backend, where a row per team would spend longer in the driver than in the database.

class RoundResult(Base):
    __tablename__ = "round_result"
    __table_args__ = (UniqueConstraint("round_id", "level"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    level: Mapped[str] = mapped_column(String(20))   # team | directorate | group | department
    rows: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DataVersion(Base):
    """One row whose number rises with every committed change: the pages' cache key.

    Every audited write bumps it in its own transaction, so a save through one dashboard
    replica shows on every replica at its next page run.
    """

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class Action(Base):
    """A next step a team committed to: an owner, a due date, and the score that closes it."""

    __tablename__ = "action"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    criterion: Mapped[str] = mapped_column(String(64))
    # The round whose scores the action was adopted from; later rounds' scores can close it.
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    target_value: Mapped[float] = mapped_column(Float)     # on the criterion's own scale
    target_label: Mapped[str] = mapped_column(String(200))
    target_status: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(320))
    due_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_reason: Mapped[str | None] = mapped_column(Text)


# Messages the product sent: one row per message handed to a mail service.

class SentMessage(Base):
    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("reason", "recipient", name="uq_message_reason_recipient"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "recipient", not "to": TO is a reserved word in PostgreSQL and would need quoting by hand.
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    round: Mapped[str | None] = mapped_column(String(20), index=True)
    # Why the message was sent, e.g. "reminder:2026-Q3:team:42:due-soon"; never sent twice.
    reason: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    transport: Mapped[str] = mapped_column(String(20))
    # The mail service's own id (SMTP Message-ID, GOV.UK Notify notification id), for tracing.
    provider_id: Mapped[str | None] = mapped_column(String(200))


# The department's Information Management Assessment (see ``storage.ima``).

class ImaFramework(Base):
    __tablename__ = "ima_framework"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    toml: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(320))


class ImaAssessment(Base):
    __tablename__ = "ima_assessment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    assessed_on: Mapped[date] = mapped_column(Date)
    assessor: Mapped[str | None] = mapped_column(String(320))
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(320))


class ImaRating(Base):
    __tablename__ = "ima_rating"
    __table_args__ = (UniqueConstraint("assessment_id", "sub_area"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("ima_assessment.id"), index=True)
    sub_area: Mapped[str] = mapped_column(String(64))
    rating: Mapped[str] = mapped_column(String(64))


class ImaNarrative(Base):
    """Per area of an assessment: the situation at the assessment and the progress since."""

    __tablename__ = "ima_narrative"
    __table_args__ = (UniqueConstraint("assessment_id", "area"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("ima_assessment.id"), index=True)
    area: Mapped[str] = mapped_column(String(64))
    situation: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[str] = mapped_column(Text, default="")


class ImaRecommendation(Base):
    __tablename__ = "ima_recommendation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("ima_assessment.id"), index=True)
    area: Mapped[str] = mapped_column(String(64))
    sub_area: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    priority: Mapped[str | None] = mapped_column(String(20))
    repeated_at_id: Mapped[int | None] = mapped_column(ForeignKey("ima_assessment.id"))
    next_step: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)


class ImaAction(Base):
    __tablename__ = "ima_action"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("ima_recommendation.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(320))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    commentary: Mapped[str] = mapped_column(Text, default="")
    # Closure is the KIM team's sign-off: who signed it off and when.
    closed_by: Mapped[str | None] = mapped_column(String(320))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320))
    position: Mapped[int] = mapped_column(Integer)
