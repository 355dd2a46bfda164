"""From a workbook's cells to a checked return: layout detection and validation.

Two layouts are accepted, told apart by their headers: *long* (one row per team ×
criterion) and *wide* (one row per team, a score column and an evidence column per
criterion). Every problem is collected, each located as the spreadsheet shows it, and
raised together; a return with any problem is never saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.domain.errors import Problem, ProblemCode, UsageError, ValidationError
from kim_metrics.reading.matching import _shorten, criterion_lookup, header_lookup, norm_keys, parse_scores
from kim_metrics.domain.names import did_you_mean, name_problem, norm_key
from kim_metrics.reading.reader import Sheet, Workbook
from kim_metrics.reading.text_rules import cell_text, text_problems

# Canonical columns of a return and the other spellings people use for them.
FIELDS: dict[str, tuple[str, ...]] = {
    "group": ("business group", "dg group", "group name"),
    "directorate": ("directorate name", "division"),
    "team": ("team name", "business unit", "unit"),
    "criterion": ("criteria", "kim criterion", "measure", "standard"),
    "score": ("rating", "level", "self assessment", "self-assessment", "status", "value", "claimed score"),
    "evidence": ("evidence text", "evidence description", "evidence provided"),
    "evidence_link": ("evidence link", "link", "url", "evidence url", "link to evidence"),
    "comment": ("comments", "notes", "note"),
}
FIELD_LABELS = {
    "group": "Group", "directorate": "Directorate", "team": "Team", "criterion": "Criterion",
    "score": "Score", "evidence": "Evidence", "evidence_link": "Evidence link", "comment": "Comment",
}
LONG_REQUIRED = ("team", "criterion", "score")
HEADER_SCAN_ROWS = 30
# Wide layout: the words that mark a criterion's companion columns.
_WIDE_PARTS = {"evidence_link": ("evidencelink", "link", "url"), "evidence": ("evidence",),
               "comment": ("comment", "comments", "notes")}


@dataclass
class ParsedReturn:
    """A checked return: one row per team × criterion, ready to score or save."""

    file_name: str
    layout: str
    scores: pd.DataFrame  # team_id, team, directorate, group, criterion, claimed_raw, claimed,
    #                       evidence, evidence_link, comment, sheet, row
    new_teams: pd.DataFrame = field(default_factory=pd.DataFrame)  # discovered when no org loaded

    @property
    def team_ids(self) -> list:
        return sorted(self.scores["team_id"].unique().tolist())


def parse_mapping(items: list[str] | None, criteria: CriteriaSet) -> dict[str, str]:
    """``Team="Organisation Name"`` pairs → {canonical column: user's header}."""
    out: dict[str, str] = {}
    fields = header_lookup({f: (FIELD_LABELS[f],) for f in FIELDS})
    crit = criterion_lookup(criteria)
    for item in items or []:
        key, sep, header = item.partition("=")
        if not sep or not key.strip() or not header.strip():
            raise UsageError(f"--map {item!r} is not of the form Column=\"Your header\", "
                             'for example --map Team="Organisation Name".')
        k = norm_key(key)
        if k in fields:
            out[fields[k]] = header.strip().strip('"')
            continue
        base, _, part = key.strip().rpartition(".")
        if base and norm_key(base) in crit and norm_key(part) in {"evidence", "evidencelink", "comment"}:
            part_field = {"evidence": "evidence", "evidencelink": "evidence_link", "comment": "comment"}
            out[f"{crit[norm_key(base)]}.{part_field[norm_key(part)]}"] = header.strip().strip('"')
        elif k in crit:
            out[crit[k]] = header.strip().strip('"')
        else:
            raise UsageError(f"--map {key!r}: not a column of a return or a criterion. Use one of "
                             f"{', '.join(FIELD_LABELS.values())}, or a criterion id "
                             f"({', '.join(criteria.ids)}) for a wide layout.")
    return out


@dataclass
class _Header:
    row: int                   # 0-based index of the header row
    columns: dict[str, int]    # canonical column → position
    labels: list[str]          # the header text as written, for messages
    layout: str | None


def _find_header(sheet: Sheet, criteria: CriteriaSet, mapping: Mapping[str, str]) -> _Header | None:
    fields = header_lookup(FIELDS)
    crit = criterion_lookup(criteria)
    mapped = {norm_key(header): name for name, header in mapping.items()}
    best: _Header | None = None
    best_hits = 0
    for r, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        keys = [norm_key(v) for v in row]
        columns: dict[str, int] = {}
        for i, k in enumerate(keys):
            if not k:
                continue
            name = mapped.get(k) or fields.get(k) or crit.get(k) or _wide_part(k, crit)
            if name and name not in columns:
                columns[name] = i
        has_long = all(f in columns for f in LONG_REQUIRED)
        wide_scores = [c for c in criteria.ids if c in columns]
        layout = "long" if has_long else ("wide" if "team" in columns and wide_scores else None)
        hits = len(columns) + (100 if layout else 0)
        if hits > best_hits:
            labels = ["" if v is None else str(v).strip() for v in row]
            best, best_hits = _Header(r, columns, labels, layout), hits
    return best


def _wide_part(key: str, crit: Mapping[str, str]) -> str | None:
    """'Naming evidence', 'Evidence - naming', 'naming link' → 'naming.evidence' and so on."""
    for part, words in _WIDE_PARTS.items():
        for w in words:
            for stem in (key[: -len(w)] if key.endswith(w) else None,
                         key[len(w):] if key.startswith(w) else None):
                if stem and stem in crit:
                    return f"{crit[stem]}.{part}"
    return None


def parse_return(workbook: Workbook, criteria: CriteriaSet, org: pd.DataFrame,
                 mapping: Mapping[str, str] | None = None) -> ParsedReturn:
    """Check every sheet that looks like a return and gather the scores.

    ``org`` has one row per known team (team_id, team, directorate, group); when it is
    empty, the teams the return names are taken as the organisation (discovered).
    Raises ``ValidationError`` with every problem found.
    """
    mapping = dict(mapping or {})
    file = workbook.file_name
    problems: list[Problem] = []
    frames: list[pd.DataFrame] = []
    layouts: set[str] = set()
    candidates = [s for s in workbook.sheets if s.visible] or list(workbook.sheets)
    headers = [(s, _find_header(s, criteria, mapping)) for s in candidates if _has_cells(s)]
    usable = [(s, h) for s, h in headers if h is not None and h.layout]
    if not headers:
        hidden = [s.name for s in workbook.sheets if not s.visible and _has_cells(s)]
        if hidden:
            # Hidden sheets are not read (the template hides its drop-down lists in one).
            raise ValidationError([Problem(file, None, None, None,
                                           f"The visible sheets are empty; the data is on hidden sheet "
                                           f"'{hidden[0]}'. Unhide it (right-click a sheet tab, then "
                                           "Unhide) or copy the scores to a visible sheet, and upload "
                                           "again.", code=ProblemCode.NO_DATA)])
        raise ValidationError([Problem(file, None, None, None,
                                       "The file has no data. Fill in the template (one row per team "
                                       "and criterion) and upload it again.",
                                       code=ProblemCode.NO_DATA)])
    if not usable:
        sheet, header = max(headers, key=lambda sh: len(sh[1].columns) if sh[1] else -1)
        problems.append(_missing_columns_problem(file, sheet, header, criteria))
        raise ValidationError(problems)
    for sheet, header in usable:
        layouts.add(header.layout)
        frame = (_long_frame if header.layout == "long" else _wide_frame)(sheet, header, criteria)
        if frame.empty:
            problems.append(Problem(file, sheet.name, header.row + 1, None,
                                    "The sheet has headers but no rows of scores below them. "
                                    "Add one row per team and criterion.", code=ProblemCode.NO_DATA))
            continue
        frame["sheet"] = sheet.name
        frames.append(frame)
    if not frames:
        raise ValidationError(problems)
    data = pd.concat(frames, ignore_index=True)
    problems += text_problems(data, file, FIELD_LABELS, names_from_file=org.empty)
    data, new_teams = _match_teams(data, org, file, problems)
    _check_scores(data, criteria, file, problems)
    _check_duplicates(data, criteria, file, problems)
    _check_complete(data, criteria, file, problems)
    if problems:
        raise ValidationError(problems)
    columns = ["team_id", "team", "directorate", "group", "criterion", "claimed_raw", "claimed",
               "evidence", "evidence_link", "comment", "sheet", "row"]
    return ParsedReturn(file_name=file, layout="/".join(sorted(layouts)),
                        scores=data[columns].reset_index(drop=True), new_teams=new_teams)


def _has_cells(sheet: Sheet) -> bool:
    return any(v is not None and str(v).strip() for row in sheet.rows[:HEADER_SCAN_ROWS] for v in row)


def _missing_columns_problem(file: str, sheet: Sheet, header: _Header | None,
                             criteria: CriteriaSet) -> Problem:
    found = [x for x in (header.labels if header else []) if x]
    have = set(header.columns) if header else set()
    missing = [FIELD_LABELS[f] for f in LONG_REQUIRED if f not in have]
    said = (f"Could not find the columns of a return. Missing: {', '.join(missing)}. "
            f"Found: {', '.join(found[:12]) or 'no headers'}. Use the template's headers (Group, "
            "Directorate, Team, Criterion, Score, Evidence, Evidence link, Comment), one score column "
            f"per criterion ({', '.join(c.name for c in criteria)}), ")
    return Problem(
        file, sheet.name, header.row + 1 if header else None, None,
        said + 'or map your own headers (for example --map Team="Organisation Name").',
        web_message=said + "or tell us which of your columns holds each field in the "
                           "\"Match your columns\" form below.",
        code=ProblemCode.UNRECOGNISED_COLUMNS)


def _cells(sheet: Sheet, header: _Header) -> pd.DataFrame:
    body = sheet.rows[header.row + 1:]
    lengths = set(map(len, body))
    width = max(lengths, default=0)
    # CSV rows can be ragged; pandas will stop padding them itself, so pad the short ones.
    if len(lengths) > 1:
        body = [r if len(r) == width else [*r, *([None] * (width - len(r)))] for r in body]
    if not body or not width:
        return pd.DataFrame(index=pd.RangeIndex(header.row + 2, header.row + 2 + len(body)))
    # One object grid, then plain object columns: pandas would otherwise infer a type per
    # column (and turn blanks beside dates into NaN), which costs more than the cells are worth.
    grid = np.empty((len(body), width), dtype=object)
    grid[:] = body
    frame = pd.DataFrame(grid, dtype=object, copy=False)
    frame.index = pd.RangeIndex(header.row + 2, header.row + 2 + len(frame))  # Excel's row numbers
    return frame


def _text(frame: pd.DataFrame, pos: int | None) -> pd.Series:
    if pos is None or pos not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    # Names and evidence repeat down a return: clean each distinct value once. A cell of
    # invisible characters only is blank, so such "evidence" is no evidence (text_rules).
    codes, uniques = pd.factorize(frame[pos].to_numpy(dtype=object), use_na_sentinel=True)
    cleaned = np.array([cell_text(u) for u in uniques] + [""], dtype=object)  # -1 (blank) → ""
    return pd.Series(cleaned[codes], index=frame.index, dtype=object)


def _long_frame(sheet: Sheet, header: _Header, criteria: CriteriaSet) -> pd.DataFrame:
    cells = _cells(sheet, header)
    if cells.empty:
        return pd.DataFrame()
    cols = header.columns
    out = pd.DataFrame({name: _text(cells, cols.get(name))
                        for name in ("group", "directorate", "team", "criterion",
                                     "evidence", "evidence_link", "comment")}, index=cells.index)
    out["claimed_raw"] = cells[cols["score"]] if cols["score"] in cells.columns else None
    out["row"] = cells.index
    blank = (out["team"] == "") & (out["criterion"] == "") & _blanks(out["claimed_raw"])
    out = out[~blank]
    lookup = criterion_lookup(criteria)
    out["criterion_given"] = out["criterion"]
    out["criterion"] = norm_keys(out["criterion"]).map(lookup)
    out["score_column"] = header.labels[cols["score"]]
    out["criterion_column"] = header.labels[cols["criterion"]]
    out["team_column"] = header.labels[cols["team"]]
    return out


def _wide_frame(sheet: Sheet, header: _Header, criteria: CriteriaSet) -> pd.DataFrame:
    cells = _cells(sheet, header)
    if cells.empty:
        return pd.DataFrame()
    cols = header.columns
    base = pd.DataFrame({name: _text(cells, cols.get(name))
                         for name in ("group", "directorate", "team")}, index=cells.index)
    parts = []
    for c in criteria:
        pos = cols.get(c.id)
        part = base.copy()
        part["criterion"] = c.id
        part["criterion_given"] = c.id
        part["claimed_raw"] = cells[pos] if pos is not None and pos in cells.columns else None
        part["score_column"] = header.labels[pos] if pos is not None else c.name
        for name in ("evidence", "evidence_link", "comment"):
            part[name] = _text(cells, cols.get(f"{c.id}.{name}"))
        part["row"] = cells.index
        part["missing_column"] = pos is None
        parts.append(part)
    out = pd.concat(parts)
    score_cells = [cells[cols[c.id]].map(_blank) for c in criteria
                   if c.id in cols and cols[c.id] in cells.columns]
    # A CSV's rows can stop short of every score column: then all its scores are blank.
    blank_scores = (pd.concat(score_cells, axis=1).all(axis=1) if score_cells
                    else pd.Series(True, index=cells.index))
    blank_rows = (base == "").all(axis=1) & blank_scores
    out = out[~out["row"].isin(blank_rows[blank_rows].index)]
    out["criterion_column"] = None
    out["team_column"] = header.labels[cols["team"]]
    return out


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _blanks(values: pd.Series) -> pd.Series:
    """``_blank`` for a whole column, worked out once per distinct value."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    blank = np.array([_blank(u) for u in uniques] + [True], dtype=bool)
    return pd.Series(blank[codes], index=values.index)


def _match_teams(data: pd.DataFrame, org: pd.DataFrame, file: str,
                 problems: list[Problem]) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = data.copy()
    missing_team = data["team"] == ""
    for r in data.loc[missing_team].drop_duplicates(["sheet", "row"]).itertuples():
        problems.append(Problem(file, r.sheet, r.row, r.team_column,
                                "The team is empty. Enter the team's name as it appears in the "
                                "organisation structure.", code=ProblemCode.MISSING_VALUE))
    data["team_key"] = norm_keys(data["team"])
    data["directorate_key"] = norm_keys(data["directorate"])
    if org.empty:
        # The return's names become the organisation: the same rule as the workbook's.
        for field in ("team", "directorate", "group"):
            for r in data.loc[data[field] != ""].drop_duplicates(field).itertuples():
                wrong = name_problem(str(getattr(r, field)), field)
                if wrong:
                    column = r.team_column if field == "team" else field.capitalize()
                    problems.append(Problem(file, r.sheet, r.row, column, wrong,
                                            code=ProblemCode.BAD_VALUE))
        return _discover_teams(data, missing_team)
    known = org.assign(team_key=norm_keys(org["team"]), directorate_key=norm_keys(org["directorate"]))
    unique_names = known.drop_duplicates("team_key", keep=False).set_index("team_key")
    by_pair = known.drop_duplicates(["directorate_key", "team_key"]).set_index(
        ["directorate_key", "team_key"])
    pair_index = pd.MultiIndex.from_frame(data[["directorate_key", "team_key"]])
    team_id = pd.Series(by_pair["team_id"].reindex(pair_index).to_numpy(), index=data.index)
    fallback = data["team_key"].map(unique_names["team_id"])
    team_id = team_id.fillna(fallback)
    data["team_id"] = team_id
    found = team_id.notna()
    info = known.set_index("team_id")
    for col in ("team", "directorate", "group"):
        data.loc[found, col] = data.loc[found, "team_id"].map(info[col])
    unknown = data.loc[~found & ~missing_team].drop_duplicates(["sheet", "row"])
    names = known["team"].tolist()
    for r in unknown.itertuples():
        ambiguous = (known["team_key"] == r.team_key).sum() > 1
        if ambiguous:
            msg = (f"There is more than one team called '{r.team}'. Fill in the Directorate "
                   f"column so the team can be told apart.")
        else:
            msg = (f"'{_shorten(str(r.team))}' is not a team in the organisation structure."
                   + did_you_mean(r.team, names)
                   + " Use the team's name as the organisation structure gives it, or ask the "
                   "KIM team to add the team.")
        problems.append(Problem(file, r.sheet, r.row, r.team_column, msg, code=ProblemCode.UNKNOWN_TEAM))
    data = data.loc[found]
    return data, pd.DataFrame(columns=["team", "directorate", "group"])


def _discover_teams(data: pd.DataFrame, missing_team: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = data.loc[~missing_team].copy()
    data["directorate"] = data["directorate"].where(data["directorate"] != "", "Unassigned")
    data["group"] = data["group"].where(data["group"] != "", "Unassigned")
    teams = data.drop_duplicates(["directorate_key", "team_key"])[["team", "directorate", "group",
                                                                   "directorate_key", "team_key"]]
    teams = teams.reset_index(drop=True)
    # Discovered teams have no database id yet; a negative key stands in until they are saved.
    teams["team_id"] = -(teams.index + 1)
    key = teams.set_index(["directorate_key", "team_key"])["team_id"]
    data["team_id"] = key.reindex(pd.MultiIndex.from_frame(
        data[["directorate_key", "team_key"]])).to_numpy()
    return data, teams[["team_id", "team", "directorate", "group"]]


def _check_scores(data: pd.DataFrame, criteria: CriteriaSet, file: str,
                  problems: list[Problem]) -> None:
    unknown = data["criterion"].isna()
    names = [c.name for c in criteria] + criteria.ids
    for r in data.loc[unknown].itertuples():
        if not str(r.criterion_given).strip():
            msg = "The criterion is empty. Enter one of: " + ", ".join(c.name for c in criteria) + "."
        else:
            msg = (f"'{_shorten(str(r.criterion_given))}' is not a criterion."
                   + did_you_mean(r.criterion_given, names)
                   + " Use a criterion's id, name or alias: "
                   + ", ".join(c.name for c in criteria) + ".")
        problems.append(Problem(file, r.sheet, r.row, r.criterion_column, msg,
                                code=ProblemCode.UNKNOWN_CRITERION))
    known = data.loc[~unknown]
    if "missing_column" in known.columns:
        absent = known["missing_column"].fillna(False).astype(bool)
        for cid in known.loc[absent, "criterion"].unique():
            c = criteria.get(cid)
            first = known.loc[absent & (known["criterion"] == cid)].iloc[0]
            problems.append(Problem(file, first["sheet"], None, c.name,
                                    f"There is no score column for '{c.name}'. Add a column headed "
                                    f"'{c.name}' (or its id '{c.id}') with a score for every team.",
                                    code=ProblemCode.MISSING_COLUMN))
        known = known.loc[~absent]
    values, messages = parse_scores(known["claimed_raw"], known["criterion"], criteria)
    data["claimed"] = values.reindex(data.index)
    bad = messages.notna()
    for (sheet, row, col), msg in zip(known.loc[bad, ["sheet", "row", "score_column"]].itertuples(index=False),
                                      messages[bad]):
        problems.append(Problem(file, sheet, row, col, msg, code=ProblemCode.BAD_SCORE))
    data["claimed_raw"] = data["claimed_raw"].map(lambda v: "" if v is None else str(v).strip())


def _check_duplicates(data: pd.DataFrame, criteria: CriteriaSet, file: str,
                      problems: list[Problem]) -> None:
    keyed = data.loc[data["criterion"].notna() & data["team_id"].notna()]
    dup = keyed.duplicated(["team_id", "criterion"], keep="first")
    if not dup.any():
        return
    first = keyed.drop_duplicates(["team_id", "criterion"]).set_index(["team_id", "criterion"])
    for r in keyed.loc[dup].itertuples():
        orig = first.loc[(r.team_id, r.criterion)]
        problems.append(Problem(
            file, r.sheet, r.row, r.criterion_column or r.score_column,
            f"'{r.team}' already has a score for '{criteria.get(r.criterion).name}' on "
            f"sheet '{orig['sheet']}' row {orig['row']}. Keep one row per team and criterion.",
            code=ProblemCode.DUPLICATE))


def _check_complete(data: pd.DataFrame, criteria: CriteriaSet, file: str,
                    problems: list[Problem]) -> None:
    keyed = data.loc[data["criterion"].notna()]
    absent_column = keyed.get("missing_column", pd.Series(False, index=keyed.index))
    # A wide sheet without a criterion's column is reported once, not once per team.
    reported = set(keyed.loc[absent_column.fillna(False).astype(bool), "criterion"])
    teams = keyed.drop_duplicates("team_id")[["team_id", "team", "sheet"]]
    given = pd.MultiIndex.from_frame(keyed[["team_id", "criterion"]])
    wanted = pd.MultiIndex.from_product([teams["team_id"], [c for c in criteria.ids if c not in reported]])
    info = teams.set_index("team_id")
    for team_id, cid in wanted.difference(given):
        problems.append(Problem(
            file, info.at[team_id, "sheet"], None, None,
            f"'{info.at[team_id, 'team']}' has no score for '{criteria.get(cid).name}'. Every team "
            "needs a row for each criterion; add one.", code=ProblemCode.MISSING_SCORE))
