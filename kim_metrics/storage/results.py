"""Stored results: each round's team scores, statuses and ranks, and their roll-ups.

They are computed when data changes, in the same transaction as the change (a saved return,
a review, an organisation load, a round opened), so that every read (league, trend,
headline, letters, board pack) is a lookup. ``rebuild`` recomputes them from the scores;
the property tests check that what is stored always equals a fresh computation.

Per-criterion cells are stored as JSON lists in the round's criteria order (one list per
field); a whole round's lists parse with one ``json.loads`` per field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.domain.league import level_table, rank
from kim_metrics.domain.scoring import rollup, score_rows, team_scores
from kim_metrics.domain.statuses import NO_RETURN
from kim_metrics.storage.criteria import criteria_version
from kim_metrics.storage.models import Round, TeamResult, UnitResult
from kim_metrics.storage.organisation import org_frame, round_teams
from kim_metrics.storage.rounds import RoundInfo, list_rounds
from kim_metrics.storage.scores import round_scores
from kim_metrics.storage.sql import bulk_insert, frame_of

UNIT_LEVELS = ("directorate", "group")
DEPARTMENT = "department"
# Team cells: the stored list for each per-criterion field of ``scoring.team_scores``.
_TEAM_CELLS = {"percent": "percent", "counted": "counted", "claimed": "claimed", "rag": "rags",
               "evidenced": "evidenced", "review_status": "reviews"}
_NUMERIC = {"percent", "counted", "claimed"}


# Computing ------------------------------------------------------------------------------

def compute_teams(conn: Connection, rnd: RoundInfo, org: pd.DataFrame | None = None
                  ) -> tuple[CriteriaSet, pd.DataFrame]:
    """A round's team table, ranked, freshly computed from its counting scores."""
    criteria = criteria_version(conn, rnd.criteria_version_id)
    org = org_frame(conn, include_inactive=True) if org is None else org
    scores = round_scores(conn, rnd.id, full=False)
    scores = scores[scores["criterion"].isin(criteria.ids)]
    info = round_teams(org, scores)[["team_id", "team", "directorate", "group"]]
    teams = team_scores(score_rows(scores, criteria), info, criteria)
    teams["rank"] = rank(teams["score"])
    return criteria, teams


def compute_units(teams: pd.DataFrame, criteria: CriteriaSet) -> dict[str, pd.DataFrame]:
    """Directorate, group and department roll-ups of a round's team table, ranked."""
    out = {}
    for level in UNIT_LEVELS:
        table = level_table(teams, criteria, level)
        table["rank"] = rank(table["score"])
        out[level] = table
    department = rollup(teams, criteria, None)
    department["rank"] = pd.array([pd.NA] * len(department), dtype="Int64")
    out[DEPARTMENT] = department
    return out


# Writing --------------------------------------------------------------------------------

def rebuild_round(conn: Connection, rnd: RoundInfo, org: pd.DataFrame | None = None) -> None:
    """Recompute and store one round's results, inside the caller's transaction."""
    criteria, teams = compute_teams(conn, rnd, org)
    units = compute_units(teams, criteria)
    conn.execute(delete(TeamResult).where(TeamResult.round_id == rnd.id))
    conn.execute(delete(UnitResult).where(UnitResult.round_id == rnd.id))
    bulk_insert(conn, TeamResult.__tablename__, _team_rows(rnd.id, teams, criteria))
    for level, table in units.items():
        bulk_insert(conn, UnitResult.__tablename__, _unit_rows(rnd.id, level, table, criteria))


def rebuild(conn: Connection, rounds: Iterable[RoundInfo] | None = None) -> list[str]:
    """Recompute the results of ``rounds`` (every round when None); the labels rebuilt."""
    org = org_frame(conn, include_inactive=True)
    done = []
    for rnd in (list_rounds(conn) if rounds is None else rounds):
        rebuild_round(conn, rnd, org)
        done.append(rnd.label)
    return done


def rounds_without_results(conn: Connection) -> list[RoundInfo]:
    """Rounds with no stored results yet (a database from before results were stored)."""
    have = set(conn.scalars(select(UnitResult.round_id).where(UnitResult.level == DEPARTMENT)))
    return [r for r in list_rounds(conn) if r.id not in have]


def _lists(values: np.ndarray, numeric: bool) -> list[str]:
    """Each row of a teams × criteria grid as a JSON list; NaN and None become null."""
    if numeric:
        grid = values.astype(float)
        rows = [[None if np.isnan(v) else float(v) for v in row] for row in grid]
    else:
        rows = [[None if v is None or (isinstance(v, float) and np.isnan(v)) else
                 (bool(v) if isinstance(v, (bool, np.bool_)) else v) for v in row] for row in values]
    return [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows]


def _grid(table: pd.DataFrame, criteria: CriteriaSet, field: str) -> np.ndarray:
    if not len(criteria):
        return np.empty((len(table), 0), dtype=object)
    return np.column_stack([table[f"{cid}.{field}"].to_numpy(dtype=object) for cid in criteria.ids])


def _nullable(values: pd.Series, cast) -> list:
    return [None if pd.isna(v) else cast(v) for v in values]


def _team_rows(round_id: int, teams: pd.DataFrame, criteria: CriteriaSet) -> dict[str, list]:
    n = len(teams)
    columns: dict[str, list] = {
        "round_id": [round_id] * n,
        "team_id": teams["team_id"].astype(int).tolist(),
        "team": teams["team"].astype(str).tolist(),
        "directorate": teams["directorate"].astype(str).tolist(),
        "group_name": teams["group"].astype(str).tolist(),
        "score": _nullable(teams["score"], float),
        "rag": teams["rag"].astype(str).tolist(),
        "rank": _nullable(teams["rank"], int),
        "returned": teams["returned"].astype(bool).tolist(),
        "unevidenced": teams["unevidenced"].astype(int).tolist(),
    }
    for field, column in _TEAM_CELLS.items():
        columns[column] = _lists(_grid(teams, criteria, field), field in _NUMERIC)
    return columns


def _unit_rows(round_id: int, level: str, table: pd.DataFrame, criteria: CriteriaSet) -> dict[str, list]:
    n = len(table)
    statuses = (*criteria.rag.levels, NO_RETURN)
    counts = [json.dumps({s: int(row[f"teams.{s}"]) for s in statuses}, ensure_ascii=False)
              for _, row in table.iterrows()]
    group = table["group"] if "group" in table and level == "directorate" else pd.Series([None] * n)
    return {
        "round_id": [round_id] * n,
        "level": [level] * n,
        "name": table["name"].astype(str).tolist(),
        "group_name": [None if g is None or pd.isna(g) else str(g) for g in group],
        "score": _nullable(table["score"], float),
        "rag": table["rag"].astype(str).tolist(),
        "rank": _nullable(table["rank"], int),
        "teams": table["teams"].astype(int).tolist(),
        "returned_teams": table["returned_teams"].astype(int).tolist(),
        "counts": counts,
        "percent": _lists(_grid(table, criteria, "percent"), True),
        "rags": _lists(_grid(table, criteria, "rag"), False),
    }


# Reading --------------------------------------------------------------------------------

def _parse(column: Sequence[str], width: int, numeric: bool) -> np.ndarray:
    if not len(column):
        return np.empty((0, width), dtype=float if numeric else object)
    parsed = json.loads("[" + ",".join(column) + "]")
    if numeric:
        return np.array(parsed, dtype=float).reshape(len(column), width)
    return np.array(parsed, dtype=object).reshape(len(column), width)


def _spread(frame: pd.DataFrame, criteria: CriteriaSet, fields: dict[str, str]) -> pd.DataFrame:
    """The stored lists as one column per criterion and field (``<id>.<field>``)."""
    ids = criteria.ids
    columns = {}
    for field, stored in fields.items():
        grid = _parse(frame[stored].tolist(), len(ids), field in _NUMERIC)
        for j, cid in enumerate(ids):
            columns[f"{cid}.{field}"] = grid[:, j]
    return pd.concat([frame.drop(columns=list(fields.values())),
                      pd.DataFrame(columns, index=frame.index)], axis=1)


_TEAM_READ = ["team_id", "team", "directorate", "group", "score", "rag", "rank", "returned",
              "unevidenced", *_TEAM_CELLS.values()]


def read_teams(conn: Connection, round_id: int, criteria: CriteriaSet, *,
               cells: bool = True) -> pd.DataFrame:
    """A round's stored team table, in the shape ``scoring.team_scores`` gives, with ``rank``.

    ``cells=False`` leaves out the per-criterion columns (the headline figures need none).
    """
    cols = [TeamResult.team_id, TeamResult.team, TeamResult.directorate,
            TeamResult.group_name, TeamResult.score, TeamResult.rag, TeamResult.rank,
            TeamResult.returned, TeamResult.unevidenced]
    names = _TEAM_READ[:9]
    if cells:
        cols += [getattr(TeamResult, c) for c in _TEAM_CELLS.values()]
        names = _TEAM_READ
    frame = frame_of(conn.execute(select(*cols).where(TeamResult.round_id == round_id)
                                  .order_by(TeamResult.id)), names)
    frame["score"] = frame["score"].astype(float)
    frame["rank"] = frame["rank"].astype("Int64")
    frame["returned"] = frame["returned"].astype(bool)
    if cells:
        frame = _spread(frame, criteria, _TEAM_CELLS)
    return frame


_UNIT_READ = ["name", "group", "score", "rag", "rank", "teams", "returned_teams", "counts",
              "percent", "rags"]


def read_units(conn: Connection, round_id: int, level: str, criteria: CriteriaSet) -> pd.DataFrame:
    """A round's stored roll-up at ``level``, in the shape ``league.level_table`` gives."""
    stmt = (select(UnitResult.name, UnitResult.group_name, UnitResult.score, UnitResult.rag,
                   UnitResult.rank, UnitResult.teams, UnitResult.returned_teams, UnitResult.counts,
                   UnitResult.percent, UnitResult.rags)
            .where(UnitResult.round_id == round_id, UnitResult.level == level)
            .order_by(UnitResult.id))
    frame = frame_of(conn.execute(stmt), _UNIT_READ)
    frame["score"] = frame["score"].astype(float)
    frame["rank"] = frame["rank"].astype("Int64")
    counts = pd.DataFrame([json.loads(c) for c in frame["counts"]], index=frame.index)
    for status in (*criteria.rag.levels, NO_RETURN):
        frame[f"teams.{status}"] = (counts[status] if status in counts else 0)
        frame[f"teams.{status}"] = frame[f"teams.{status}"].fillna(0).astype(int)
    frame = _spread(frame.drop(columns="counts"), criteria, {"percent": "percent", "rag": "rags"})
    for cid in criteria.ids:
        frame[f"{cid}.evidenced"] = np.nan
    frame["returned"] = frame["returned_teams"] > 0
    if level == "directorate":
        frame["directorate"] = frame["name"]
    elif level == "group":
        frame["directorate"] = ""
        frame["group"] = frame["name"]
    return frame


def department_trend(conn: Connection) -> pd.DataFrame:
    """The department's row of every round, oldest first: score and teams per status."""
    stmt = (select(Round.label, Round.start_date, UnitResult.score, UnitResult.counts)
            .join(Round, UnitResult.round_id == Round.id)
            .where(UnitResult.level == DEPARTMENT).order_by(Round.start_date))
    rows = conn.execute(stmt).all()
    out = [{"round": r.label, "start_date": r.start_date,
            "score": None if r.score is None else float(r.score), **json.loads(r.counts)}
           for r in rows]
    return pd.DataFrame(out) if out else pd.DataFrame(columns=["round", "start_date", "score"])


def stored_round_count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(UnitResult)
                           .where(UnitResult.level == DEPARTMENT)) or 0)


def read_ranks(conn: Connection, round_id: int, level: str) -> pd.DataFrame:
    """Each team's (or unit's) rank and score in a round: what movement is measured against."""
    if level == "team":
        stmt = select(TeamResult.team_id, TeamResult.rank, TeamResult.score).where(
            TeamResult.round_id == round_id)
        key = "team_id"
    else:
        stmt = select(UnitResult.name, UnitResult.rank, UnitResult.score).where(
            UnitResult.round_id == round_id, UnitResult.level == level)
        key = "name"
    frame = frame_of(conn.execute(stmt), [key, "rank", "score"])
    frame["rank"] = frame["rank"].astype("Int64")
    frame["score"] = frame["score"].astype(float)
    return frame
