"""What the dashboard's pages show that is more than one call to ``api``.

Pure functions over the frames ``api`` returns (and a few that take an engine and read
through ``store``): headline figures and their change since the last round, a directorate's
rank and trend, the improvement actions ordered by what each is worth to the directorate,
a team's detail with its history, and the shapes the upload and admin pages need (problem
reports, column mapping, the criteria editor). Never imports Streamlit.

Rules, all deliberate:

* **Headline change** is this round's count minus the previous round's, per status; it is
  ``None`` in the first round, or when the previous round's scale had no such status.
* **Action value.** A directorate's score is the mean of its returned teams' scores, and a
  team's score is the weighted mean of its criteria made 0-100. Moving team *t*'s criterion
  *c* from its counted value to a target raises the directorate's score by
  ``weight(c) × (percent(target) − percent(now)) / Σ weights(t) / returned teams``.
  The target is the next level up (``Criterion.next_step``), or, for a claim that is not
  counted because it has no evidence, the level claimed: evidence is the cheapest step.
  Actions are listed best first (ties: team name, then the criteria's order).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.services import league as league_service
from kim_metrics.storage import criteria as criteria_store
from kim_metrics.storage import organisation as org_store
from kim_metrics.storage import rounds as round_store
from kim_metrics.storage import scores as score_store
from kim_metrics.domain.access import Actor, redact
from kim_metrics.domain.criteria import NO_RETURN, CriteriaSet
from kim_metrics.domain.errors import (WEB, KimError, NotFoundError, Problem, ProblemCode, ReadError,
                                      ValidationError, group_problems)
from kim_metrics.reports.exports import league_frame
from kim_metrics.domain.names import norm_key
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reading.returns import FIELD_LABELS, FIELDS, LONG_REQUIRED
from kim_metrics.domain.scoring import CHALLENGED, SCORE_DECIMALS, score_rows, team_scores
from kim_metrics.domain.frames import ACTION_COLUMNS, PERCENT, RAG, criterion_column
from kim_metrics.domain.values import as_float, as_int, missing

GAIN_DECIMALS = 2


# Headline figures --------------------------------------------------------------------------

@dataclass(frozen=True)
class Headline:
    """The department's figures for one round and their change since the round before."""

    round: str
    previous: str | None
    counts: dict[str, int]              # status → teams, in the scale's order, No return last
    changes: dict[str, int | None]      # status → change since the previous round
    score: float | None                 # mean score of the teams that returned
    score_change: float | None
    teams: int
    returned: int


def headline(trend: pd.DataFrame, round_label: str, statuses: Sequence[str]) -> Headline:
    """Headline figures for ``round_label`` from ``league_service.trend`` (one row per round, oldest first).

    ``statuses`` are the statuses to report, in order (the round's scale, then No return).
    """
    if trend.empty or round_label not in set(trend["round"]):
        raise NotFoundError(f"There are no figures for round {round_label}.")
    rows = trend.reset_index(drop=True)
    at = int(rows.index[rows["round"] == round_label][0])
    now = rows.iloc[at]
    before = rows.iloc[at - 1] if at > 0 else None

    def count(row: pd.Series | None, status: str) -> int | None:
        if row is None or status not in row.index or pd.isna(row[status]):
            return None
        return int(row[status])

    counts = {s: count(now, s) or 0 for s in statuses}
    changes: dict[str, int | None] = {}
    for s in statuses:
        prev = count(before, s)
        changes[s] = None if prev is None else counts[s] - prev
    score = as_float(now.get("score"))
    prev_score = as_float(before.get("score")) if before is not None else None
    score_change = (round(score - prev_score, SCORE_DECIMALS)
                    if score is not None and prev_score is not None else None)
    teams = int(sum(counts.values()))
    return Headline(round=round_label, previous=None if before is None else str(before["round"]),
                    counts=counts, changes=changes, score=score, score_change=score_change,
                    teams=teams, returned=teams - counts.get(NO_RETURN, 0))


# Directorates ------------------------------------------------------------------------------

STANDING_COLUMNS = ["round", "rank", "ranked", "score", "rag", "movement", "movement_label",
                    "returned_teams", "teams"]


def directorate_standing(tables: Mapping[str, pd.DataFrame], directorate: str) -> pd.DataFrame:
    """A directorate's place in each round, oldest first.

    ``tables`` maps each round label (oldest first) to that round's directorate-level league
    (``league_service.league(..., level="directorate").table``). ``ranked`` is how many directorates had
    a rank that round. Rounds in which the directorate did not exist are left out.
    """
    rows = []
    for label, table in tables.items():
        found = table[table["name"] == directorate]
        if found.empty:
            continue
        r = found.iloc[0]
        rows.append({
            "round": label,
            "rank": as_int(r["rank"]),
            "ranked": int(table["rank"].notna().sum()),
            "score": as_float(r["score"]),
            "rag": r["rag"],
            "movement": as_int(r["movement"]),
            "movement_label": r["movement_label"],
            "returned_teams": int(r["returned_teams"]),
            "teams": int(r["teams"]),
        })
    out = pd.DataFrame(rows, columns=STANDING_COLUMNS)
    out["rank"] = out["rank"].astype("Int64")
    out["movement"] = out["movement"].astype("Int64")
    return out


def directorate_history(engine: Engine, directorate: str) -> pd.DataFrame:
    """``directorate_standing`` over every round in the database."""
    tables = {r.label: league_service.league(engine, r.label, "directorate").table for r in league_service.rounds(engine)}
    return directorate_standing(tables, directorate)


def improvement_actions(teams: pd.DataFrame, scores: pd.DataFrame, criteria: CriteriaSet,
                        directorate: str | None = None) -> pd.DataFrame:
    """What each team must do next on each criterion that is not at the top status.

    ``teams`` and ``scores`` are a scored round's (``score_service.scored_round``) ``teams`` and
    ``scores``; ``directorate`` limits both to one directorate (``None``: the whole frame is
    one unit). One row per action, best first: ``gain`` is how many points (0-100) the
    directorate's score would rise, ``team_gain`` how many the team's would.
    Teams without a return have no actions here: their action is to make a return.
    """
    if directorate is not None:
        teams = teams[teams["directorate"] == directorate]
        scores = scores[scores["directorate"] == directorate] if "directorate" in scores else \
            scores[scores["team_id"].isin(teams["team_id"])]
    returned = teams[teams["returned"].astype(bool)]
    n_returned = len(returned)
    top = criteria.rag.levels[-1]
    weights = criteria.weights
    names = dict(zip(teams["team_id"], teams["team"]))
    order = {cid: i for i, cid in enumerate(criteria.ids)}
    scores = scores[scores["team_id"].isin(returned["team_id"]) & scores["criterion"].isin(order)]
    # Σ weights of the criteria each team returned: the denominator of its weighted mean.
    team_weight = scores.groupby("team_id")["criterion"].agg(
        lambda ids: sum(weights[i] for i in ids))
    rows = []
    for r in scores.itertuples(index=False):
        if r.rag == top:
            continue
        c = criteria.get(r.criterion)
        counted = float(r.counted)
        challenged = getattr(r, "review_status", None) == CHALLENGED
        if bool(r.unevidenced) and not challenged:
            target = float(r.claimed)
            kind = "evidence"
            action = (f"Send evidence for the level claimed ({c.label(target)}). Without "
                      f"evidence the claim counts as {c.label(counted)}.")
        else:
            step = c.next_step(counted, criteria.rag)
            if step is None:
                continue
            target, action = step
            kind = "next level"
        now_pct = float(c.to_percent(counted))
        target_pct = float(c.to_percent(target))
        team_gain = weights[c.id] * (target_pct - now_pct) / float(team_weight[r.team_id])
        rows.append({
            "team_id": r.team_id, "team": names.get(r.team_id, ""), "criterion": c.id,
            "criterion_name": c.name, "kind": kind, "now": c.label(counted), "rag": r.rag,
            "target": c.label(target),
            "target_rag": str(criteria.rag.classify([target], c.rag)[0]),
            "action": action, "team_gain": team_gain,
            "gain": team_gain / n_returned, "_order": order[c.id],
        })
    out = pd.DataFrame(rows, columns=[*ACTION_COLUMNS, "_order"])
    out = out.sort_values(["gain", "team", "_order"], ascending=[False, True, True],
                          kind="stable").drop(columns="_order").reset_index(drop=True)
    out["team_gain"] = out["team_gain"].astype(float).round(GAIN_DECIMALS)
    out["gain"] = out["gain"].astype(float).round(GAIN_DECIMALS)
    return out


def rag_matrix(teams: pd.DataFrame, criteria: CriteriaSet, *, label: str = "team") -> pd.DataFrame:
    """Teams × criteria as status words (``No return`` where a team gave no score).

    Indexed by ``label`` (the team's name); one column per criterion, named by the criterion.
    """
    out = pd.DataFrame(index=teams[label].to_numpy())
    out.index.name = label
    for c in criteria:
        words = teams[criterion_column(c.id, RAG)].where(teams[criterion_column(c.id, PERCENT)].notna(),
                                                         NO_RETURN)
        out[c.name] = words.to_numpy()
    return out


def league_view(table: pd.DataFrame, criteria: CriteriaSet, level: str) -> pd.DataFrame:
    """The league as a person reads it (the export's columns), with ``team_id`` for links."""
    out = league_frame(table, criteria, level)
    if level == "team":
        out.insert(0, "team_id", table["team_id"].to_numpy())
    return out


def filter_league(table: pd.DataFrame, *, groups: Sequence[str] = (),
                  directorates: Sequence[str] = ()) -> pd.DataFrame:
    """League rows in the chosen groups and directorates (empty choice: all)."""
    keep = pd.Series(True, index=table.index)
    if groups and "group" in table:
        keep &= table["group"].isin(groups)
    if directorates and "directorate" in table:
        keep &= table["directorate"].isin(directorates)
    return table[keep]


# Team detail -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TeamDetail:
    team_id: int
    team: str
    directorate: str
    group: str
    round: str | None
    score: float | None
    rag: str
    criteria: pd.DataFrame    # one row per criterion in ``round``
    history: pd.DataFrame     # one row per round, oldest first: score, rag, a status per criterion
    scores_history: pd.DataFrame   # one row per round × criterion


CRITERIA_DETAIL_COLUMNS = ["criterion", "name", "claimed", "counted", "rag", "unevidenced",
                           "evidenced", "evidence", "evidence_link", "comment", "review_status",
                           "reviewer", "review_note", "score_id", "top"]


def team_detail(engine: Engine, team_id: int, round_label: str | None = None, *,
                actor: Actor) -> TeamDetail:
    """A team's scores for a round (the latest when none is named) and its history.

    Statuses for anyone; evidence, links, comments and review notes only within ``actor``'s
    evidence scope (blank otherwise)."""
    with engine.connect() as conn:
        org = org_store.org_frame(conn, include_inactive=True)
        found = org[org["team_id"] == int(team_id)]
        if found.empty:
            raise NotFoundError(f"There is no team with id {team_id}. Pick the team from the list.")
        info = found.iloc[[0]][["team_id", "team", "directorate", "group"]].reset_index(drop=True)
        rounds = round_store.list_rounds(conn)
        history = redact(actor, score_store.team_history(conn, int(team_id)).assign(
            team_id=int(team_id), directorate=str(info.at[0, "directorate"])))
        versions = {v: criteria_store.criteria_version(conn, v) for v in {r.criteria_version_id for r in rounds}}
    if round_label is None and rounds:
        round_label = rounds[-1].label
    per_round, long_rows = [], []
    chosen: pd.DataFrame | None = None
    chosen_criteria: CriteriaSet | None = None
    chosen_team: pd.Series | None = None
    for rnd in rounds:
        criteria = versions[rnd.criteria_version_id]
        rows = history[(history["round"] == rnd.label) & history["criterion"].isin(criteria.ids)]
        scored = score_rows(rows.assign(team_id=int(team_id)), criteria)
        team = team_scores(scored, info, criteria).iloc[0]
        entry = {"round": rnd.label, "score": as_float(team["score"]), "rag": team["rag"]}
        for c in criteria:
            entry[c.name] = (team[criterion_column(c.id, RAG)]
                             if pd.notna(team[criterion_column(c.id, PERCENT)]) else NO_RETURN)
        per_round.append(entry)
        for s in scored.itertuples(index=False):
            c = criteria.get(s.criterion)
            long_rows.append({"round": rnd.label, "criterion": c.id, "name": c.name,
                              "claimed": c.label(s.claimed), "counted": c.label(s.counted),
                              "rag": s.rag, "unevidenced": bool(s.unevidenced)})
        if rnd.label == round_label:
            chosen, chosen_criteria, chosen_team = scored, criteria, team
    if chosen_criteria is None:
        if round_label is not None:
            raise NotFoundError(f"There is no round {round_label}.")
        with engine.connect() as conn:
            chosen_criteria = criteria_store.current_criteria(conn)[1]
        chosen = score_rows(history.iloc[0:0].assign(team_id=int(team_id)), chosen_criteria)
    detail = _criteria_rows(chosen, chosen_criteria)
    hist = pd.DataFrame(per_round)
    if hist.empty:
        hist = pd.DataFrame(columns=["round", "score", "rag"])
    return TeamDetail(
        team_id=int(team_id), team=str(info.at[0, "team"]), directorate=str(info.at[0, "directorate"]),
        group=str(info.at[0, "group"]), round=round_label,
        score=as_float(chosen_team["score"]) if chosen_team is not None else None,
        rag=str(chosen_team["rag"]) if chosen_team is not None else NO_RETURN,
        criteria=detail, history=hist,
        scores_history=pd.DataFrame(long_rows, columns=["round", "criterion", "name", "claimed",
                                                        "counted", "rag", "unevidenced"]))


def _criteria_rows(scored: pd.DataFrame, criteria: CriteriaSet) -> pd.DataFrame:
    by_id = {r["criterion"]: r for r in scored.to_dict("records")}
    rows = []
    for c in criteria:
        s = by_id.get(c.id)
        if s is None:
            rows.append({"criterion": c.id, "name": c.name, "claimed": "", "counted": "",
                         "rag": NO_RETURN, "unevidenced": False, "evidenced": False, "evidence": "",
                         "evidence_link": "", "comment": "", "review_status": "", "reviewer": "",
                         "review_note": "", "score_id": None, "top": c.top})
            continue
        rows.append({
            "criterion": c.id, "name": c.name,
            "claimed": _text(s.get("claimed_raw")) or c.label(s["claimed"]),
            "counted": c.label(s["counted"]), "rag": s["rag"], "unevidenced": bool(s["unevidenced"]),
            "evidenced": bool(s["evidenced"]), "evidence": _text(s.get("evidence")),
            "evidence_link": _text(s.get("evidence_link")), "comment": _text(s.get("comment")),
            "review_status": _text(s.get("review_status")), "reviewer": _text(s.get("reviewer")),
            "review_note": _text(s.get("review_note")),
            "score_id": int(s["score_id"]) if pd.notna(s.get("score_id")) else None, "top": c.top,
        })
    return pd.DataFrame(rows, columns=CRITERIA_DETAIL_COLUMNS)


def _text(value: Any) -> str:
    """A cell as trimmed text; no value is ''."""
    return "" if missing(value) else str(value).strip()


def safe_link(url: str) -> str | None:
    """The link when it is a web address people can open safely (http or https), else None."""
    text = (url or "").strip()
    return text if text.lower().startswith(("https://", "http://")) and " " not in text else None


# Upload ------------------------------------------------------------------------------------

PROBLEM_COLUMNS = ["sheet", "rows", "column", "message"]


def problems_of(error: KimError | Sequence[Problem]) -> list[Problem]:
    """The located problems an error carries: a validation report's, a read error's one, or
    the whole message as a problem of the file for any other mistake."""
    if isinstance(error, ValidationError):
        return list(error.problems)
    if isinstance(error, ReadError):
        return [error.problem]
    if isinstance(error, KimError):
        return [Problem("", None, None, None, str(error), code=ProblemCode.NOT_ALLOWED)]
    return list(error)


def problems_frame(error: KimError | Sequence[Problem], *, audience: str = WEB) -> pd.DataFrame:
    """A problem report as a table of sheet, rows, column and message, worded for
    ``audience``. Identical messages about one column are one line ("16-22"); a problem of the
    whole file or sheet has no rows (an empty cell, never "None")."""
    groups = group_problems(problems_of(error), audience=audience)
    return pd.DataFrame([{"sheet": g.sheet or "", "rows": g.rows_text, "column": g.column or "",
                          "message": g.message} for g in groups], columns=PROBLEM_COLUMNS)


def problem_count(error: KimError | Sequence[Problem]) -> int:
    """How many problems there are, counting each row of a grouped line."""
    return len(problems_of(error))


def unknown_columns(error: ValidationError) -> Problem | None:
    """The problem saying the return's columns were not recognised, if that is what went wrong."""
    for p in error.problems:
        if p.code is ProblemCode.UNRECOGNISED_COLUMNS:
            return p
    return None


def file_headers(data: bytes, file_name: str, problem: Problem | None = None) -> list[str]:
    """The header texts of a return whose columns were not recognised.

    The header is taken to be the first of the sheet's top rows with the most filled cells
    (a title row above it has fewer); the sheet is the one the problem names, if any.
    """
    workbook = read_workbook(data, file_name=file_name)
    sheets = [s for s in workbook.sheets if problem is None or s.name == problem.sheet] or workbook.sheets
    for sheet in sheets:
        rows = [[str(v).strip() for v in row if v is not None and str(v).strip()]
                for row in sheet.rows[:30]]
        widest = max((len(r) for r in rows), default=0)
        if widest:
            return list(dict.fromkeys(next(r for r in rows if len(r) == widest)))
    return []


MAPPABLE_FIELDS = tuple(FIELDS)
REQUIRED_FIELDS = LONG_REQUIRED


def guess_mapping(headers: Sequence[str]) -> dict[str, str | None]:
    """A first guess for each field: the header whose words contain the field's label."""
    out: dict[str, str | None] = {}
    used: set[str] = set()
    for f in MAPPABLE_FIELDS:
        want = [norm_key(FIELD_LABELS[f]), *(norm_key(a) for a in FIELDS[f])]
        pick = next((h for h in headers if h not in used and norm_key(h) in want), None)
        if pick is None:
            pick = next((h for h in headers if h not in used
                         and any(w and w in norm_key(h) for w in want[:1])), None)
        out[f] = pick
        if pick:
            used.add(pick)
    return out


def mapping_from_choices(choices: Mapping[str, str | None]) -> tuple[dict[str, str], list[str]]:
    """The mapping ``parse_return`` accepts from per-field choices, and what is wrong with it.

    Fields left unchosen are left out; a header chosen for two fields, or a required field
    (Team, Criterion, Score) left unchosen, is a message.
    """
    mapping = {f: h for f, h in choices.items() if h}
    messages = []
    missing = [FIELD_LABELS[f] for f in REQUIRED_FIELDS if not mapping.get(f)]
    if missing:
        messages.append(f"Choose a column for {', '.join(missing)}.")
    seen: dict[str, str] = {}
    for f, h in mapping.items():
        if h in seen:
            messages.append(f"'{h}' is chosen for both {FIELD_LABELS[seen[h]]} and {FIELD_LABELS[f]}.")
        seen.setdefault(h, f)
    return mapping, messages


# Criteria editor ---------------------------------------------------------------------------

def threshold_column(status: str) -> str:
    return f"{status} from"


def guidance_column(n: int) -> str:
    return f"Step {n}"


def criteria_editor_frame(criteria: CriteriaSet) -> pd.DataFrame:
    """One row per criterion with the fields an admin may edit, for ``st.data_editor``."""
    steps = max((c.guidance_needed for c in criteria), default=0)
    rows = []
    for c in criteria:
        row: dict[str, Any] = {"id": c.id, "name": c.name, "description": c.description,
                               "scale": c.measure.explain(), "weight": c.weight}
        for status in criteria.rag.levels[1:]:
            row[threshold_column(status)] = c.rag.get(status, np.nan)
        for i in range(steps):
            row[guidance_column(i + 1)] = c.guidance[i] if i < len(c.guidance) else None
        rows.append(row)
    return pd.DataFrame(rows)


def team_thresholds_frame(criteria: CriteriaSet) -> pd.DataFrame:
    return pd.DataFrame({"status": list(criteria.rag.levels[1:]),
                         "lowest team score": [criteria.rag.team.get(s, np.nan)
                                               for s in criteria.rag.levels[1:]]})


def criteria_from_editor(criteria: CriteriaSet, edited: pd.DataFrame,
                         team: pd.DataFrame | None = None) -> dict[str, Any]:
    """The criteria file's dict from the edited table (ready for ``criteria_from_dict``).

    Fields the editor does not show (scale, levels, aliases) are kept from ``criteria``;
    rows are matched by ``id``; a threshold left empty is dropped; guidance is the
    non-empty step cells in order.
    """
    raw = criteria.to_dict()
    by_id = {c["id"]: c for c in raw["criterion"]}
    out = []
    for row in edited.to_dict("records"):
        base = dict(by_id.get(row.get("id"), {}))
        if not base:
            continue
        base["name"] = _text(row.get("name"))
        base["description"] = _text(row.get("description"))
        weight = _cell_number(row.get("weight"))
        # Left as typed when it is not a number, so the check names it rather than defaulting.
        base["weight"] = weight if weight is not None else _text(row.get("weight"))
        rag = {}
        for status in criteria.rag.levels[1:]:
            value = _cell_number(row.get(threshold_column(status)))
            if value is not None:
                rag[status] = value
        base["rag"] = rag
        steps = sorted((k for k in row if isinstance(k, str) and k.startswith("Step ")),
                       key=lambda k: int(k.split()[1]))
        base["guidance"] = [_text(row[k]) for k in steps if _text(row[k])]
        out.append({k: v for k, v in base.items() if v is not None})
    raw["criterion"] = out
    if team is not None:
        raw["rag"]["team"] = {str(r["status"]): v for r in team.to_dict("records")
                              if (v := _cell_number(r.get("lowest team score"))) is not None}
    return raw


def _cell_number(value: Any) -> float | int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return None
    return int(number) if number.is_integer() else number
