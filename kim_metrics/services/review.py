"""The KIM team's review of evidence: verify a score, or challenge it with a value and a note."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from kim_metrics.domain import access
from kim_metrics.domain.access import ADMIN, Actor
from kim_metrics.services.common import resolve_actor
from kim_metrics.storage import actions as action_store
from kim_metrics.storage import results
from kim_metrics.storage import rounds as round_store
from kim_metrics.storage import scores as score_store
from kim_metrics.storage.engine import retry_when_busy, write_transaction


@retry_when_busy
def review_score(engine: Engine, score_id: int, *, status: str, actor: Actor | str,
                 value: float | None = None, note: str = "") -> dict:
    """Verify a score, or challenge it with the value it should count at and why."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "verify or challenge evidence")
    with write_transaction(engine) as conn:
        after, round_id, team_id = score_store.review_score(conn, score_id, status=status, value=value,
                                                            note=note, reviewer=who.email)
        rnd = round_store.round_by_id(conn, round_id)
        results.refresh_teams(conn, rnd, [team_id])
        action_store.close_reached(conn, rnd, [team_id], because=f"score {score_id} {status}")
        return after
