"""The department's Information Management Assessments, kept: the framework in force,
assessments with their ratings and area narratives, recommendations and their plan actions.

Every write is one transaction with its audit record. Loading a workbook replaces, for each
assessment its Ratings sheet names, that assessment's ratings and narrative, and for each
assessment its Actions sheet names, the recommendations it made (with their actions): the
workbook is the record of what it holds, and the audit keeps what it replaced. Actions the
workbook gives again keep their numbers and their closure sign-off.

The tables are declared on ``db.Base`` here, so ``Base.metadata`` (and with it the backup)
sees them once this module is imported; ``kim_metrics.storage`` imports it for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import pandas as pd
from sqlalchemy import (delete, func, insert, select, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from kim_metrics.domain.ima import Narrative
from kim_metrics.domain.errors import NotFoundError, ValidationError, Problem, ProblemCode
from kim_metrics.domain.ima import (CLOSED, DEFAULT_FRAMEWORK_PATH, Assessment, Framework,
                                    parse_framework, status_change_problem)
from kim_metrics.reading.ima_workbook import ParsedIma
from kim_metrics.domain.names import norm_key
from kim_metrics.storage import audit
from kim_metrics.storage.models import ImaAction, ImaAssessment, ImaFramework, ImaNarrative, ImaRating, ImaRecommendation, utcnow
from kim_metrics.storage.engine import retry_when_busy, write_transaction

# Audit actions (the audit table's action column holds at most 40 characters).
FRAMEWORK_LOADED = "ima framework loaded"
ASSESSMENT_LOADED = "ima assessment loaded"
RECOMMENDATIONS_LOADED = "ima recommendations loaded"
ACTION_UPDATED = "ima action updated"
ACTION_CLOSED = "ima action closed"
ACTION_REOPENED = "ima action reopened"
AUDIT_ACTIONS = (FRAMEWORK_LOADED, ASSESSMENT_LOADED, RECOMMENDATIONS_LOADED, ACTION_UPDATED,
                 ACTION_CLOSED, ACTION_REOPENED)


ACTION_COLUMNS = ["recommendation_id", "assessment", "assessed_on", "area", "sub_area", "recommendation",
                  "priority", "repeated_at", "next_step", "action_id", "action", "owner", "due",
                  "status", "commentary", "closed_by", "closed_at", "updated_at", "updated_by"]


@dataclass(frozen=True)
class SavedIma:
    assessments_added: tuple[str, ...]
    assessments_replaced: tuple[str, ...]
    ratings: int
    recommendations: int
    actions: int


# The framework ---------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _parsed(text: str) -> Framework:
    # A stored framework never changes and a Framework is immutable: parse each text once.
    return parse_framework(text)


def current_framework(conn: Connection) -> Framework:
    """The framework loaded last; the shipped one when none has been loaded."""
    text = conn.scalar(select(ImaFramework.toml).order_by(ImaFramework.id.desc()).limit(1))
    return _parsed(text if text is not None else DEFAULT_FRAMEWORK_PATH.read_text(encoding="utf-8"))


def framework_problems(conn: Connection, framework: Framework) -> list[str]:
    """What stored assessments use that ``framework`` lacks, in words; empty when it fits."""
    sub_areas = {s.id for s in framework.sub_areas}
    areas = {a.id for a in framework.areas}
    ratings = {r.id for r in framework.ratings}
    problems = []
    used = [
        ("sub-area", select(ImaRating.sub_area).distinct(), sub_areas),
        ("rating", select(ImaRating.rating).distinct(), ratings),
        ("area", select(ImaNarrative.area).distinct(), areas),
        ("area", select(ImaRecommendation.area).distinct(), areas),
        ("sub-area", select(ImaRecommendation.sub_area).where(ImaRecommendation.sub_area.is_not(None))
         .distinct(), sub_areas),
    ]
    for what, query, known in used:
        for value in conn.scalars(query):
            message = (f"Stored assessments use the {what} '{value}', which this framework does not "
                       f"have. Keep its id in the framework (rename it if you like).")
            if value not in known and message not in problems:
                problems.append(message)
    return problems


def _pin_framework(conn: Connection, actor: str) -> None:
    """Keep the shipped framework in the database once ratings are read against it, so a later
    release that changes the shipped file cannot reinterpret what is stored."""
    if conn.scalar(select(func.count()).select_from(ImaFramework)):
        return
    text = DEFAULT_FRAMEWORK_PATH.read_text(encoding="utf-8")
    conn.execute(insert(ImaFramework).values(toml=text, loaded_by=actor, loaded_at=utcnow()))
    audit.record(conn, actor=actor, action=FRAMEWORK_LOADED, target="IMA framework", after=text)


@retry_when_busy
def save_framework(engine: Engine, toml_text: str, actor: str, *, file_name: str = "ima_framework.toml") -> Framework:
    framework = parse_framework(toml_text, file_name=file_name)
    with write_transaction(engine) as conn:
        problems = framework_problems(conn, framework)
        if problems:
            raise ValidationError([Problem(file_name, None, None, None, p, code=ProblemCode.CONFLICT)
                                   for p in problems])
        before = conn.scalar(select(ImaFramework.toml).order_by(ImaFramework.id.desc()).limit(1))
        conn.execute(insert(ImaFramework).values(toml=toml_text, loaded_by=actor, loaded_at=utcnow()))
        audit.record(conn, actor=actor, action=FRAMEWORK_LOADED, target="IMA framework",
                     before=before, after=toml_text)
    return framework


# Assessments -------------------------------------------------------------------------------

def assessments(conn: Connection) -> list[Assessment]:
    """Every assessment, oldest first."""
    rows = conn.execute(select(ImaAssessment.name, ImaAssessment.kind, ImaAssessment.assessed_on,
                               ImaAssessment.assessor)
                        .order_by(ImaAssessment.assessed_on, ImaAssessment.id)).all()
    return [Assessment(r.name, r.kind, r.assessed_on, r.assessor) for r in rows]


def ratings(conn: Connection) -> dict[str, dict[str, str]]:
    """Assessment name → {sub-area id → rating id}."""
    out: dict[str, dict[str, str]] = {}
    rows = conn.execute(select(ImaAssessment.name, ImaRating.sub_area, ImaRating.rating)
                        .join(ImaAssessment, ImaRating.assessment_id == ImaAssessment.id)
                        .order_by(ImaRating.id))
    for r in rows:
        out.setdefault(r.name, {})[r.sub_area] = r.rating
    return out


def narratives(conn: Connection) -> dict[str, dict[str, Narrative]]:
    """Assessment name → {area id → its narrative}."""
    out: dict[str, dict[str, Narrative]] = {}
    rows = conn.execute(select(ImaAssessment.name, ImaNarrative.area, ImaNarrative.situation,
                               ImaNarrative.progress)
                        .join(ImaAssessment, ImaNarrative.assessment_id == ImaAssessment.id)
                        .order_by(ImaNarrative.id))
    for r in rows:
        out.setdefault(r.name, {})[r.area] = Narrative(r.situation or "", r.progress or "")
    return out


def actions_frame(conn: Connection) -> pd.DataFrame:
    """One row per action (a recommendation without actions gives one row with no action),
    in the order the workbook gave them: recommendations by assessment date, then position."""
    made = aliased(ImaAssessment)
    repeated = aliased(ImaAssessment)
    stmt = (select(ImaRecommendation.id, made.name, made.assessed_on, ImaRecommendation.area,
                   ImaRecommendation.sub_area, ImaRecommendation.text, ImaRecommendation.priority,
                   repeated.name, ImaRecommendation.next_step, ImaAction.id, ImaAction.text,
                   ImaAction.owner, ImaAction.due_on, ImaAction.status, ImaAction.commentary,
                   ImaAction.closed_by, ImaAction.closed_at, ImaAction.updated_at, ImaAction.updated_by)
            .join(made, ImaRecommendation.assessment_id == made.id)
            .outerjoin(repeated, ImaRecommendation.repeated_at_id == repeated.id)
            .outerjoin(ImaAction, ImaAction.recommendation_id == ImaRecommendation.id)
            .order_by(made.assessed_on, made.id, ImaRecommendation.position, ImaAction.position))
    # Object columns keep None as None (pandas would make missing text NaN) and dates as dates.
    frame = pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=ACTION_COLUMNS, dtype=object)
    frame["next_step"] = frame["next_step"].astype(bool)
    return frame


def _snapshot(conn: Connection, assessment_id: int) -> dict:
    """An assessment's ratings and narrative, as the audit keeps them."""
    rated = conn.execute(select(ImaRating.sub_area, ImaRating.rating)
                         .where(ImaRating.assessment_id == assessment_id).order_by(ImaRating.id))
    told = conn.execute(select(ImaNarrative.area, ImaNarrative.situation, ImaNarrative.progress)
                        .where(ImaNarrative.assessment_id == assessment_id).order_by(ImaNarrative.id))
    head = conn.execute(select(ImaAssessment.kind, ImaAssessment.assessed_on, ImaAssessment.assessor)
                        .where(ImaAssessment.id == assessment_id)).one()
    return {"kind": head.kind, "date": head.assessed_on, "assessor": head.assessor,
            "ratings": {r.sub_area: r.rating for r in rated},
            "narrative": {r.area: {"situation": r.situation, "progress": r.progress} for r in told}}


def _recommendations_snapshot(conn: Connection, assessment_id: int) -> list[dict]:
    out = []
    recs = conn.execute(select(ImaRecommendation).where(ImaRecommendation.assessment_id == assessment_id)
                        .order_by(ImaRecommendation.position)).all()
    for rec in recs:
        acts = conn.execute(select(ImaAction.text, ImaAction.owner, ImaAction.due_on, ImaAction.status,
                                   ImaAction.commentary, ImaAction.closed_by)
                            .where(ImaAction.recommendation_id == rec.id).order_by(ImaAction.position))
        out.append({"text": rec.text, "area": rec.area, "sub_area": rec.sub_area,
                    "priority": rec.priority, "next_step": rec.next_step,
                    "actions": [dict(a._mapping) for a in acts]})
    return out


@retry_when_busy
def save_ima(engine: Engine, parsed: ParsedIma, *, actor: str) -> SavedIma:
    """Save a checked workbook in one transaction (see the module's note on what it replaces)."""
    now = utcnow()
    added: list[str] = []
    replaced: list[str] = []
    with write_transaction(engine) as conn:
        _pin_framework(conn, actor)
        ids = dict(conn.execute(select(ImaAssessment.name, ImaAssessment.id)).all())
        for record in parsed.assessments:
            values = {"kind": record.kind, "assessed_on": record.date, "assessor": record.assessor,
                      "loaded_at": now, "loaded_by": actor}
            before = None
            if record.name in ids:
                assessment_id = ids[record.name]
                before = _snapshot(conn, assessment_id)
                conn.execute(delete(ImaRating).where(ImaRating.assessment_id == assessment_id))
                conn.execute(delete(ImaNarrative).where(ImaNarrative.assessment_id == assessment_id))
                conn.execute(update(ImaAssessment).where(ImaAssessment.id == assessment_id).values(**values))
                replaced.append(record.name)
            else:
                assessment_id = conn.execute(insert(ImaAssessment).values(name=record.name, **values)
                                             ).inserted_primary_key[0]
                ids[record.name] = assessment_id
                added.append(record.name)
            if record.ratings:
                conn.execute(insert(ImaRating), [{"assessment_id": assessment_id, "sub_area": s, "rating": r}
                                                 for s, r in record.ratings.items()])
            if record.narratives:
                conn.execute(insert(ImaNarrative), [
                    {"assessment_id": assessment_id, "area": a, "situation": n.situation,
                     "progress": n.progress} for a, n in record.narratives.items()])
            audit.record(conn, actor=actor, action=ASSESSMENT_LOADED, target=f"IMA assessment {record.name}",
                         before=before, after=_snapshot(conn, assessment_id))
        for name in parsed.recommending:
            assessment_id = ids[name]
            before = _recommendations_snapshot(conn, assessment_id)
            mine = [r for r in parsed.recommendations if r.assessment == name]
            _replace_recommendations(conn, assessment_id, mine, ids, actor, now)
            audit.record(conn, actor=actor, action=RECOMMENDATIONS_LOADED,
                         target=f"IMA recommendations of {name}", before=before or None,
                         after=_recommendations_snapshot(conn, assessment_id))
    return SavedIma(tuple(added), tuple(replaced), sum(len(a.ratings) for a in parsed.assessments),
                    len(parsed.recommendations), parsed.action_count)


def _replace_recommendations(conn: Connection, assessment_id: int, recommendations: list,
                             ids: dict[str, int], actor: str, now: datetime) -> None:
    """Make an assessment's recommendations and actions those of the workbook.

    A recommendation or action the workbook gives again (the same text, ignoring case and
    punctuation) keeps its number and, when it stays closed, its sign-off; so the action
    numbers people quote survive a reload. A closed action new to the database is signed off
    by the admin who loads it. What the workbook no longer has is deleted (the audit keeps it).
    """
    stored = {norm_key(r.text): r for r in conn.execute(
        select(ImaRecommendation.id, ImaRecommendation.text)
        .where(ImaRecommendation.assessment_id == assessment_id))}
    kept: set[int] = set()
    for position, rec in enumerate(recommendations):
        values = {"area": rec.area, "sub_area": rec.sub_area, "text": rec.text, "priority": rec.priority,
                  "next_step": rec.next_step, "position": position,
                  "repeated_at_id": ids[rec.repeated_at] if rec.repeated_at else None}
        old = stored.get(norm_key(rec.text))
        if old is not None:
            rec_id = old.id
            conn.execute(update(ImaRecommendation).where(ImaRecommendation.id == rec_id).values(**values))
        else:
            rec_id = conn.execute(insert(ImaRecommendation).values(assessment_id=assessment_id, **values)
                                  ).inserted_primary_key[0]
        kept.add(rec_id)
        _replace_actions(conn, rec_id, rec.actions, actor, now)
    gone = [r.id for r in stored.values() if r.id not in kept]
    if gone:
        conn.execute(delete(ImaAction).where(ImaAction.recommendation_id.in_(gone)))
        conn.execute(delete(ImaRecommendation).where(ImaRecommendation.id.in_(gone)))


def _replace_actions(conn: Connection, rec_id: int, actions: list, actor: str, now: datetime) -> None:
    stored = {norm_key(a.text): a for a in conn.execute(
        select(ImaAction).where(ImaAction.recommendation_id == rec_id))}
    kept: set[int] = set()
    for position, a in enumerate(actions):
        old = stored.get(norm_key(a.text))
        values = {"text": a.text, "owner": a.owner, "due_on": a.due, "status": a.status,
                  "commentary": a.commentary, "position": position, "closed_by": None, "closed_at": None}
        if a.status == CLOSED:
            stays_closed = old is not None and old.status == CLOSED and old.closed_by
            values.update(closed_by=old.closed_by if stays_closed else actor,
                          closed_at=old.closed_at if stays_closed else now)
        if old is None:
            kept.add(conn.execute(insert(ImaAction).values(recommendation_id=rec_id, updated_at=now,
                                                           updated_by=actor, **values)).inserted_primary_key[0])
            continue
        kept.add(old.id)
        if any(getattr(old, k) != v for k, v in values.items()):
            conn.execute(update(ImaAction).where(ImaAction.id == old.id)
                         .values(**values, updated_at=now, updated_by=actor))
    gone = [a.id for a in stored.values() if a.id not in kept]
    if gone:
        conn.execute(delete(ImaAction).where(ImaAction.id.in_(gone)))


def assessment_dates(conn: Connection) -> dict[str, date]:
    return dict(conn.execute(select(ImaAssessment.name, ImaAssessment.assessed_on)).all())


# Plan actions ------------------------------------------------------------------------------

def _action_state(conn: Connection, action_id: int) -> dict:
    row = conn.execute(select(ImaAction.id, ImaAction.text, ImaAction.status, ImaAction.commentary,
                              ImaAction.closed_by, ImaAction.closed_at, ImaAction.owner, ImaAction.due_on)
                       .where(ImaAction.id == action_id)).first()
    if row is None:
        raise NotFoundError(f"There is no plan action {action_id}. `kim ima actions` lists them with "
                            "their numbers.")
    return dict(row._mapping)


@retry_when_busy
def update_action(engine: Engine, action_id: int, *, actor: str, status: str | None = None,
                  commentary: str | None = None) -> dict:
    """Change an action's status or commentary; closing records the sign-off. The new state."""
    with write_transaction(engine) as conn:
        before = _action_state(conn, action_id)
        values: dict[str, object] = {}
        action = ACTION_UPDATED
        if status is not None and status != before["status"]:
            problem = status_change_problem(before["status"], status)
            if problem:
                raise ValidationError([Problem(f"plan action {action_id}", None, None, "status", problem,
                                                   code=ProblemCode.NOT_ALLOWED)])
            values["status"] = status
            if status == CLOSED:
                values.update(closed_by=actor, closed_at=utcnow())
                action = ACTION_CLOSED
            elif before["status"] == CLOSED:
                values.update(closed_by=None, closed_at=None)
                action = ACTION_REOPENED
        if commentary is not None and commentary != before["commentary"]:
            values["commentary"] = commentary
        if not values:
            return before
        conn.execute(update(ImaAction).where(ImaAction.id == action_id)
                     .values(**values, updated_at=utcnow(), updated_by=actor))
        after = _action_state(conn, action_id)
        audit.record(conn, actor=actor, action=action, target=f"IMA action {action_id}: {before['text'][:80]}",
                     before=before, after=after)
        return after


def count_rows(conn: Connection) -> dict[str, int]:
    """Rows in each IMA table: what a failed load must leave unchanged."""
    return {t.__tablename__: conn.scalar(select(func.count()).select_from(t))
            for t in (ImaFramework, ImaAssessment, ImaRating, ImaNarrative, ImaRecommendation, ImaAction)}
