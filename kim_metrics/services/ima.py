"""The Information Management Assessment, as the command line and the IMA page use it.

Load a workbook of ratings and actions, show the ratings over time, compare two assessments,
list and update the action plan, the next steps, the action plan as the National Archives'
workbook, and the league's evidence for each sub-area. Admins (the KIM team) change things;
executives and directors read; the checks are here, so a page that forgets to hide a button
still cannot write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain.ima import ImaRecord, LeagueEvidence, Narrative, next_steps, plan
from kim_metrics.domain import access
from kim_metrics.domain.access import ADMIN, DIRECTOR, EXECUTIVE, Actor
from kim_metrics.domain.errors import KimError, UsageError
from kim_metrics.domain.ima import (ACTION_LABELS, ACTION_STATUSES, CLOSED, Framework, SubAreaChange,
                                    compare as compare_ratings)
from kim_metrics.reading.ima_workbook import ParsedIma, parse_ima_workbook
from kim_metrics.domain.names import norm_key
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reports.ima_report import ActionPlan, ReportData
from kim_metrics.reports.registry import render, renderer
from kim_metrics.services import admin as admin_service
from kim_metrics.services import common
from kim_metrics.services import league as league_service
from kim_metrics.storage import ima as store
from kim_metrics.storage.ima import SavedIma
from kim_metrics.domain.frames import PERCENT, RAG, criterion_column
from kim_metrics.domain.values import as_float, missing

EDITORS = frozenset({ADMIN})
READERS = frozenset({ADMIN, EXECUTIVE, DIRECTOR})
PLAN_HEADERS = ("Recommendation", "Action", "Owner", "Due date", "Status", "Commentary")


def _who(engine: Engine, actor: Actor | str) -> Actor:
    return common.resolve_actor(engine, actor)


def require_reader(engine: Engine, actor: Actor | str) -> Actor:
    who = _who(engine, actor)
    access.require(who, READERS, "read the Information Management Assessment")
    return who


def _require_editor(engine: Engine, actor: Actor | str, doing: str) -> Actor:
    who = _who(engine, actor)
    access.require(who, EDITORS, doing)
    return who


# The framework -----------------------------------------------------------------------------

def framework(engine: Engine) -> Framework:
    with engine.connect() as conn:
        return store.current_framework(conn)


def load_framework(engine: Engine, text: str, *, actor: Actor | str,
                   file_name: str = "ima_framework.toml") -> Framework:
    who = _require_editor(engine, actor, "change the IMA framework")
    return store.save_framework(engine, text, who.email, file_name=file_name)


# Loading -----------------------------------------------------------------------------------

def check_workbook(engine: Engine, data: bytes, file_name: str) -> ParsedIma:
    """Read and check an IMA workbook against the framework in force; nothing is saved."""
    workbook = read_workbook(data, file_name=file_name)
    with engine.connect() as conn:
        return parse_ima_workbook(workbook, store.current_framework(conn), store.assessment_dates(conn))


def load_workbook(engine: Engine, data: bytes, file_name: str, *, actor: Actor | str) -> SavedIma:
    """Check and save an IMA workbook whole, or raise and save nothing."""
    who = _require_editor(engine, actor, "load IMA assessments")
    return store.save_ima(engine, check_workbook(engine, data, file_name), actor=who.email)


# The record --------------------------------------------------------------------------------

def record(engine: Engine) -> ImaRecord:
    with engine.connect() as conn:
        return ImaRecord(store.current_framework(conn), tuple(store.assessments(conn)),
                         store.ratings(conn), store.narratives(conn), store.actions_frame(conn))


def ratings_grid(rec: ImaRecord) -> pd.DataFrame:
    """One row per sub-area (Area, Sub-area) and a column per assessment, oldest first, holding
    the rating's word; blank where an assessment did not rate the sub-area."""
    rows = []
    for area in rec.framework.areas:
        for sub in area.sub_area:
            row = {"Area": area.name, "Sub-area": sub.name}
            for a in rec.assessments:
                row[a.name] = rec.framework.rating_name(rec.ratings.get(a.name, {}).get(sub.id))
            rows.append(row)
    return pd.DataFrame(rows, columns=["Area", "Sub-area", *rec.names])


def show(engine: Engine) -> list[dict]:
    """Every assessment with its ratings and narrative, for JSON."""
    rec = record(engine)
    out = []
    for a in rec.assessments:
        rated = rec.ratings.get(a.name, {})
        told = rec.narratives.get(a.name, {})
        out.append({
            "name": a.name, "kind": a.kind, "date": a.date.isoformat(), "assessor": a.assessor,
            "areas": [{"area": area.name, "area_id": area.id,
                       "situation": told.get(area.id, Narrative()).situation,
                       "progress": told.get(area.id, Narrative()).progress,
                       "ratings": [{"sub_area": s.name, "sub_area_id": s.id,
                                    "rating": rec.framework.rating_name(rated.get(s.id)),
                                    "rating_id": rated.get(s.id)} for s in area.sub_area]}
                      for area in rec.framework.areas]})
    return out


def compare(engine: Engine, first: str, second: str, rec: ImaRecord | None = None) -> list[SubAreaChange]:
    """Every sub-area's rating in ``first`` and ``second`` and the change from one to the other."""
    rec = rec or record(engine)
    a, b = rec.assessment(first), rec.assessment(second)
    return compare_ratings(rec.framework, rec.ratings.get(a.name, {}), rec.ratings.get(b.name, {}))


# The action plan ---------------------------------------------------------------------------

def status_from(text: str) -> str:
    """An action status from however it was typed ("in-progress", "Delivered")."""
    for s in ACTION_STATUSES:
        if norm_key(s) == norm_key(text):
            return s
    raise UsageError(f"'{text}' is not an action status. Use one of: {', '.join(ACTION_STATUSES)}.")


def actions(engine: Engine, status: str | None = None) -> pd.DataFrame:
    """Plan actions (no recommendation without an action), filtered by status when given."""
    frame = plan(record(engine), status)
    return frame[frame["action_id"].notna()].reset_index(drop=True)


def actions_for_people(frame: pd.DataFrame) -> pd.DataFrame:
    """The action plan as people read it: words, not codes."""
    return pd.DataFrame({
        "Id": frame["action_id"].astype("Int64"),
        "Assessment": frame["assessment"],
        "Area": frame["area_name"],
        "Recommendation": frame["recommendation"],
        "Action": frame["action"],
        "Owner": frame["owner"],
        "Due date": frame["due"].map(lambda d: d.isoformat() if isinstance(d, date) else ""),
        "Status": frame["status"].map(lambda s: ACTION_LABELS.get(s, "")),
        "Commentary": frame["commentary"].fillna(""),
        "Signed off by": frame["closed_by"].fillna(""),
    })


def actions_json(frame: pd.DataFrame) -> list[dict]:
    out = []
    for r in frame.itertuples(index=False):
        out.append({"id": int(r.action_id), "assessment": r.assessment, "area": r.area_name,
                    "area_id": r.area, "sub_area": r.sub_area_name or None, "sub_area_id": r.sub_area,
                    "recommendation": r.recommendation, "priority": r.priority,
                    "repeated_at": r.repeated_at, "next_step": bool(r.next_step), "action": r.action,
                    "owner": r.owner, "due": r.due.isoformat() if isinstance(r.due, date) else None,
                    "status": r.status, "commentary": r.commentary,
                    "closed_by": r.closed_by if isinstance(r.closed_by, str) else None,
                    "closed_at": r.closed_at.isoformat() if isinstance(r.closed_at, pd.Timestamp | date) else None})
    return out


def update_action(engine: Engine, action_id: int, *, actor: Actor | str, status: str | None = None,
                  commentary: str | None = None) -> dict:
    """Change an action's status or commentary (KIM team only); closing it signs it off."""
    doing = ("sign off the closure of an IMA action" if status == CLOSED
             else "update the IMA action plan")
    who = _require_editor(engine, actor, doing)
    return store.update_action(engine, action_id, actor=who.email, status=status, commentary=commentary)


def sign_off(engine: Engine, action_id: int, *, actor: Actor | str) -> dict:
    """Close a delivered action: the KIM team's sign-off, recorded with who and when."""
    return update_action(engine, action_id, actor=actor, status=CLOSED)


def action_plan(engine: Engine, rec: ImaRecord | None = None, written: date | None = None) -> ActionPlan:
    """The action plan's rows, as the workbook lays them out."""
    rec = rec or record(engine)
    return ActionPlan(record=rec, rows=plan(rec), headers=PLAN_HEADERS, written=written or date.today())


def action_plan_xlsx(engine: Engine, rec: ImaRecord | None = None) -> bytes:
    """The action plan workbook (National Archives layout)."""
    return render("ima-plan", "xlsx", action_plan(engine, rec))


# The league's evidence ---------------------------------------------------------------------

def criteria_mapping(criteria) -> dict[str, str]:
    """Criterion id → the IMA sub-area it evidences, from each criterion's ``ima`` field."""
    return {c.id: c.ima for c in criteria if getattr(c, "ima", None)}


def league_evidence(engine: Engine, mapping: Mapping[str, str] | None = None,
                    fw: Framework | None = None) -> LeagueEvidence:
    """The league's department-wide status, round by round, on the criteria mapped to each
    sub-area. ``mapping`` (criterion id → sub-area id) defaults to the criteria in force."""
    fw = fw or framework(engine)
    if mapping is None:
        mapping = criteria_mapping(admin_service.current_criteria(engine))
    known = {s.id for s in fw.sub_areas}
    mapping = {c: s for c, s in mapping.items() if s in known}
    rows = []
    labels = []
    if mapping:
        for rnd in league_service.rounds(engine):
            criteria, department = league_service.department(engine, rnd.label)
            labels.append(rnd.label)
            for sub in fw.sub_areas:
                for cid, target in mapping.items():
                    if target != sub.id or cid not in criteria.ids:
                        continue
                    percent = department.get(criterion_column(cid, PERCENT))
                    rows.append({"sub_area_id": sub.id, "criterion_id": cid,
                                 "criterion": criteria.get(cid).name, "round": rnd.label,
                                 "percent": as_float(percent),
                                 "status": None if missing(percent)
                                 else department.get(criterion_column(cid, RAG))})
    return LeagueEvidence(tuple(labels), pd.DataFrame(rows, columns=[
        "sub_area_id", "criterion_id", "criterion", "round", "percent", "status"]), dict(mapping))


# What the IMA page shows -------------------------------------------------------------------

@dataclass(frozen=True)
class ImaPage:
    record: ImaRecord
    grid: pd.DataFrame                   # ratings_grid
    comparison: pd.DataFrame             # Area, Sub-area, <A>, <B>, Change
    compared: tuple[str, str] | None
    plan: pd.DataFrame                   # actions_for_people, every action
    next_steps: pd.DataFrame             # next_steps
    evidence: pd.DataFrame               # Sub-area, Criterion, Status, Trend, By round
    can_edit: bool


CHANGE_WORDS = {"improved": "▲ improved", "declined": "▼ declined", "same": "= same", "unrated": "– not rated in both"}


def page(engine: Engine, actor: Actor | str, first: str | None = None, second: str | None = None,
         *, mapping: Mapping[str, str] | None = None) -> ImaPage:
    """Everything the IMA page draws, for a reader; the comparison defaults to the latest two."""
    who = require_reader(engine, actor)
    rec = record(engine)
    compared = None
    comparison = pd.DataFrame(columns=["Area", "Sub-area", "Change"])
    if len(rec.assessments) >= 2:
        a = rec.assessment(first or rec.names[-2]).name
        b = rec.assessment(second or rec.names[-1]).name
        compared = (a, b)
        changes = compare(engine, a, b, rec=rec)
        comparison = pd.DataFrame({"Area": [c.area for c in changes],
                                   "Sub-area": [c.sub_area for c in changes],
                                   f"A: {a}": [c.before or "Not rated" for c in changes],
                                   f"B: {b}": [c.after or "Not rated" for c in changes],
                                   "Change": [CHANGE_WORDS[c.change] for c in changes]})
    actions_all = plan(rec)
    evidence = league_evidence(engine, mapping, fw=rec.framework).summary()
    names = {s.id: s.name for s in rec.framework.sub_areas}
    evidence_view = pd.DataFrame({"Sub-area": evidence["sub_area_id"].map(names),
                                  "Criterion": evidence["criterion"],
                                  "Status": evidence["status"].fillna("No return"),
                                  "Trend": evidence["trend"], "By round": evidence["history"]})
    return ImaPage(rec, ratings_grid(rec), comparison, compared,
                   actions_for_people(actions_all[actions_all["action_id"].notna()]),
                   next_steps(rec), evidence_view, can_edit=bool(who.roles & EDITORS))


def read_text_file(data: bytes, file_name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KimError(f"{file_name} is not UTF-8 text. Save it as UTF-8 and try again.") from None


# The progress review, written --------------------------------------------------------

def report_data(engine: Engine, assessment: str, written: date | None = None,
                mapping: dict[str, str] | None = None) -> ReportData:
    """``mapping`` (criterion id → sub-area id) defaults to the criteria's own ``ima`` fields."""
    rec = record(engine)
    this = rec.assessment(assessment)
    return ReportData(rec, this, rec.previous(this.name),
                      league_evidence(engine, mapping, fw=rec.framework), written or date.today())


def report(engine: Engine, assessment: str, fmt: str = "docx", written: date | None = None) -> bytes:
    """The report on one assessment as Word or PDF bytes, for a download button."""
    chosen = renderer("ima-report", fmt)   # an unknown format is refused before any reading
    return chosen.render(report_data(engine, assessment, written))


def write_report(engine: Engine, assessment: str, path: str | Path, fmt: str = "docx") -> Path:
    path = Path(path)
    content = report(engine, assessment, fmt)
    try:
        path.write_bytes(content)
    except OSError as exc:
        raise KimError(f"Cannot write {path}: {exc.strerror}. Check the folder exists and you can "
                       "write to it.") from None
    return path
