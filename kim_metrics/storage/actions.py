"""Tracked actions: a team's committed next step on one criterion, with an owner and a due date.

An action is adopted from a round's scores and carried from round to round until it is done or
dropped. It closes itself when a later round's counted score (the evidence rule and any
challenge applied) reaches its target: ``close_reached`` runs in the transaction that moved the
score, beside the stored results it reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd
from sqlalchemy import false, insert, select, update
from sqlalchemy.engine import Connection

from kim_metrics.domain.errors import KimError, NotFoundError
from kim_metrics.storage import audit, results
from kim_metrics.storage.audit import SYSTEM_ACTOR
from kim_metrics.storage.models import Action, Directorate, Round, Team, utcnow
from kim_metrics.storage.rounds import RoundInfo
from kim_metrics.storage.sql import chunks, frame_of

OPEN, IN_PROGRESS, DONE, DROPPED = "open", "in_progress", "done", "dropped"
STATUSES = (OPEN, IN_PROGRESS, DONE, DROPPED)
# Statuses an action can still be overdue or closed automatically in.
ACTIVE = (OPEN, IN_PROGRESS)

COLUMNS = ["action_id", "team_id", "team", "directorate", "group", "criterion", "round",
           "round_start", "target_value", "target_label", "target_status", "owner", "due_on", "note",
           "status", "created_by", "created_at", "closed_at", "closed_reason"]


def add_action(conn: Connection, *, team_id: int, team: str, criterion: str, rnd: RoundInfo,
               target_value: float, target_label: str, target_status: str, owner: str,
               due_on: date, note: str, actor: str) -> int:
    """Record an adopted action; audited."""
    values = {"team_id": team_id, "criterion": criterion, "round_id": rnd.id,
              "target_value": float(target_value), "target_label": target_label,
              "target_status": target_status, "owner": owner, "due_on": due_on, "note": note,
              "status": OPEN, "created_by": actor, "created_at": utcnow()}
    action_id = conn.execute(insert(Action).values(**values).returning(Action.id)).scalar_one()
    audit.record(conn, actor=actor, action=audit.ACTION_ADOPTED, round_label=rnd.label,
                 target=f"action {action_id}: {team}, {criterion}",
                 after={"owner": owner, "due_on": due_on, "target": target_label,
                        "target_status": target_status, "note": note})
    return action_id


def actions_frame(conn: Connection, *, action_ids: Iterable[int] | None = None,
                  team_ids: Iterable[int] | None = None,
                  statuses: Iterable[str] | None = None) -> pd.DataFrame:
    """Actions with their team, directorate and round, oldest first."""
    stmt = (select(Action.id.label("action_id"), Action.team_id, Team.name.label("team"),
                   Directorate.name.label("directorate"), Directorate.group_name.label("group"),
                   Action.criterion, Round.label.label("round"), Round.start_date.label("round_start"),
                   Action.target_value, Action.target_label, Action.target_status, Action.owner,
                   Action.due_on, Action.note, Action.status, Action.created_by, Action.created_at,
                   Action.closed_at, Action.closed_reason)
            .join(Team, Action.team_id == Team.id)
            .join(Directorate, Team.directorate_id == Directorate.id)
            .join(Round, Action.round_id == Round.id)
            .order_by(Action.id))
    if action_ids is not None:
        stmt = stmt.where(Action.id.in_(list(action_ids)))
    if statuses is not None:
        stmt = stmt.where(Action.status.in_(list(statuses)))
    if team_ids is None:
        return frame_of(conn, stmt, COLUMNS)
    parts = [frame_of(conn, stmt.where(Action.team_id.in_(part)), COLUMNS)
             for part in chunks(sorted({int(t) for t in team_ids}), 900)]
    return pd.concat(parts, ignore_index=True) if parts else frame_of(conn, stmt.where(false()), COLUMNS)


def get_action(conn: Connection, action_id: int) -> dict:
    found = actions_frame(conn, action_ids=[action_id])
    if found.empty:
        raise NotFoundError(f"There is no action {action_id}. List actions with `kim actions list`.")
    return found.iloc[0].to_dict()


def set_status(conn: Connection, action_id: int, status: str, *, note: str | None, actor: str) -> dict:
    """Move an action to ``status`` (and add to its note); audited. The action after the change."""
    if status not in STATUSES:
        raise KimError(f"'{status}' is not an action status. Use one of: {', '.join(STATUSES)}.")
    before = get_action(conn, action_id)
    values: dict = {"status": status}
    if note and note.strip():
        values["note"] = (f"{before['note']}\n{note.strip()}" if before["note"] else note.strip())
    if status in ACTIVE:
        values.update(closed_at=None, closed_reason=None)
    elif before["status"] in ACTIVE:
        values.update(closed_at=utcnow(), closed_reason=f"marked {status} by {actor}")
    conn.execute(update(Action).where(Action.id == action_id).values(**values))
    audit.record(conn, actor=actor, action=audit.ACTION_UPDATED, round_label=before["round"],
                 target=f"action {action_id}: {before['team']}, {before['criterion']}",
                 before={"status": before["status"], "note": before["note"]},
                 after={"status": status, "note": values.get("note", before["note"])})
    return get_action(conn, action_id)


def close_reached(conn: Connection, rnd: RoundInfo, team_ids: Iterable[int], *, because: str) -> list[int]:
    """Close every active action of ``team_ids`` adopted in a round before ``rnd`` whose
    counted score in ``rnd`` has reached its target; audited. The ids closed.

    Runs after the round's stored results are refreshed, in the same transaction, and reads
    the counted scores from them.
    """
    # Active actions are few beside a return's teams (a whole department's, at most), so
    # they are read whole and matched here rather than by chunks of team ids in SQL.
    ids = {int(t) for t in team_ids}
    waiting = actions_frame(conn, statuses=ACTIVE)
    waiting = waiting[waiting["team_id"].astype(int).isin(ids)
                      & (pd.to_datetime(waiting["round_start"]) < pd.Timestamp(rnd.start_date))]
    if waiting.empty:
        return []
    columns = ["team_id", *{f"{c}.counted" for c in waiting["criterion"]}]
    teams = results.read_level(conn, rnd.id, results.TEAM, columns).set_index("team_id")
    closed = []
    for a in waiting.itertuples(index=False):
        column = f"{a.criterion}.counted"
        if a.team_id not in teams.index or column not in teams.columns:
            continue
        counted = teams.at[a.team_id, column]
        if counted is None or pd.isna(counted) or float(counted) < float(a.target_value):
            continue
        reason = f"reached {a.target_label} in {rnd.label} ({because})"
        conn.execute(update(Action).where(Action.id == a.action_id)
                     .values(status=DONE, closed_at=utcnow(), closed_reason=reason))
        audit.record(conn, actor=SYSTEM_ACTOR, action=audit.ACTION_CLOSED, round_label=rnd.label,
                     target=f"action {a.action_id}: {a.team}, {a.criterion}",
                     before={"status": a.status}, after={"status": DONE, "closed_reason": reason})
        closed.append(int(a.action_id))
    return closed


def overdue(frame: pd.DataFrame, today: date) -> pd.Series:
    """For each action, whether it is past its due date and still open."""
    due = pd.to_datetime(frame["due_on"]).dt.date
    return frame["status"].isin(ACTIVE) & (due < today)


def carried_into(frame: pd.DataFrame, rnd: RoundInfo) -> pd.Series:
    """Which actions belong to ``rnd``'s list: adopted in it or before, and still active, or
    closed no earlier than the round began (so a round's list shows what was done in it)."""
    start = pd.Timestamp(rnd.start_date)
    adopted = pd.to_datetime(frame["round_start"]) <= start
    closed_at = pd.to_datetime(frame["closed_at"])
    return adopted & (frame["status"].isin(ACTIVE) | closed_at.isna() | (closed_at >= start))
