"""Returns: each saved whole in one transaction, superseding earlier scores for its teams."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Connection

from kim_metrics.domain.rounds import normalise_label
from kim_metrics.reading.returns import ParsedReturn
from kim_metrics.storage import audit
from kim_metrics.storage.models import Return, Round, Score, utcnow
from kim_metrics.storage.organisation import add_discovered_teams
from kim_metrics.storage.rounds import find_round, open_round
from kim_metrics.storage.sql import bulk_insert, chunks, frame_of
from kim_metrics.domain.scoring import SELF_DECLARED


@dataclass(frozen=True)
class SavedReturn:
    return_id: int
    round: str
    teams: int
    scores: int
    superseded: int          # scores from earlier returns this one replaced
    new_teams: int           # teams discovered from the return (no organisation loaded)
    round_opened: bool
    late: bool = False
    # The scores as stored (team ids as in the database), for the results they move.
    saved: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)


def find_same_file(conn: Connection, file_hash: str, round_label: str) -> dict | None:
    """An earlier return of the very same file for the round whose scores still count."""
    found = find_round(conn, round_label)
    if found is None:
        return None
    row = conn.execute(
        select(Return.id.label("return_id"), Return.file_name, Return.uploader, Return.uploaded_at)
        .where(Return.round_id == found.id, Return.file_hash == file_hash,
               Return.id.in_(select(Score.return_id).where(Score.current.is_(True))))
        .order_by(Return.id.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


@dataclass(frozen=True)
class EarlierReturn:
    """A saved return whose scores a new return for the same teams would replace."""

    return_id: int
    file_name: str
    uploader: str
    uploaded_at: datetime
    scores: int              # its counting scores the new return replaces
    teams: int


def returns_replaced(conn: Connection, round_label: str, team_ids: list[int]) -> list[EarlierReturn]:
    """The returns whose counting scores for ``team_ids`` in the round a save would replace,
    newest first, with how many of their scores it replaces."""
    found = find_round(conn, round_label)
    if found is None or not team_ids:
        return []
    counts: dict[int, list[int]] = {}
    for part in chunks(sorted(set(team_ids)), 900):
        rows = conn.execute(
            select(Score.return_id, func.count(), func.count(Score.team_id.distinct()))
            .where(Score.round_id == found.id, Score.current.is_(True), Score.team_id.in_(part))
            .group_by(Score.return_id)).all()
        for return_id, n, teams in rows:
            got = counts.setdefault(int(return_id), [0, 0])
            got[0] += int(n)
            got[1] += int(teams)
    if not counts:
        return []
    info = conn.execute(select(Return.id, Return.file_name, Return.uploader, Return.uploaded_at)
                        .where(Return.id.in_(list(counts))).order_by(Return.id.desc())).all()
    return [EarlierReturn(return_id=r.id, file_name=r.file_name, uploader=r.uploader,
                          uploaded_at=r.uploaded_at, scores=counts[r.id][0], teams=counts[r.id][1])
            for r in info]


def save_return(conn: Connection, parsed: ParsedReturn, round_label: str, *, uploader: str,
                file_hash: str, uploaded_at: datetime | None = None) -> SavedReturn:
    """Save a checked return in one transaction; earlier scores for its teams stop counting."""
    rnd, opened = open_round(conn, round_label, uploader)
    # Saves to one round take turns (a no-op on SQLite, whose writer lock is already held):
    # a later save must see an earlier one's scores to supersede them.
    conn.execute(select(Round.id).where(Round.id == rnd.id).with_for_update())
    scores = parsed.scores
    team_ids = scores["team_id"]
    new_teams = 0
    if not parsed.new_teams.empty:
        mapping = add_discovered_teams(conn, parsed.new_teams)
        team_ids = team_ids.map(lambda t: mapping.get(t, t))
        new_teams = len(mapping)
    team_ids = team_ids.astype(int)
    teams = sorted(set(team_ids.tolist()))
    uploaded_at = uploaded_at or utcnow()
    # A return after the deadline is accepted and marked late, so the league still counts it.
    late = rnd.deadline is not None and uploaded_at.date() > rnd.deadline
    return_id = conn.execute(insert(Return).values(
        round_id=rnd.id, file_name=parsed.file_name, file_hash=file_hash, uploader=uploader,
        uploaded_at=uploaded_at, layout=parsed.layout, team_count=len(teams),
        score_count=len(scores), late=late)).inserted_primary_key[0]
    before = _scores_snapshot(conn, rnd.id, teams)
    superseded = 0
    for chunk in chunks(teams, 500):
        superseded += conn.execute(
            update(Score).where(and_(Score.round_id == rnd.id, Score.team_id.in_(chunk),
                                     Score.current.is_(True))).values(current=False)).rowcount
    new = {"team_id": team_ids.tolist(), "criterion": scores["criterion"].tolist(),
           "claimed_raw": scores["claimed_raw"].tolist(),
           "claimed": scores["claimed"].astype(float).tolist(),
           "evidence": scores["evidence"].tolist(), "evidence_link": scores["evidence_link"].tolist(),
           "comment": scores["comment"].tolist()}
    n = len(scores)
    bulk_insert(conn, "score", {"return_id": [return_id] * n, "round_id": [rnd.id] * n, **new,
                               "current": [True] * n, "review_status": [SELF_DECLARED] * n})
    names = dict(zip(new["team_id"], scores["team"].tolist()))
    audit.record(conn, actor=uploader, action=audit.RETURN_SAVED, round_label=rnd.label,
                 target=f"return {return_id}: {parsed.file_name}",
                 before=_audit_scores(before, names) if len(before) else None,
                 after=_audit_scores(new, names))
    saved = pd.DataFrame({**new, "team": scores["team"].tolist(),
                          "directorate": scores["directorate"].tolist(), "group": scores["group"].tolist()})
    return SavedReturn(return_id=return_id, round=rnd.label, teams=len(teams),
                       scores=len(scores), superseded=superseded, new_teams=new_teams,
                       round_opened=opened, late=late, saved=saved)


def _scores_snapshot(conn: Connection, round_id: int, teams: list[int]) -> pd.DataFrame:
    """The scores a save is about to supersede, for the audit trail's "before"."""
    columns = ["team_id", "criterion", "claimed_raw", "evidence"]
    current = (Score.round_id == round_id) & Score.current.is_(True)
    # A team's first return in a round supersedes nothing: one indexed look settles the
    # usual case before the teams are looked up a chunk at a time.
    if not teams or conn.scalar(select(Score.id).where(current).limit(1)) is None:
        return pd.DataFrame(columns=columns)
    stmt = select(Score.team_id, Score.criterion, Score.claimed_raw, Score.evidence).where(current)
    return pd.concat([frame_of(conn, stmt.where(Score.team_id.in_(chunk)), columns)
                      for chunk in chunks(teams, 900)], ignore_index=True)


def _audit_scores(scores, names: dict) -> dict[str, list]:
    """Scores as columns (team, criterion, score, evidence): cheap to write for a big return,
    and a table to whoever reads the audit trail. ``scores`` is a frame or a dict of lists."""
    return {"team": [str(names.get(t, t)) for t in scores["team_id"]],
            "criterion": list(scores["criterion"]), "score": list(scores["claimed_raw"]),
            "evidence": list(scores["evidence"])}


def returns_frame(conn: Connection, round_label: str | None = None) -> pd.DataFrame:
    """Every return, newest first, with how many of its scores still count."""
    current = (select(Score.return_id, func.count().label("current_scores"))
               .where(Score.current.is_(True)).group_by(Score.return_id).subquery())
    stmt = (select(Return.id.label("return_id"), Round.label.label("round"), Return.file_name,
                   Return.uploader, Return.uploaded_at, Return.layout, Return.team_count,
                   Return.score_count, Return.late, func.coalesce(current.c.current_scores, 0).label("current_scores"))
            .join(Round, Return.round_id == Round.id)
            .outerjoin(current, current.c.return_id == Return.id)
            .order_by(Return.id.desc()))
    if round_label:
        stmt = stmt.where(Round.label == normalise_label(round_label))
    frame = pd.DataFrame(conn.execute(stmt).mappings().all(),
                         columns=["return_id", "round", "file_name", "uploader", "uploaded_at", "layout",
                                  "team_count", "score_count", "late", "current_scores"])
    frame["status"] = "superseded"
    frame.loc[frame["current_scores"] > 0, "status"] = "partly superseded"
    frame.loc[frame["current_scores"] == frame["score_count"], "status"] = "current"
    return frame


def returns_touching(conn: Connection, team_ids: list[int]) -> set[int]:
    """The returns that hold a score for any of ``team_ids``."""
    found: set[int] = set()
    for part in chunks(team_ids, 900):
        found |= set(conn.scalars(select(Score.return_id).where(Score.team_id.in_(part)).distinct()))
    return found
