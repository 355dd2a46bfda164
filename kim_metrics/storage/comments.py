"""Comment threads on scores: the KIM team asks, the team answers, without a new return.

Each comment is audited in the same transaction that writes it. Comments are never edited
or deleted; a thread belongs to the score it was written on.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from kim_metrics.storage import audit
from kim_metrics.storage.models import Directorate, Round, Score, ScoreComment, Team, utcnow
from kim_metrics.storage.scores import get_score
from kim_metrics.storage.sql import chunks

COLUMNS = ["comment_id", "score_id", "author", "written_at", "body", "team_id", "directorate"]
# Longer than any note a person types; a paste of a whole document is refused, not stored.
MAX_CHARS = 4000


def add_comment(conn: Connection, score_id: int, *, author: str, body: str) -> dict:
    """Write one comment on a counting score and its audit record; returns it as stored."""
    row = get_score(conn, score_id)
    at = utcnow()
    comment_id = conn.execute(insert(ScoreComment).values(
        score_id=score_id, author=author, written_at=at, body=body)).inserted_primary_key[0]
    team = conn.scalar(select(Team.name).where(Team.id == row.team_id))
    label = conn.scalar(select(Round.label).where(Round.id == row.round_id))
    audit.record(conn, actor=author, action=audit.COMMENT_ADDED, round_label=label,
                 target=f"{team}: {row.criterion} (score {score_id})",
                 after={"comment": body, "comment_id": comment_id})
    return {"comment_id": comment_id, "score_id": score_id, "author": author, "written_at": at,
            "body": body, "team_id": row.team_id}


def score_place(conn: Connection, score_id: int) -> tuple[int, str]:
    """The team id and directorate a counting score belongs to (for the writer's scope)."""
    get_score(conn, score_id)
    row = conn.execute(select(Team.id, Directorate.name).join(Directorate, Team.directorate_id == Directorate.id)
                       .join(Score, Score.team_id == Team.id).where(Score.id == score_id)).one()
    return int(row[0]), str(row[1])


def comments(conn: Connection, score_ids: list[int]) -> pd.DataFrame:
    """The comments on ``score_ids``, oldest first within each thread."""
    parts = []
    for part in chunks(sorted(set(int(s) for s in score_ids)), 900):
        parts += conn.execute(
            select(ScoreComment.id, ScoreComment.score_id, ScoreComment.author,
                   ScoreComment.written_at, ScoreComment.body, Team.id, Directorate.name)
            .join(Score, Score.id == ScoreComment.score_id).join(Team, Team.id == Score.team_id)
            .join(Directorate, Directorate.id == Team.directorate_id)
            .where(ScoreComment.score_id.in_(part))).all()
    frame = pd.DataFrame(parts, columns=COLUMNS)
    return frame.sort_values(["score_id", "written_at", "comment_id"]).reset_index(drop=True)


def comment_counts(conn: Connection, score_ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for part in chunks(sorted(set(int(s) for s in score_ids)), 900):
        out.update({int(s): int(n) for s, n in conn.execute(
            select(ScoreComment.score_id, func.count()).where(ScoreComment.score_id.in_(part))
            .group_by(ScoreComment.score_id)).all()})
    return out
