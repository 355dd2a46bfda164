"""The Information Management Assessment, as the command line and the IMA page use it.

Load a workbook of ratings and actions, show the ratings over time, compare two assessments,
list and update the action plan, the next steps, the action plan as the National Archives'
workbook, and the league's evidence for each sub-area. Admins (the KIM team) change things;
executives and directors read; the checks are here, so a page that forgets to hide a button
still cannot write.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill
from sqlalchemy.engine import Engine

from kim_metrics.domain import access
from kim_metrics.domain.access import ADMIN, DIRECTOR, EXECUTIVE, Actor
from kim_metrics.domain.errors import KimError, NotFoundError, UsageError
from kim_metrics.domain.ima import (ACTION_LABELS, ACTION_STATUS_SET, ACTION_STATUSES, CLOSED, DELIVERED,
                                    PRIORITY_LABELS, Assessment, Framework, SubAreaChange,
                                    compare as compare_ratings, recommendation_open)
from kim_metrics.domain.scoring import rollup
from kim_metrics.reading.ima_workbook import Narrative, ParsedIma, parse_ima_workbook
from kim_metrics.reading.matching import closest, norm_key
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reports.exports import HEADER_FILL, HEADER_FONT, THIN, clean_text, neutralise
from kim_metrics.services import api
from kim_metrics.storage import ima as store
from kim_metrics.storage.ima import SavedIma

EDITORS = frozenset({ADMIN})
READERS = frozenset({ADMIN, EXECUTIVE, DIRECTOR})
PLAN_HEADERS = ("Recommendation", "Action", "Owner", "Due date", "Status", "Commentary")
RISING, FALLING, STEADY, FIRST = "rising", "falling", "steady", "first round"


def _who(engine: Engine, actor: Actor | str) -> Actor:
    return api.resolve_actor(engine, actor)


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

@dataclass(frozen=True)
class ImaRecord:
    framework: Framework
    assessments: tuple[Assessment, ...]               # oldest first
    ratings: Mapping[str, Mapping[str, str]]          # assessment → sub-area id → rating id
    narratives: Mapping[str, Mapping[str, Narrative]]  # assessment → area id → narrative
    actions: pd.DataFrame                             # storage.ima.ACTION_COLUMNS

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.assessments]

    def assessment(self, name: str) -> Assessment:
        """The assessment called ``name`` (case and punctuation ignored), or a helpful error."""
        for a in self.assessments:
            if norm_key(a.name) == norm_key(name):
                return a
        hint = closest(name, self.names)
        raise NotFoundError(f"There is no assessment '{name}'. "
                            + (f"Did you mean {' or '.join(repr(h) for h in hint)}? " if hint else "")
                            + (f"Assessments: {', '.join(self.names)}." if self.names else
                               "None is loaded yet: load a workbook with `kim ima load FILE`."))

    def previous(self, name: str) -> Assessment | None:
        at = self.names.index(self.assessment(name).name)
        return self.assessments[at - 1] if at > 0 else None


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


def plan(rec: ImaRecord, status: str | None = None) -> pd.DataFrame:
    """The action plan, one row per action, with area and sub-area names and whether its
    recommendation is open; ``status`` keeps only the actions with that status."""
    frame = rec.actions.copy()
    f = rec.framework
    frame["area_name"] = frame["area"].map(lambda a: f.get_area(a).name)
    frame["sub_area_name"] = frame["sub_area"].map(lambda s: f.get_sub_area(s).name if s else "")
    open_recs = {rid: recommendation_open([s for s in group["status"] if isinstance(s, str)])
                 for rid, group in frame.groupby("recommendation_id")}
    frame["open"] = frame["recommendation_id"].map(open_recs).astype(bool)
    if status is not None:
        frame = frame[frame["status"] == status]
    return frame.reset_index(drop=True)


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


def next_steps(rec: ImaRecord) -> pd.DataFrame:
    """Open recommendations flagged as next steps, oldest assessment first: one row each."""
    frame = plan(rec)
    flagged = frame[frame["next_step"] & frame["open"]]
    rows = []
    for rid, group in flagged.groupby("recommendation_id", sort=False):
        first = group.iloc[0]
        statuses = [s for s in group["status"] if isinstance(s, str)]
        rows.append({"recommendation_id": int(rid), "recommendation": first["recommendation"],
                     "assessment": first["assessment"], "area": first["area_name"],
                     "priority": PRIORITY_LABELS.get(first["priority"], ""),
                     "repeated_at": first["repeated_at"] or "",
                     "actions": len(statuses),
                     "delivered": sum(s in (DELIVERED, CLOSED) for s in statuses)})
    return pd.DataFrame(rows, columns=["recommendation_id", "recommendation", "assessment", "area",
                                       "priority", "repeated_at", "actions", "delivered"])


def action_plan_xlsx(engine: Engine, rec: ImaRecord | None = None) -> bytes:
    """The action plan as the National Archives' published plans lay it out: by area, each
    recommendation over its actions, with owner, due date, status and commentary."""
    rec = rec or record(engine)
    frame = plan(rec)
    wb = Workbook()
    ws = wb.active
    ws.title = "Action plan"
    latest = rec.assessments[-1] if rec.assessments else None
    ws.append([f"{rec.framework.name}: action plan"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"Status at {date.today():%d %B %Y}"
               + (f"; latest assessment {latest.name} ({latest.date:%B %Y})" if latest else "")])
    ws.append([])
    ws.append(list(PLAN_HEADERS))
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)
    border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
    area_fill = PatternFill("solid", fgColor="F3F2F1")
    for area in rec.framework.areas:
        mine = frame[frame["area"] == area.id]
        if mine.empty:
            continue
        ws.append([_cell(area.name)])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        for col in range(1, len(PLAN_HEADERS) + 1):
            ws.cell(ws.max_row, col).fill = area_fill
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=len(PLAN_HEADERS))
        for _rid, group in mine.groupby("recommendation_id", sort=False):
            first = ws.max_row + 1
            text = group.iloc[0]["recommendation"]
            notes = [f"Made at {group.iloc[0]['assessment']}"]
            if group.iloc[0]["repeated_at"]:
                notes.append(f"repeated at {group.iloc[0]['repeated_at']}")
            if group.iloc[0]["priority"]:
                notes.append(f"priority {group.iloc[0]['priority']}")
            for i, r in enumerate(group.itertuples(index=False)):
                has_action = isinstance(r.action, str)
                status = ACTION_LABELS.get(r.status, "") if has_action else ""
                commentary = r.commentary if has_action else ""
                if has_action and r.status == CLOSED and isinstance(r.closed_by, str):
                    signed = f"Closure signed off by {r.closed_by}"
                    if isinstance(r.closed_at, pd.Timestamp | date):
                        signed += f" on {r.closed_at:%d %B %Y}"
                    commentary = f"{commentary}\n{signed}." if commentary else f"{signed}."
                ws.append([_cell(f"{text}\n({'; '.join(notes)})") if i == 0 else None,
                           _cell(r.action) if has_action else "No action agreed yet",
                           _cell(r.owner) if has_action else None,
                           r.due if has_action and isinstance(r.due, date) else None,
                           status, _cell(commentary)])
                row = ws.max_row
                for col in range(1, len(PLAN_HEADERS) + 1):
                    ws.cell(row, col).alignment = wrap
                    ws.cell(row, col).border = border
                ws.cell(row, 4).number_format = "d mmm yyyy"
                style = ACTION_STATUS_SET.style(status)
                if style:
                    ws.cell(row, 5).fill = PatternFill("solid", fgColor=style.background.lstrip("#"))
                    ws.cell(row, 5).font = Font(bold=True, color=style.text.lstrip("#"))
            if ws.max_row > first:
                ws.merge_cells(start_row=first, start_column=1, end_row=ws.max_row, end_column=1)
    for column, width in zip("ABCDEF", (48, 48, 30, 13, 14, 48)):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _cell(value: object) -> object:
    """Typed text made safe for a spreadsheet: no XML-illegal characters, no formulas."""
    return neutralise(clean_text(value)) if isinstance(value, str) else value


# The league's evidence ---------------------------------------------------------------------

@dataclass(frozen=True)
class LeagueEvidence:
    """For each sub-area, the criteria that evidence it and the department's standing on them."""

    rounds: tuple[str, ...]
    # One row per sub-area × criterion × round: sub_area_id, criterion_id, criterion, round,
    # percent (department mean 0-100), status (the criterion's RAG for that mean).
    rows: pd.DataFrame
    mapping: Mapping[str, str] = field(default_factory=dict)   # criterion id → sub-area id

    def summary(self, sub_area_id: str | None = None) -> pd.DataFrame:
        """One row per mapped criterion: its latest department status and its trend."""
        frame = self.rows if sub_area_id is None else self.rows[self.rows["sub_area_id"] == sub_area_id]
        out = []
        for (sub, cid), group in frame.groupby(["sub_area_id", "criterion_id"], sort=False):
            known = group[group["percent"].notna()]
            latest = known.iloc[-1] if len(known) else None
            before = known.iloc[-2] if len(known) > 1 else None
            if latest is None:
                trend = ""
            elif before is None:
                trend = FIRST
            else:
                delta = latest["percent"] - before["percent"]
                trend = RISING if delta > 0 else FALLING if delta < 0 else STEADY
            out.append({"sub_area_id": sub, "criterion_id": cid, "criterion": group.iloc[0]["criterion"],
                        "round": latest["round"] if latest is not None else None,
                        "percent": latest["percent"] if latest is not None else None,
                        "status": latest["status"] if latest is not None else None,
                        "trend": trend,
                        "history": " → ".join(f"{p:.0f}" for p in known["percent"])})
        return pd.DataFrame(out, columns=["sub_area_id", "criterion_id", "criterion", "round", "percent",
                                          "status", "trend", "history"])


def criteria_mapping(criteria) -> dict[str, str]:
    """Criterion id → the IMA sub-area it evidences, from each criterion's ``ima`` field."""
    return {c.id: c.ima for c in criteria if getattr(c, "ima", None)}


def league_evidence(engine: Engine, mapping: Mapping[str, str] | None = None,
                    fw: Framework | None = None) -> LeagueEvidence:
    """The league's department-wide status, round by round, on the criteria mapped to each
    sub-area. ``mapping`` (criterion id → sub-area id) defaults to the criteria in force."""
    fw = fw or framework(engine)
    if mapping is None:
        mapping = criteria_mapping(api.current_criteria(engine))
    known = {s.id for s in fw.sub_areas}
    mapping = {c: s for c, s in mapping.items() if s in known}
    rows = []
    labels = []
    if mapping:
        for rnd in api.rounds(engine):
            scored = api.scored_round(engine, rnd.label)
            labels.append(rnd.label)
            department = rollup(scored.teams, scored.criteria, None).iloc[0]
            for sub in fw.sub_areas:
                for cid, target in mapping.items():
                    if target != sub.id or cid not in scored.criteria.ids:
                        continue
                    percent = department.get(f"{cid}.percent")
                    has = percent is not None and not pd.isna(percent)
                    rows.append({"sub_area_id": sub.id, "criterion_id": cid,
                                 "criterion": scored.criteria.get(cid).name, "round": rnd.label,
                                 "percent": float(percent) if has else None,
                                 "status": department.get(f"{cid}.rag") if has else None})
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
