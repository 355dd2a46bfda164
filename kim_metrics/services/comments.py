"""Comment threads on scores: a team answers a challenge without uploading a new return."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain.access import Actor
from kim_metrics.domain.errors import KimError, PermissionDenied
from kim_metrics.reading.text_rules import clean_text
from kim_metrics.services.common import resolve_actor
from kim_metrics.storage import comments as comment_store
from kim_metrics.storage.engine import retry_when_busy, write_transaction


@retry_when_busy
def add_comment(engine: Engine, score_id: int, body: str, *, actor: Actor | str) -> dict:
    """Add a comment to a score's thread, audited; only those who may write in it may."""
    who = resolve_actor(engine, actor)
    text = clean_text(body or "").strip()
    if not text:
        raise KimError("Write something before sending the comment.")
    if len(text) > comment_store.MAX_CHARS:
        raise KimError(f"The comment is {len(text):,} characters; keep it under "
                       f"{comment_store.MAX_CHARS:,} and link to a longer document instead.")
    with write_transaction(engine) as conn:
        team_id, directorate = comment_store.score_place(conn, score_id)
        if not who.may_comment_on(team_id, directorate):
            raise PermissionDenied(f"{who.email} may not comment on this score: only the KIM team, "
                                   "the team's information managers and its director may.")
        return comment_store.add_comment(conn, score_id, author=who.email, body=text)


def threads(engine: Engine, score_ids: Sequence[int], *, actor: Actor) -> pd.DataFrame:
    """The comments on ``score_ids``, oldest first in each thread, of the scores whose
    evidence the reader may read (comments quote evidence and name people)."""
    with engine.connect() as conn:
        found = comment_store.comments(conn, list(score_ids))
    mine = [actor.may_read_evidence(t, d) for t, d in zip(found["team_id"], found["directorate"])]
    return found[pd.Series(mine, index=found.index, dtype=bool)].reset_index(drop=True)
