"""Ranking and movement: the league table built from scored rounds.

Rules: higher score ranks higher; equal scores (at the one decimal shown) share a rank
and the next rank skips (1, 2, 2, 4). Anyone without a score (no return) is unranked and
listed last. Movement is the previous rank minus the current one, so a rise is positive;
it is "new" when there is no previous rank to compare with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kim_metrics.domain.criteria import NO_RETURN, CriteriaSet
from kim_metrics.domain.scoring import LEVELS, SCORE_DECIMALS, rollup
from kim_metrics.domain.frames import EVIDENCED, PERCENT, RAG, criterion_column
from kim_metrics.domain.values import as_bool, as_float, as_int, missing

UP, DOWN, SAME, NEW = "▲", "▼", "–", "new"


def rank(scores: pd.Series) -> pd.Series:
    """Competition ranking (1, 2, 2, 4) of scores, highest first; NaN stays unranked."""
    rounded = scores.astype(float).round(SCORE_DECIMALS)
    return rounded.rank(method="min", ascending=False, na_option="keep").astype("Int64")


def movement(current: pd.Series, previous: pd.Series) -> pd.Series:
    """Places gained since the previous round (positive is up); <NA> where either is unranked."""
    return (previous.astype("Int64") - current.astype("Int64")).astype("Int64")


def movement_label(moves: pd.Series, ranked: pd.Series) -> pd.Series:
    """▲ 3 / ▼ 1 / – / new, and blank for someone unranked now."""
    m = moves.astype("Float64")
    out = np.select(
        [~ranked.to_numpy(dtype=bool), m.isna().to_numpy(dtype=bool),
         (m > 0).to_numpy(dtype=bool, na_value=False), (m < 0).to_numpy(dtype=bool, na_value=False)],
        ["", NEW, UP, DOWN], default=SAME).astype(object)
    n = m.abs().to_numpy(dtype=float, na_value=np.nan)
    arrows = np.isin(out, [UP, DOWN])
    out[arrows] = [f"{a} {int(k)}" for a, k in zip(out[arrows], n[arrows])]
    return pd.Series(out, index=moves.index)


def level_table(teams: pd.DataFrame, criteria: CriteriaSet, level: str) -> pd.DataFrame:
    """Teams (or their roll-up) with a ``name`` column, ready to rank."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    if level == "team":
        out = teams.rename(columns={"team": "name"}).copy()
        out["teams"] = 1
        out["returned_teams"] = out["returned"].astype(int)
        return out
    out = rollup(teams, criteria, level)
    out["directorate"] = out["name"] if level == "directorate" else ""
    if level == "group":
        out["group"] = out["name"]
    out["returned"] = out["returned_teams"] > 0
    return out


def build_league(current: pd.DataFrame, previous: pd.DataFrame | None, criteria: CriteriaSet,
                 level: str = "team") -> pd.DataFrame:
    """The league table at ``level`` from this round's and the previous round's team scores.

    Sorted by rank, unranked last, then by name. ``previous`` may be None (first round).
    """
    table = level_table(current, criteria, level)
    table["rank"] = rank(table["score"])
    before = None
    if previous is not None and not previous.empty:
        before = level_table(previous, criteria, level)
        before["rank"] = rank(before["score"])
    return order_league(table, before, level)


def league_key(level: str) -> str:
    """The column that follows a row from one round to the next."""
    return "team_id" if level == "team" else "name"


def order_league(table: pd.DataFrame, previous: pd.DataFrame | None, level: str) -> pd.DataFrame:
    """A ranked table with its movement since ``previous`` (key, ``rank``, ``score``), sorted.

    Sorted by rank, unranked last, then by name; ``previous`` is None in the first round.
    """
    key = league_key(level)
    table = table.copy()
    if previous is not None and not previous.empty:
        prev = previous.set_index(key)
        table["previous_rank"] = table[key].map(prev["rank"]).astype("Int64")
        table["previous_score"] = table[key].map(prev["score"]).astype(float)
    else:
        table["previous_rank"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table["previous_score"] = np.nan
    table["movement"] = movement(table["rank"], table["previous_rank"])
    table["movement_label"] = movement_label(table["movement"], table["rank"].notna())
    table = table.sort_values(["rank", "name"], na_position="last", kind="stable")
    return table.reset_index(drop=True)


def league_records(table: pd.DataFrame, criteria: CriteriaSet, level: str = "team") -> list[dict]:
    """The league as plain records for JSON: the fields DESIGN.md fixes and a few more."""
    records = []
    for row in table.to_dict("records"):
        record = {
            "rank": as_int(row["rank"]),
            "name": row["name"],
            "directorate": row.get("directorate") or None,
            "group": row.get("group") or None,
            "score": as_float(row["score"], SCORE_DECIMALS),
            "rag": row["rag"],
            "movement": as_int(row["movement"]),
            "movement_label": row["movement_label"],
            "previous_rank": as_int(row["previous_rank"]),
            "teams": int(row["teams"]),
            "returned_teams": int(row["returned_teams"]),
            "criteria": {
                c.id: {
                    "score": as_float(row.get(criterion_column(c.id, PERCENT)), SCORE_DECIMALS),
                    "rag": row.get(criterion_column(c.id, RAG))
                    if not missing(row.get(criterion_column(c.id, PERCENT))) else NO_RETURN,
                    "evidenced": as_bool(row.get(criterion_column(c.id, EVIDENCED))),
                }
                for c in criteria
            },
        }
        if level == "team":
            record["unevidenced"] = int(row["unevidenced"])
        records.append(record)
    return records
