"""Scores: what counts in a round, a team's history, and the KIM team's review of a score."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection

from kim_metrics.domain.errors import KimError, NotFoundError
from kim_metrics.storage import audit
from kim_metrics.storage.criteria import criteria_version
from kim_metrics.storage.models import Round, Score, Team, utcnow
from kim_metrics.storage.sql import chunks, frame_of, has_text
from kim_metrics.domain.scoring import CHALLENGED, REVIEW_STATUSES, SELF_DECLARED

# Team ids per IN (...) list: well inside every backend's limit on bound parameters.
_IN_LIMIT = 900


SCORE_COLUMNS = ["score_id", "return_id", "team_id", "criterion", "claimed_raw", "claimed",
                 "evidence", "evidence_link", "comment", "review_status", "reviewed_value",
                 "reviewer", "review_note"]


# The league needs only these, and whether evidence was given rather than its text.
SCORING_COLUMNS = ["team_id", "criterion", "claimed", "evidenced", "review_status", "reviewed_value"]


def round_scores(conn: Connection, round_id: int, *, full: bool = True,
                 team_ids: list[int] | None = None) -> pd.DataFrame:
    """The scores that count in a round: one row per team × criterion (of ``team_ids`` only,
    when given).

    ``full=False`` reads only what scoring needs (``SCORING_COLUMNS``), which is what the
    stored results are computed from.
    """
    if team_ids is not None and len(team_ids) > _IN_LIMIT:
        parts = [round_scores(conn, round_id, full=full, team_ids=part)
                 for part in chunks(team_ids, _IN_LIMIT)]
        return pd.concat(parts, ignore_index=True)
    where = [Score.round_id == round_id, Score.current.is_(True)]
    if team_ids is not None:
        where.append(Score.team_id.in_(team_ids))
    if not full:
        evidenced = or_(has_text(conn, Score.evidence), has_text(conn, Score.evidence_link))
        stmt = select(Score.team_id, Score.criterion, Score.claimed, evidenced.label("evidenced"),
                      Score.review_status, Score.reviewed_value).where(*where)
        frame = frame_of(conn, stmt, SCORING_COLUMNS)
        frame["evidenced"] = frame["evidenced"].astype(bool)
        return frame
    stmt = (select(Score.id.label("score_id"), Score.return_id, Score.team_id, Score.criterion,
                   Score.claimed_raw, Score.claimed, Score.evidence, Score.evidence_link,
                   Score.comment, Score.review_status, Score.reviewed_value, Score.reviewer,
                   Score.review_note)
            .where(*where))
    return frame_of(conn, stmt, SCORE_COLUMNS)


def review_counts(conn: Connection, round_id: int) -> dict[str, int]:
    """How many of a round's counting scores have each review status, counted by the database."""
    rows = conn.execute(select(Score.review_status, func.count()).where(
        Score.round_id == round_id, Score.current.is_(True)).group_by(Score.review_status)).all()
    return {status: int(n) for status, n in rows}


def team_history(conn: Connection, team_id: int) -> pd.DataFrame:
    """Every counting score a team has had, round by round."""
    stmt = (select(Round.label.label("round"), Round.start_date, Round.criteria_version_id,
                   Score.criterion, Score.claimed_raw, Score.claimed, Score.evidence,
                   Score.evidence_link, Score.comment, Score.review_status, Score.reviewed_value,
                   Score.reviewer, Score.review_note, Score.return_id, Score.id.label("score_id"))
            .join(Round, Score.round_id == Round.id)
            .where(Score.team_id == team_id, Score.current.is_(True))
            .order_by(Round.start_date))
    rows = conn.execute(stmt).mappings().all()
    return pd.DataFrame(rows, columns=["round", "start_date", "criteria_version_id", "criterion",
                                       "claimed_raw", "claimed", "evidence", "evidence_link", "comment",
                                       "review_status", "reviewed_value", "reviewer", "review_note",
                                       "return_id", "score_id"])


def get_score(conn: Connection, score_id: int):
    """One counting score's row (every column of ``score``), or a message saying it has gone."""
    row = conn.execute(select(Score.__table__).where(Score.id == score_id)).first()
    if row is None or not row.current:
        raise NotFoundError(f"Score {score_id} does not exist or has been replaced by a later "
                            "return. Reload the page and review the current score.")
    return row


def review_score(conn: Connection, score_id: int, *, status: str, value: float | None, note: str,
                 reviewer: str) -> tuple[dict, int, int]:
    """Record the KIM team's verdict on a counting score; the audit keeps before and after.

    Returns the review as saved, and the ids of the score's round and team.
    """
    if status not in REVIEW_STATUSES:
        raise KimError(f"'{status}' is not a review status. Use one of: {', '.join(REVIEW_STATUSES)}.")
    row = get_score(conn, score_id)
    rnd = conn.execute(select(Round.__table__).where(Round.id == row.round_id)).first()
    criteria = criteria_version(conn, rnd.criteria_version_id)
    if status == CHALLENGED:
        if value is None:
            raise KimError("A challenge needs the value the score should count at.")
        c = criteria.get(row.criterion)
        if not c.valid(value):
            raise KimError(f"{value:g} is not on the scale of '{c.name}' (0 to {c.top:g}).")
        if not note.strip():
            raise KimError("Say why the score is challenged: the team reads this note.")
    values = {"review_status": status, "reviewed_value": value if status == CHALLENGED else None,
              "reviewer": reviewer if status != SELF_DECLARED else None,
              "review_note": note.strip() or None, "reviewed_at": utcnow()}
    before = {k: getattr(row, k) for k in ("review_status", "reviewed_value", "reviewer", "review_note")}
    conn.execute(update(Score).where(Score.id == score_id).values(**values))
    team = conn.scalar(select(Team.name).where(Team.id == row.team_id))
    after = {k: values[k] for k in before}
    action = audit.SCORE_CHALLENGED if status == CHALLENGED else audit.SCORE_VERIFIED
    audit.record(conn, actor=reviewer, action=action, round_label=rnd.label,
                 target=f"{team}: {row.criterion} (score {score_id})",
                 before=dict(before, claimed=row.claimed_raw), after=after)
    return after, rnd.id, row.team_id
