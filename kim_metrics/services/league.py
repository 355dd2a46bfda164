"""The league: tables, the department's trend and the review mix, read from stored results.

Nothing here computes a score: results are stored when data changes (see
``storage.results``), so a read is a lookup whatever the size of the department.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.domain.league import order_league
from kim_metrics.domain.scoring import CHALLENGED, LEVELS, SELF_DECLARED, VERIFIED
from kim_metrics.services.common import resolve_round
from kim_metrics.storage import criteria as criteria_store
from kim_metrics.storage import results
from kim_metrics.storage import rounds as round_store
from kim_metrics.storage import scores as score_store
from kim_metrics.storage.rounds import RoundInfo


@dataclass(frozen=True)
class League:
    round: RoundInfo
    previous: RoundInfo | None
    criteria: CriteriaSet
    level: str
    table: pd.DataFrame


def rounds(engine: Engine) -> list[RoundInfo]:
    """Every round, oldest first."""
    with engine.connect() as conn:
        return round_store.list_rounds(conn)


def league(engine: Engine, round_label: str | None = None, level: str = "team") -> League:
    """The league table for a round (the latest when none is named) at a level.

    Statuses and scores only, never evidence: anyone signed in may read it.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    with engine.connect() as conn:
        rnd = resolve_round(conn, round_label)
        criteria = criteria_store.criteria_version(conn, rnd.criteria_version_id)
        prev = round_store.previous_round(conn, rnd.label)
        if level == "team":
            table = results.read_teams(conn, rnd.id)
            table = table.rename(columns={"team": "name"})
            table["teams"] = 1
            table["returned_teams"] = table["returned"].astype(int)
        else:
            table = results.read_units(conn, rnd.id, level)
        before = results.read_ranks(conn, prev.id, level) if prev else None
    return League(round=rnd, previous=prev, criteria=criteria, level=level,
                  table=order_league(table, before, level))


def trend(engine: Engine) -> pd.DataFrame:
    """Teams per status and the mean score in every round, oldest first: the department's trend."""
    with engine.connect() as conn:
        return results.department_trend(conn)


def review_mix(engine: Engine, round_label: str | None = None) -> dict[str, int]:
    """Verified, challenged and self-declared scores in a round (the latest when none is named)."""
    with engine.connect() as conn:
        counts = score_store.review_counts(conn, resolve_round(conn, round_label).id)
    return {s: counts.get(s, 0) for s in (VERIFIED, CHALLENGED, SELF_DECLARED)}


def department(engine: Engine, round_label: str | None = None) -> tuple[CriteriaSet, pd.Series]:
    """The department's stored roll-up for a round: its score, status and each criterion's
    mean (``<id>.percent``) and status (``<id>.rag``)."""
    with engine.connect() as conn:
        rnd = resolve_round(conn, round_label)
        criteria = criteria_store.criteria_version(conn, rnd.criteria_version_id)
        units = results.read_units(conn, rnd.id, results.DEPARTMENT)
    return criteria, units.iloc[0]
