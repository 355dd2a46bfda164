"""The IMA workbook ``kim ima load`` reads: a ``Ratings`` sheet and an ``Actions`` sheet.

**Ratings**: one row per assessment × sub-area, headed Assessment, Kind, Date, (Assessor),
Area, Sub-area, Rating, Situation, Progress. An assessment's kind, date and assessor, and an
area's narrative (the situation at the assessment and the progress since), belong to the
assessment or the area, not the row: the rows repeat them or leave them blank after the
first, and two different values are an error. A row with an area and no sub-area carries
narrative only; a sub-area with no rating was not rated.

**Actions**: one row per action, headed Recommendation, Assessment (the one that made it),
Area, Sub-area, Priority, Repeated at (the later assessment that repeated it), Next step,
Action, Owner, Due date, Status, Commentary. A recommendation's rows repeat its text, or
leave it blank to continue the recommendation above (merged cells read that way).

Either sheet may come alone; a CSV holds one of them, told apart by its headers. Headers
match whatever their case, spacing and punctuation; areas, sub-areas and ratings may be
given by name or id. Every problem is located (file, sheet, row, column) and raised
together; the caller saves nothing when there is any.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kim_metrics.domain.ima import Narrative
from kim_metrics.domain.errors import Problem, ProblemCode, ValidationError
from kim_metrics.domain.ima import (ACTION_STATUSES, ASSESSMENT, DELIVERED, IN_PROGRESS, KINDS,
                                    NOT_STARTED, PRIORITIES, PROGRESS_REVIEW, Framework)
from kim_metrics.reading.matching import NO_WORDS, YES_WORDS, _shorten, header_lookup
from kim_metrics.domain.names import did_you_mean, norm_key
from kim_metrics.reading.reader import Sheet, Workbook
from kim_metrics.reading.limits import NAME_MAX_CHARS, current_limits

RATINGS, ACTIONS = "Ratings", "Actions"
HEADER_SCAN_ROWS = 30
EMAIL_MAX_CHARS = 320

RATING_FIELDS: dict[str, tuple[str, ...]] = {
    "assessment": ("assessment name", "assessment or review", "review name"),
    "kind": ("type", "kind of assessment", "assessment kind", "assessment type"),
    "date": ("assessment date", "date of assessment", "assessed on", "review date"),
    "assessor": ("assessed by", "assessors", "reviewer"),
    "area": ("area name", "assessment area"),
    "sub_area": ("sub area name", "sub-area name", "subarea name"),
    "rating": ("performance rating", "rated"),
    "situation": ("situation at the time", "situation at the time of the assessment",
                  "situation at the time of the ima", "situation at the assessment"),
    "progress": ("progress since", "progress since the assessment", "progress since the ima"),
}
RATING_LABELS = {"assessment": "Assessment", "kind": "Kind", "date": "Date", "assessor": "Assessor",
                 "area": "Area", "sub_area": "Sub-area", "rating": "Rating",
                 "situation": "Situation", "progress": "Progress"}
RATING_REQUIRED = ("assessment", "kind", "date", "area", "sub_area", "rating")

ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "recommendation": ("recommendation text", "recommendations"),
    "assessment": ("made by", "made at", "made in", "assessment name", "recommended by"),
    "area": ("area name",),
    "sub_area": ("sub area name", "sub-area name"),
    "priority": ("priority level",),
    "repeated_at": ("repeated", "repeated at later review", "repeated at a later review",
                    "repeated in", "repeated by"),
    "next_step": ("next steps", "next step flag", "flag as next step"),
    "action": ("actions", "action text", "planned action", "agreed action"),
    "owner": ("owner email", "action owner", "owners email"),
    "due": ("due date", "deadline", "target date", "due by"),
    "status": ("action status",),
    "commentary": ("comments", "comment", "update", "progress commentary", "progress update"),
}
ACTION_LABELS = {"recommendation": "Recommendation", "assessment": "Assessment", "area": "Area",
                 "sub_area": "Sub-area", "priority": "Priority", "repeated_at": "Repeated at",
                 "next_step": "Next step", "action": "Action", "owner": "Owner",
                 "due": "Due date", "status": "Status", "commentary": "Commentary"}
ACTION_REQUIRED = ("recommendation", "assessment", "area", "action", "owner")

_KIND_WORDS = {
    **{norm_key(w): ASSESSMENT for w in (ASSESSMENT, "IMA", "information management assessment",
                                         "reassessment", "IMA reassessment", "full assessment")},
    **{norm_key(w): PROGRESS_REVIEW for w in (PROGRESS_REVIEW, "review", "IMA progress review",
                                              "progress", "action plan progress review")},
}
_STATUS_WORDS = {
    **{norm_key(s): s for s in ACTION_STATUSES},
    **{norm_key(w): NOT_STARTED for w in ("not yet started", "to do", "todo", "open")},
    **{norm_key(w): IN_PROGRESS for w in ("started", "ongoing", "under way", "underway")},
    **{norm_key(w): DELIVERED for w in ("done", "complete", "completed")},
}
_PRIORITY_WORDS = {**{norm_key(p): p for p in PRIORITIES}, "h": "high", "m": "medium", "l": "low"}
_TICKS = {"x", "✓", "✔", "☑"}
_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y",
                 "%B %d %Y", "%b %d %Y")
_MONTH_FORMATS = ("%B %Y", "%b %Y", "%m/%Y", "%Y-%m")
DATE_HINT = "Write it as 8/8/2013, 2013-08-08 or 8 August 2013, or use a date cell"


# What a read workbook holds --------------------------------------------------------------

@dataclass
class AssessmentRecord:
    name: str
    kind: str | None = None
    date: dt.date | None = None
    assessor: str | None = None
    ratings: dict[str, str] = field(default_factory=dict)        # sub-area id → rating id
    narratives: dict[str, Narrative] = field(default_factory=dict)  # area id → narrative


@dataclass
class ActionRecord:
    text: str
    owner: str
    due: dt.date | None
    status: str
    commentary: str


@dataclass
class RecommendationRecord:
    assessment: str              # the assessment that made it
    area: str                    # area id
    sub_area: str | None         # sub-area id
    text: str
    priority: str | None
    repeated_at: str | None      # a later assessment's name
    next_step: bool
    actions: list[ActionRecord] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedIma:
    file_name: str
    assessments: tuple[AssessmentRecord, ...]        # from the Ratings sheet
    recommendations: tuple[RecommendationRecord, ...]
    # Assessments whose recommendations the Actions sheet gives (it replaces theirs).
    recommending: tuple[str, ...]
    has_ratings: bool
    has_actions: bool

    @property
    def action_count(self) -> int:
        return sum(len(r.actions) for r in self.recommendations)


# Reading -----------------------------------------------------------------------------------

_UNREAD = object()   # the recommendation above could not be read


@dataclass
class _Header:
    row: int                    # 0-based index of the header row
    columns: dict[str, int]     # field → position
    labels: list[str]


@dataclass
class _Cells:
    """One body row of a sheet: its cells by field, and where it is."""

    sheet: str
    row: int                    # as Excel numbers it
    values: dict[str, object]
    header: _Header

    def text(self, name: str) -> str:
        value = self.values.get(name)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()

    def column(self, name: str) -> str | None:
        pos = self.header.columns.get(name)
        return self.header.labels[pos] if pos is not None else None


def parse_ima_workbook(workbook: Workbook, framework: Framework,
                       known: Mapping[str, dt.date] | None = None) -> ParsedIma:
    """Check a workbook's Ratings and Actions sheets against the framework.

    ``known`` is the assessments already stored (name → date): an Actions sheet may name them
    without rating them again. Raises ``ValidationError`` with every problem found.
    """
    reader = _Reader(workbook.file_name, framework, dict(known or {}))
    ratings, actions = reader.find_sheets(workbook)
    if reader.problems:
        # A sheet without its columns: its rows cannot be read, and the other sheet's
        # references to them would only repeat the one problem.
        raise ValidationError(reader.problems)
    assessments = reader.ratings(ratings) if ratings else []
    recommendations = reader.actions(actions) if actions else []
    if reader.problems:
        raise ValidationError(reader.problems)
    recommending = tuple(dict.fromkeys(r.assessment for r in recommendations))
    return ParsedIma(workbook.file_name, tuple(assessments), tuple(recommendations),
                     recommending, bool(ratings), bool(actions))


class _Reader:
    def __init__(self, file: str, framework: Framework, known: dict[str, dt.date]) -> None:
        self.file = file
        self.framework = framework
        self.known = known
        self.problems: list[Problem] = []
        self.cell_limit = current_limits().cell_chars
        self.assessments: dict[str, AssessmentRecord] = {}   # norm key → record (this file)

    def problem(self, code: ProblemCode, cells: _Cells | None, name: str | None, message: str, *,
                sheet: str | None = None, row: int | None = None) -> None:
        if cells is not None:
            self.problems.append(Problem(self.file, cells.sheet, cells.row,
                                         cells.column(name) if name else None, message, code=code))
        else:
            self.problems.append(Problem(self.file, sheet, row, None, message, code=code))

    # Sheets ------------------------------------------------------------------------------

    def find_sheets(self, workbook: Workbook) -> tuple[list[tuple[Sheet, _Header]], list[tuple[Sheet, _Header]]]:
        """The Ratings and Actions sheets, told apart by name, else by their headers.

        A sheet named Ratings or Actions without its columns is an error; another sheet without
        them (a guidance sheet, say) is passed over, unless no sheet has the columns at all.
        """
        usable: dict[str, list[tuple[Sheet, _Header]]] = {RATINGS: [], ACTIONS: []}
        incomplete: list[tuple[bool, int, Sheet, str, _Header | None]] = []
        for sheet in (s for s in workbook.sheets if s.visible and _has_cells(s)):
            found = {RATINGS: _find_header(sheet, RATING_FIELDS, RATING_REQUIRED),
                     ACTIONS: _find_header(sheet, ACTION_FIELDS, ACTION_REQUIRED)}
            named = _named_kind(sheet.name)
            complete = [k for k, (_, ok) in found.items() if ok]
            if named:
                kind = named
            elif complete:
                kind = max(complete, key=lambda k: len(found[k][0].columns))
            else:
                kind = max(found, key=lambda k: len(found[k][0].columns) if found[k][0] else 0)
            header, ok = found[kind]
            if ok:
                usable[kind].append((sheet, header))
            elif named or header is not None:
                incomplete.append((bool(named), len(header.columns) if header else 0, sheet, kind, header))
        report = [i for i in incomplete if i[0]]
        if not report and not usable[RATINGS] and not usable[ACTIONS] and incomplete:
            report = [max(incomplete, key=lambda i: i[1])]
        for _, _, sheet, kind, header in report:
            labels, required = ((RATING_LABELS, RATING_REQUIRED) if kind == RATINGS
                                else (ACTION_LABELS, ACTION_REQUIRED))
            have = header.columns if header else {}
            missing = [labels[f] for f in required if f not in have]
            found_labels = [x for x in (header.labels if header else []) if x]
            self.problems.append(Problem(
                self.file, sheet.name, header.row + 1 if header else None, None,
                f"This {kind} sheet is missing the column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}. Found: {', '.join(found_labels[:12]) or 'no headers'}. "
                f"Head its columns {', '.join(labels.values())}.", code=ProblemCode.MISSING_COLUMN))
        if not usable[RATINGS] and not usable[ACTIONS] and not self.problems:
            hidden = [s.name for s in workbook.sheets if not s.visible and _has_cells(s)]
            self.problems.append(Problem(self.file, None, None, None,
                                         "Found no Ratings or Actions sheet. "
                                         + (f"The data is on hidden sheet '{hidden[0]}': unhide it. "
                                            if hidden else "")
                                         + "Give a sheet named Ratings headed "
                                         f"{', '.join(RATING_LABELS.values())}, and/or a sheet named "
                                         f"Actions headed {', '.join(ACTION_LABELS.values())}.",
                                         code=ProblemCode.UNRECOGNISED_COLUMNS))
        return usable[RATINGS], usable[ACTIONS]

    def rows(self, sheet: Sheet, header: _Header) -> list[_Cells]:
        out = []
        for offset, raw in enumerate(sheet.rows[header.row + 1:]):
            values = {}
            for name, pos in header.columns.items():
                value = raw[pos] if pos < len(raw) else None
                if isinstance(value, str) and not value.strip():
                    value = None
                values[name] = value
            if all(v is None for v in values.values()):
                continue
            cells = _Cells(sheet.name, header.row + offset + 2, values, header)
            for name, value in values.items():
                if isinstance(value, str) and len(value) > self.cell_limit:
                    self.problem(ProblemCode.TOO_LARGE,
                                 cells, name, f"This cell holds {len(value):,} characters; a cell "
                                 f"may hold at most {self.cell_limit:,}. Shorten it.")
                    values[name] = value[:self.cell_limit]
            out.append(cells)
        if not out:
            self.problem(ProblemCode.NO_DATA,
                         None, None, "The sheet has headers but no rows below them. Add the rows, "
                         "or remove the sheet.", sheet=sheet.name, row=header.row + 1)
        return out

    # Names -------------------------------------------------------------------------------

    def area(self, cells: _Cells, name: str = "area") -> str | None:
        given = cells.text(name)
        if not given:
            return None
        found = _lookup(given, ((a.id, a.name) for a in self.framework.areas))
        if found is None:
            self.problem(ProblemCode.UNKNOWN_NAME,
                         cells, name, _unknown(given, "area", [a.name for a in self.framework.areas]))
        return found

    def sub_area(self, cells: _Cells, area: str | None) -> str | None:
        given = cells.text("sub_area")
        if not given:
            return None
        found = _lookup(given, ((s.id, s.name) for s in self.framework.sub_areas))
        if found is None:
            names = (self.framework.get_area(area).sub_area if area else self.framework.sub_areas)
            self.problem(ProblemCode.UNKNOWN_NAME,
                         cells, "sub_area", _unknown(given, "sub-area", [s.name for s in names]))
            return None
        owner = self.framework.area_of(found)
        if area is not None and owner.id != area:
            self.problem(ProblemCode.CONFLICT, cells, "sub_area",
                         f"'{self.framework.get_sub_area(found).name}' is a sub-area of "
                         f"'{owner.name}', not of '{self.framework.get_area(area).name}'. Correct "
                         "the Area or the Sub-area.")
            return None
        return found

    def date(self, cells: _Cells, name: str) -> dt.date | None:
        value = cells.values.get(name)
        if value is None:
            return None
        parsed = parse_date(value)
        if parsed is None:
            self.problem(ProblemCode.BAD_VALUE,
                         cells, name, f"'{_shorten(cells.text(name))}' is not a date. {DATE_HINT}.")
        return parsed

    def assessment_name(self, cells: _Cells) -> str | None:
        given = cells.text("assessment")
        if not given:
            self.problem(ProblemCode.MISSING_VALUE,
                         cells, "assessment", "The assessment is empty. Name the assessment or "
                         "review, such as 'IMA 2013' or 'Review 2015'.")
            return None
        if len(given) > NAME_MAX_CHARS:
            self.problem(ProblemCode.BAD_VALUE, cells, "assessment", f"An assessment's name may have at most "
                         f"{NAME_MAX_CHARS} characters; this one has {len(given):,}.")
            return None
        return given

    def resolve(self, given: str) -> str | None:
        """The stored or rated assessment ``given`` names, spelt as first given; None if none."""
        key = norm_key(given)
        if key in self.assessments:
            return self.assessments[key].name
        for name in self.known:
            if norm_key(name) == key:
                return name
        return None

    def dated(self, name: str) -> dt.date | None:
        record = self.assessments.get(norm_key(name))
        return record.date if record else self.known.get(name)

    # The Ratings sheet -------------------------------------------------------------------

    def ratings(self, sheets: list[tuple[Sheet, _Header]]) -> list[AssessmentRecord]:
        first: dict[tuple, _Cells] = {}      # where each assessment, area or rating was first given
        troubled: set[str] = set()           # assessments with a problem on one of their rows
        for sheet, header in sheets:
            for cells in self.rows(sheet, header):
                before = len(self.problems)
                self.rating_row(cells, first)
                if len(self.problems) > before:
                    troubled.add(norm_key(cells.text("assessment")))
        for key, record in self.assessments.items():
            where = first[("assessment", key)]
            for attribute, name in (("kind", "kind"), ("date", "date")):
                if getattr(record, attribute) is None and not self._reported(where, name):
                    self.problem(ProblemCode.MISSING_VALUE,
                                 where, name, f"No {RATING_LABELS[name].lower()} is given for "
                                 f"'{record.name}'. Enter it on the assessment's first row "
                                 + ("(assessment or progress review)." if name == "kind" else
                                    f"({DATE_HINT})."))
            if not record.ratings and key not in troubled:
                self.problem(ProblemCode.MISSING_VALUE,
                             where, "rating", f"'{record.name}' rates no sub-area. Give a rating for "
                             "each sub-area it assessed.")
        return list(self.assessments.values())

    def _reported(self, cells: _Cells, name: str) -> bool:
        column = cells.column(name)
        return any(p.sheet == cells.sheet and p.column == column for p in self.problems)

    def rating_row(self, cells: _Cells, first: dict[tuple, _Cells]) -> None:
        name = self.assessment_name(cells)
        if name is None:
            return
        key = norm_key(name)
        if key not in self.assessments:
            known = next((k for k in self.known if norm_key(k) == key), None)
            self.assessments[key] = AssessmentRecord(known or name)
            first[("assessment", key)] = cells
        record = self.assessments[key]
        kind = cells.text("kind")
        if kind:
            found = _KIND_WORDS.get(norm_key(kind))
            if found is None:
                self.problem(ProblemCode.BAD_VALUE,
                             cells, "kind", f"'{_shorten(kind)}' is not a kind of assessment. Use "
                             f"{' or '.join(KINDS)}.")
            else:
                self.once(cells, first, record, "kind", found, f"'{record.name}' is")
        day = self.date(cells, "date")
        if day is not None:
            self.once(cells, first, record, "date", day, f"'{record.name}' is dated")
        assessor = cells.text("assessor")
        if assessor:
            self.once(cells, first, record, "assessor", assessor, f"'{record.name}' is assessed by")

        area = self.area(cells)
        sub_area = self.sub_area(cells, area)
        if area is None and sub_area is not None:
            area = self.framework.area_of(sub_area).id
        rating = cells.text("rating")
        situation, progress = cells.text("situation"), cells.text("progress")
        if area is None and not cells.text("area") and not cells.text("sub_area") and (rating or situation or progress):
            self.problem(ProblemCode.MISSING_VALUE,
                         cells, "area", "The area is empty. Give the area (and the sub-area for a "
                         "rating): " + ", ".join(a.name for a in self.framework.areas) + ".")
        if rating and sub_area is None and not cells.text("sub_area"):
            self.problem(ProblemCode.MISSING_VALUE,
                         cells, "sub_area", "A rating needs a sub-area. Give the sub-area this row "
                         "rates, or clear the rating.")
        if area is not None:
            self.narrative(cells, first, record, area, situation, progress)
        if sub_area is None or not rating:
            return
        rating_id = _lookup(rating, ((r.id, r.name) for r in self.framework.ratings))
        if rating_id is None:
            self.problem(ProblemCode.UNKNOWN_NAME, cells, "rating", _unknown(rating, "rating",
                                                   [r.name for r in self.framework.ratings]))
            return
        earlier = first.get(("rating", key, sub_area))
        if earlier is not None:
            self.problem(ProblemCode.DUPLICATE, cells, "sub_area", f"'{record.name}' already rates "
                         f"'{self.framework.get_sub_area(sub_area).name}' on sheet '{earlier.sheet}' "
                         f"row {earlier.row}. Keep one row per assessment and sub-area.")
            return
        first[("rating", key, sub_area)] = cells
        record.ratings[sub_area] = rating_id

    def once(self, cells: _Cells, first: dict[tuple, _Cells], record: AssessmentRecord,
             attribute: str, value: object, saying: str) -> None:
        """Set an assessment's kind, date or assessor; a different value later is an error."""
        before = getattr(record, attribute)
        if before is None:
            setattr(record, attribute, value)
            first[(attribute, norm_key(record.name))] = cells
        elif before != value:
            origin = first[(attribute, norm_key(record.name))]
            shown = {"kind": str, "date": _day, "assessor": str}[attribute]
            self.problem(ProblemCode.CONFLICT,
                         cells, attribute, f"{saying} {shown(before)} on sheet '{origin.sheet}' row "
                         f"{origin.row} but {shown(value)} here. An assessment has one "
                         f"{RATING_LABELS[attribute].lower()}: repeat it or leave it blank.")

    def narrative(self, cells: _Cells, first: dict[tuple, _Cells], record: AssessmentRecord,
                  area: str, situation: str, progress: str) -> None:
        now = record.narratives.get(area, Narrative())
        for part, text in (("situation", situation), ("progress", progress)):
            if not text:
                continue
            before = getattr(now, part)
            if not before:
                now = Narrative(**{**now.__dict__, part: text})
                first[(part, norm_key(record.name), area)] = cells
            elif norm_key(before) != norm_key(text):
                origin = first[(part, norm_key(record.name), area)]
                self.problem(ProblemCode.CONFLICT,
                             cells, part, f"'{self.framework.get_area(area).name}' already has a "
                             f"different {RATING_LABELS[part].lower()} for '{record.name}' on sheet "
                             f"'{origin.sheet}' row {origin.row}. The narrative belongs to the area: "
                             "repeat the same text on its other rows or leave them blank.")
        record.narratives[area] = now

    # The Actions sheet -------------------------------------------------------------------

    def actions(self, sheets: list[tuple[Sheet, _Header]]) -> list[RecommendationRecord]:
        found: dict[tuple[str, str], tuple[RecommendationRecord, _Cells]] = {}
        for sheet, header in sheets:
            current: tuple[RecommendationRecord, _Cells] | None = None
            for cells in self.rows(sheet, header):
                current = self.action_row(cells, current, found)
        return [record for record, _ in found.values()]

    def action_row(self, cells: _Cells, current, found) -> tuple | object | None:
        text = cells.text("recommendation")
        if not text and current is _UNREAD:
            return _UNREAD   # continues a recommendation whose own row was wrong: reported there
        if not text and current is None:
            self.problem(ProblemCode.MISSING_VALUE,
                         cells, "recommendation", "The recommendation is empty. Give the "
                         "recommendation's text on its first row; later rows may repeat it or "
                         "leave it blank.")
            return None
        if text:
            made_by = self.recommending_assessment(cells)
            area = self.area(cells)
            if not cells.text("area") and made_by is not None:
                self.problem(ProblemCode.MISSING_VALUE,
                             cells, "area", "The area is empty. Give the area the recommendation "
                             "is for: " + ", ".join(a.name for a in self.framework.areas) + ".")
            if made_by is None or area is None:
                return _UNREAD
            key = (norm_key(made_by), norm_key(text))
            if key in found:
                record, origin = found[key]
            else:
                record = RecommendationRecord(made_by, area, None, text, None, None, False)
                origin = cells
                found[key] = (record, cells)
            if record.area != area:
                self.problem(ProblemCode.CONFLICT, cells, "area", f"This recommendation is for "
                             f"'{self.framework.get_area(record.area).name}' on sheet "
                             f"'{origin.sheet}' row {origin.row}. A recommendation has one area.")
            current = (record, origin)
        record, origin = current
        if not text:
            for name in ("assessment", "area"):
                given = cells.text(name)
                if given and norm_key(given) not in (norm_key(record.assessment), norm_key(record.area),
                                                     norm_key(self.framework.get_area(record.area).name)):
                    self.problem(ProblemCode.MISSING_VALUE,
                                 cells, "recommendation", "The recommendation is empty but the "
                                 f"{ACTION_LABELS[name].lower()} differs from the recommendation "
                                 f"above (row {origin.row}). Give this row's recommendation text.")
                    return current
        self.recommendation_details(cells, record, origin)
        self.action(cells, record)
        return current

    def recommending_assessment(self, cells: _Cells) -> str | None:
        name = self.assessment_name(cells)
        if name is None:
            return None
        resolved = self.resolve(name)
        if resolved is None:
            names = [r.name for r in self.assessments.values()] + list(self.known)
            self.problem(ProblemCode.UNKNOWN_NAME, cells, "assessment", _unknown(name, "assessment", names,
                         fix="Name an assessment on the Ratings sheet or one already loaded "
                             "(kim ima show lists them)"))
        return resolved

    def recommendation_details(self, cells: _Cells, record: RecommendationRecord, origin: _Cells) -> None:
        sub_area = self.sub_area(cells, record.area)
        if sub_area is not None:
            self.detail(cells, record, origin, "sub_area", sub_area,
                        self.framework.get_sub_area(sub_area).name)
        priority = cells.text("priority")
        if priority:
            found = _PRIORITY_WORDS.get(norm_key(priority))
            if found is None:
                self.problem(ProblemCode.BAD_VALUE,
                             cells, "priority", f"'{_shorten(priority)}' is not a priority. Use "
                             f"{', '.join(p.capitalize() for p in PRIORITIES)}, or leave it blank.")
            else:
                self.detail(cells, record, origin, "priority", found, found)
        repeated = cells.text("repeated_at")
        if repeated:
            later = self.later_assessment(cells, record, repeated)
            if later is not None:
                self.detail(cells, record, origin, "repeated_at", later, later)
        flag = cells.values.get("next_step")
        if flag is not None:
            value = _flag(flag)
            if value is None:
                self.problem(ProblemCode.BAD_VALUE,
                             cells, "next_step", f"'{_shorten(cells.text('next_step'))}' is not Yes "
                             "or No. Write Yes to list the recommendation under next steps, or leave "
                             "it blank.")
            elif value:
                record.next_step = True

    def detail(self, cells: _Cells, record: RecommendationRecord, origin: _Cells, attribute: str,
               value: object, shown: str) -> None:
        before = getattr(record, attribute)
        if before is None:
            setattr(record, attribute, value)
        elif before != value:
            self.problem(ProblemCode.CONFLICT, cells, attribute, f"This recommendation already has "
                         f"{ACTION_LABELS[attribute].lower()} '{_shown(self.framework, attribute, before)}' "
                         f"(sheet '{origin.sheet}' row {origin.row}), not '{shown}'. Repeat it or "
                         "leave it blank.")

    def later_assessment(self, cells: _Cells, record: RecommendationRecord, given: str) -> str | None:
        if norm_key(given) in YES_WORDS | NO_WORDS:
            self.problem(ProblemCode.MISSING_VALUE,
                         cells, "repeated_at", "Give the name of the later assessment that repeated "
                         "the recommendation, such as 'Review 2015', or leave it blank.")
            return None
        later = self.resolve(given)
        if later is None:
            names = [r.name for r in self.assessments.values()] + list(self.known)
            self.problem(ProblemCode.UNKNOWN_NAME, cells, "repeated_at", _unknown(given, "assessment", names,
                         fix="Name the later assessment that repeated it"))
            return None
        made, repeated = self.dated(record.assessment), self.dated(later)
        if later == record.assessment or (made and repeated and repeated <= made):
            self.problem(ProblemCode.BAD_VALUE,
                         cells, "repeated_at", f"'{later}' is not later than '{record.assessment}', "
                         "which made the recommendation. Name a later assessment, or leave it blank.")
            return None
        return later

    def action(self, cells: _Cells, record: RecommendationRecord) -> None:
        text = cells.text("action")
        details = [n for n in ("owner", "due", "status", "commentary") if cells.text(n)]
        if not text:
            if details:
                self.problem(ProblemCode.MISSING_VALUE, cells, "action", f"The action is empty but its "
                             f"{ACTION_LABELS[details[0]].lower()} is given. Enter the action, or "
                             "clear the row's action columns.")
            return
        if any(norm_key(a.text) == norm_key(text) for a in record.actions):
            self.problem(ProblemCode.DUPLICATE,
                         cells, "action", "This recommendation already has this action. Keep one "
                         "row per action.")
            return
        owner = cells.text("owner").lower()
        if not owner:
            self.problem(ProblemCode.MISSING_VALUE,
                         cells, "owner", "The owner is empty. Every action needs an owner: give "
                         "their work email, such as jane.smith@dept.gov.uk.")
        elif len(owner) > EMAIL_MAX_CHARS or not _EMAIL.match(owner):
            self.problem(ProblemCode.BAD_VALUE,
                         cells, "owner", f"'{_shorten(owner)}' is not an email address. Give the "
                         "owner's work email, such as jane.smith@dept.gov.uk.")
        status = NOT_STARTED
        given = cells.text("status")
        if given:
            found = _STATUS_WORDS.get(norm_key(given))
            if found is None:
                self.problem(ProblemCode.UNKNOWN_NAME,
                             cells, "status", _unknown(given, "status", list(ACTION_STATUSES)))
            else:
                status = found
        record.actions.append(ActionRecord(text, owner, self.date(cells, "due"), status,
                                           cells.text("commentary")))


# Helpers -----------------------------------------------------------------------------------

def _has_cells(sheet: Sheet) -> bool:
    return any(v is not None and str(v).strip() for row in sheet.rows[:HEADER_SCAN_ROWS] for v in row)


def _named_kind(name: str) -> str | None:
    key = norm_key(name)
    if key in ("ratings", "rating", "imaratings"):
        return RATINGS
    if key in ("actions", "action", "actionplan", "recommendations", "recommendationsandactions"):
        return ACTIONS
    return None


def _find_header(sheet: Sheet, fields: Mapping[str, tuple[str, ...]], required: tuple[str, ...]
                 ) -> tuple[_Header | None, bool]:
    """The row that looks most like a header of ``fields``, and whether it has every required one."""
    lookup = header_lookup(fields)
    best: _Header | None = None
    for r, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        for i, value in enumerate(row):
            name = lookup.get(norm_key(value))
            if name and name not in columns:
                columns[name] = i
        if columns and (best is None or len(columns) > len(best.columns)):
            best = _Header(r, columns, ["" if v is None else str(v).strip() for v in row])
    return best, best is not None and all(f in best.columns for f in required)


def _lookup(given: str, choices) -> str | None:
    """The id of the choice whose id or name ``given`` is, ignoring case and punctuation."""
    key = norm_key(given)
    for choice_id, name in choices:
        if key in (norm_key(choice_id), norm_key(name)):
            return choice_id
    return None


def _unknown(given: str, what: str, names: list[str], *, fix: str | None = None) -> str:
    return (f"'{_shorten(given)}' is not {'an' if what[0] in 'aeiou' else 'a'} {what}."
            + did_you_mean(given, names)
            + (f" {fix}." if fix else f" Use one of: {', '.join(names)}."))


def _shown(framework: Framework, attribute: str, value: object) -> str:
    if attribute == "sub_area":
        return framework.get_sub_area(str(value)).name
    return str(value)


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    key = norm_key(value)
    text = str(value).strip().lower()
    if key in YES_WORDS or text in _TICKS:
        return True
    if key in NO_WORDS:
        return False
    return None


def _day(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def parse_date(value: object) -> dt.date | None:
    """A date from a date cell or text written the UK way (day first); None when it is not one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace(",", " ").split())
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text, flags=re.IGNORECASE)
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    for fmt in _MONTH_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    # A date cell saved to CSV by Excel carries a time of midnight.
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        return None
