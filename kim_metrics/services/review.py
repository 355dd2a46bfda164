"""The KIM team's review of evidence: verify a score, or challenge it with a value and a note.

Rule: a claim above the lowest level with no evidence cannot be verified. It already counts
as the lowest level; "verified" beside it would say the claim was checked and stands, while
the league still counts it as Not started. The reviewer challenges it instead, or asks the
team (through the score's comment thread) for the evidence and verifies once it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain import access
from kim_metrics.domain.access import ADMIN, Actor
from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.domain.errors import KimError
from kim_metrics.domain.queue import claim_impact
from kim_metrics.domain.scoring import CHALLENGED, SELF_DECLARED, VERIFIED, is_unevidenced
from kim_metrics.services.common import resolve_actor
from kim_metrics.storage import actions as action_store
from kim_metrics.services.scores import scored_round
from kim_metrics.storage import comments as comment_store
from kim_metrics.storage import results
from kim_metrics.storage import rounds as round_store
from kim_metrics.storage import scores as score_store
from kim_metrics.storage.engine import retry_when_busy, write_transaction


class UnevidencedClaim(KimError):
    """A claim without evidence was to be verified."""


def _refuse_unevidenced(row) -> None:
    if is_unevidenced(row.claimed, row.evidence, row.evidence_link):
        raise UnevidencedClaim(
            f"Score {row.id} ('{row.claimed_raw}' for {row.criterion}) has no evidence, so it "
            "cannot be verified: it counts as the lowest level. Challenge it with the value it "
            "should count at, or ask the team for the evidence in the score's comments.")


def review_score(engine: Engine, score_id: int, *, status: str, actor: Actor | str,
                 value: float | None = None, note: str = "") -> dict:
    """Verify a score, or challenge it with the value it should count at and why."""
    return review_scores(engine, [score_id], status=status, actor=actor, value=value, note=note)[0]


@retry_when_busy
def review_scores(engine: Engine, score_ids: Sequence[int], *, status: str, actor: Actor | str,
                  value: float | None = None, note: str = "") -> list[dict]:
    """Review several scores in one go (the verification queue's bulk verify): all or none.

    Each score gets its own audit record; the teams they belong to are scored again once.
    """
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "verify or challenge evidence")
    if not score_ids:
        raise KimError("Choose at least one score to review.")
    with write_transaction(engine) as conn:
        out = []
        touched: dict[int, set[int]] = {}
        for score_id in dict.fromkeys(int(s) for s in score_ids):
            if status == VERIFIED:
                _refuse_unevidenced(score_store.get_score(conn, score_id))
            after, round_id, team_id = score_store.review_score(
                conn, score_id, status=status, value=value, note=note, reviewer=who.email)
            touched.setdefault(round_id, set()).add(team_id)
            out.append(after)
        for round_id, teams in touched.items():
            rnd = round_store.round_by_id(conn, round_id)
            results.refresh_teams(conn, rnd, sorted(teams))
            action_store.close_reached(conn, rnd, sorted(teams), because=f"scores {status}")
        return out


# The verification queue ----------------------------------------------------------------------

QUEUE_STATUSES = (SELF_DECLARED, CHALLENGED, VERIFIED)


@dataclass(frozen=True)
class Queue:
    round: str
    criteria: CriteriaSet
    items: pd.DataFrame      # one row per score, highest impact first (``QUEUE_COLUMNS``)
    directorates: list[str]  # every directorate with scores in the round: the filter's choices


QUEUE_COLUMNS = ["score_id", "team_id", "team", "directorate", "criterion", "criterion_name",
                 "claimed_raw", "claimed_rag", "review_status", "evidenced", "unevidenced",
                 "evidence", "evidence_link", "points", "status_with", "status_without",
                 "crosses_boundary", "green_claim", "impact", "comments"]


def verification_queue(engine: Engine, round_label: str | None = None, *, actor: Actor,
                       directorates: Sequence[str] = (), criteria_ids: Sequence[str] = (),
                       statuses: Sequence[str] = (SELF_DECLARED,)) -> Queue:
    """Scores for the KIM team to check, highest impact first (``domain.queue``), filtered by
    directorate, criterion and review status (empty filters: everything)."""
    access.require(actor, {ADMIN}, "see the verification queue")
    scored = scored_round(engine, round_label, actor=actor)
    ranked = claim_impact(scored.scores, scored.criteria)
    every = sorted(ranked["directorate"].dropna().unique().tolist())
    keep = pd.Series(True, index=ranked.index)
    if directorates:
        keep &= ranked["directorate"].isin(set(directorates))
    if criteria_ids:
        keep &= ranked["criterion"].isin(set(criteria_ids))
    if statuses:
        keep &= ranked["review_status"].isin(set(statuses))
    items = ranked[keep].reset_index(drop=True)
    names = {c.id: c.name for c in scored.criteria}
    items["criterion_name"] = items["criterion"].map(names)
    items["impact"] = [_impact_text(r) for r in items.itertuples(index=False)]
    with engine.connect() as conn:
        counts = comment_store.comment_counts(conn, items["score_id"].astype(int).tolist())
    items["comments"] = items["score_id"].map(lambda s: counts.get(int(s), 0)).astype(int)
    return Queue(round=scored.round.label, criteria=scored.criteria, items=items[QUEUE_COLUMNS],
                 directorates=every)


def _impact_text(r) -> str:
    parts = []
    if r.crosses_boundary:
        parts.append(f"moves the team from {r.status_without} to {r.status_with}")
    if r.green_claim:
        parts.append(f"{r.claimed_rag} claim")
    if r.unevidenced:
        parts.append("no evidence")
    parts.append(f"{r.points:g} points")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]
