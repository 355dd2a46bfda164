"""The organisation workbook: Group → Directorate → Team, with directors and information managers."""

from __future__ import annotations

import re

import pandas as pd

from kim_metrics.domain.errors import Problem, ProblemCode, ValidationError
from kim_metrics.domain.identity import IdentityRefused, normalise_address
from kim_metrics.reading.matching import header_lookup
from kim_metrics.domain.names import name_problem, norm_key
from kim_metrics.reading.reader import Workbook

ORG_FIELDS = {
    "group": ("business group", "dg group"),
    "directorate": ("directorate name", "division"),
    "team": ("team name", "business unit"),
    "director": ("director email", "director's email", "directors email"),
    "information_managers": ("information manager", "information managers emails", "ims",
                             "information manager emails"),
}
ORG_LABELS = {"group": "Group", "directorate": "Directorate", "team": "Team",
              "director": "Director", "information_managers": "Information managers"}
ORG_REQUIRED = ("group", "directorate", "team")
_SPLIT = re.compile(r"[;,]")


def parse_org(workbook: Workbook) -> pd.DataFrame:
    """One row per team: team, directorate, group, director, information_managers (a list).

    Raises ``ValidationError`` with every problem: missing columns, empty names, a team
    listed twice in one directorate, a directorate given two groups or two directors, and
    emails that are not emails.
    """
    file = workbook.file_name
    lookup = header_lookup(ORG_FIELDS)
    for sheet in [s for s in workbook.sheets if s.visible] or workbook.sheets:
        for r, row in enumerate(sheet.rows[:30]):
            cols = {}
            for i, v in enumerate(row):
                f = lookup.get(norm_key(v))
                if f and f not in cols:
                    cols[f] = i
            if all(f in cols for f in ORG_REQUIRED):
                return _org_frame(file, sheet.name, sheet.rows, r, cols,
                                  ["" if v is None else str(v).strip() for v in row])
    raise ValidationError([Problem(file, None, None, None,
                                   "Could not find the organisation columns. The first sheet needs "
                                   "headers Group, Directorate, Team, Director and Information "
                                   "managers, one row per team.",
                                   code=ProblemCode.UNRECOGNISED_COLUMNS)])


def _org_frame(file: str, sheet: str, rows: list[list[object]], header_row: int,
               cols: dict[str, int], labels: list[str]) -> pd.DataFrame:
    problems: list[Problem] = []
    records = []
    for offset, row in enumerate(rows[header_row + 1:]):
        excel_row = header_row + offset + 2
        cell = {f: ("" if i >= len(row) or row[i] is None else str(row[i]).strip())
                for f, i in cols.items()}
        if not any(cell.values()):
            continue
        for f in ORG_REQUIRED:
            if not cell.get(f):
                problems.append(Problem(file, sheet, excel_row, labels[cols[f]],
                                        f"The {ORG_LABELS[f].lower()} is empty. Every row needs a "
                                        "group, a directorate and a team.",
                                        code=ProblemCode.MISSING_VALUE))
            elif (wrong := name_problem(cell[f], ORG_LABELS[f].lower())):
                problems.append(Problem(file, sheet, excel_row, labels[cols[f]], wrong,
                                        code=ProblemCode.BAD_VALUE))
        director = cell.get("director", "")
        if director:
            try:
                director = normalise_address(director)
            except IdentityRefused as exc:
                problems.append(Problem(file, sheet, excel_row, labels[cols["director"]],
                                        f"{exc} Give the director's work email, such as "
                                        "jane.smith@dept.gov.uk.", code=ProblemCode.BAD_VALUE))
        ims = []
        for e in (e.strip() for e in _SPLIT.split(cell.get("information_managers", ""))):
            if not e:
                continue
            try:
                ims.append(normalise_address(e))
            except IdentityRefused as exc:
                problems.append(Problem(file, sheet, excel_row, labels[cols["information_managers"]],
                                        f"{exc} Separate several emails with ';'.",
                                        code=ProblemCode.BAD_VALUE))
        records.append({"team": cell.get("team", ""), "directorate": cell.get("directorate", ""),
                        "group": cell.get("group", ""), "director": director,
                        "information_managers": ims, "row": excel_row})
    frame = pd.DataFrame(records, columns=["team", "directorate", "group", "director",
                                           "information_managers", "row"])
    if frame.empty:
        problems.append(Problem(file, sheet, header_row + 1, None,
                                "The organisation sheet has headers but no teams. Add one row per team.",
                                code=ProblemCode.NO_DATA))
    else:
        keys = frame.assign(d=frame["directorate"].map(norm_key), t=frame["team"].map(norm_key),
                            g=frame["group"].map(norm_key))
        # One name, one spelling: the database keeps names as written, so two spellings of
        # one directorate or group would be saved as two.
        for field, key in (("directorate", "d"), ("group", "g")):
            named = keys[keys[field] != ""]
            first = named.drop_duplicates(key).set_index(key)[[field, "row"]]
            other = named[named[field] != named[key].map(first[field])]
            for r in other.drop_duplicates(field).itertuples():
                was = first.loc[getattr(r, key)]
                problems.append(Problem(file, sheet, r.row, labels[cols[field]],
                                        f"'{getattr(r, field)}' is the same {field} as "
                                        f"'{was[field]}' on row {was['row']}, spelt differently. "
                                        "Spell it the same way on every row.",
                                        code=ProblemCode.CONFLICT))
        for r in keys[keys.duplicated(["d", "t"])].itertuples():
            problems.append(Problem(file, sheet, r.row, labels[cols["team"]],
                                    f"'{r.team}' is listed twice in '{r.directorate}'. Keep one row per team.",
                                    code=ProblemCode.DUPLICATE))
        for field in ("group", "director"):
            if field not in cols:
                continue
            given = keys[keys[field] != ""].groupby("d")[field].nunique()
            for d in given[given > 1].index:
                first = keys[keys["d"] == d].iloc[0]
                problems.append(Problem(file, sheet, first["row"], labels[cols[field]],
                                        f"'{first['directorate']}' is given more than one "
                                        f"{ORG_LABELS[field].lower()}. A directorate has one.",
                                        code=ProblemCode.CONFLICT))
    if problems:
        raise ValidationError(problems)
    return frame.drop(columns="row")
