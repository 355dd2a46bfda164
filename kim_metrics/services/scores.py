"""Scores with their evidence: what a round's teams claimed, what counts, and why.

Evidence, links, comments, review notes and emails are read only within the reader's scope
(``domain.access``): the KIM team and the board see every team's, a director their
directorates', an information manager their own teams'. Rows outside the scope are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain.access import Actor, in_evidence_scope
from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.domain.scoring import score_rows
from kim_metrics.services.common import resolve_round
from kim_metrics.storage import criteria as criteria_store
from kim_metrics.storage import results
from kim_metrics.storage import scores as score_store
from kim_metrics.storage.rounds import RoundInfo


@dataclass(frozen=True)
class ScoredRound:
    round: RoundInfo
    criteria: CriteriaSet
    scores: pd.DataFrame   # one row per team × criterion the reader may see, scored, with evidence
    teams: pd.DataFrame    # one row per team in the league, with score and RAG (no evidence)


def scored_round(engine: Engine, round_label: str | None = None, *, actor: Actor,
                 directorates: Iterable[str] | None = None) -> ScoredRound:
    """A round's scores with their evidence, limited to what ``actor`` may read.

    ``directorates`` narrows it further (a directorate page needs only its own teams).
    """
    with engine.connect() as conn:
        rnd = resolve_round(conn, round_label)
        criteria = criteria_store.criteria_version(conn, rnd.criteria_version_id)
        teams = results.read_teams(conn, rnd.id)
        info = teams[["team_id", "team", "directorate", "group"]]
        if directorates is not None:
            info = info[info["directorate"].isin(set(directorates))]
        info = in_evidence_scope(actor, info)
        everyone = len(info) == len(teams)
        scores = score_store.round_scores(conn, rnd.id, full=True,
                                          team_ids=None if everyone else info["team_id"].tolist())
    scores = scores[scores["criterion"].isin(criteria.ids)]
    scored = score_rows(scores, criteria).merge(info, on="team_id", how="inner")
    return ScoredRound(round=rnd, criteria=criteria, scores=scored, teams=teams)
