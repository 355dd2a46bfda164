"""Rounds: opened by label, ordered by start date, each with its criteria version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from kim_metrics.domain.errors import KimError, NotFoundError
from kim_metrics.domain.rounds import normalise_label, start_date
from kim_metrics.storage import audit
from kim_metrics.storage.criteria import current_criteria
from kim_metrics.storage.models import Return, Round, RoundResult, utcnow


@dataclass(frozen=True)
class RoundInfo:
    id: int
    label: str
    start_date: date
    criteria_version_id: int
    opened_at: datetime
    opened_by: str
    deadline: date | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


def _round_info(row) -> RoundInfo:
    return RoundInfo(row.id, row.label, row.start_date, row.criteria_version_id, row.opened_at,
                     row.opened_by, row.deadline, row.closed_at, row.closed_by)


def find_round(conn: Connection, label: str) -> RoundInfo | None:
    row = conn.execute(select(Round.__table__).where(Round.label == normalise_label(label))).first()
    return _round_info(row) if row else None


def get_round(conn: Connection, label: str) -> RoundInfo:
    found = find_round(conn, label)
    if found is None:
        known = ", ".join(r.label for r in list_rounds(conn)) or "none yet"
        raise NotFoundError(f"There is no round {normalise_label(label)}. Rounds: {known}. "
                            "An admin opens a round, or the first return for it does.")
    return found


def list_rounds(conn: Connection) -> list[RoundInfo]:
    rows = conn.execute(select(Round.__table__).order_by(Round.start_date)).all()
    return [_round_info(r) for r in rows]


def open_round(conn: Connection, label: str, actor: str) -> tuple[RoundInfo, bool]:
    """The round, opened now with the criteria in force if it did not exist; (round, opened?)."""
    label = normalise_label(label)
    existing = find_round(conn, label)
    if existing:
        return existing, False
    version_id, _ = current_criteria(conn)
    conn.execute(insert(Round).values(label=label, start_date=start_date(label),
                                      criteria_version_id=version_id, opened_by=actor,
                                      opened_at=utcnow()))
    audit.record(conn, actor=actor, action=audit.ROUND_OPENED, target=f"round {label}",
                 round_label=label, after={"round": label, "criteria_version": version_id})
    return get_round(conn, label), True


def previous_round(conn: Connection, label: str) -> RoundInfo | None:
    this = get_round(conn, label)
    row = conn.execute(select(Round.__table__).where(Round.start_date < this.start_date)
                       .order_by(Round.start_date.desc()).limit(1)).first()
    return _round_info(row) if row else None


def round_by_id(conn: Connection, round_id: int) -> RoundInfo:
    row = conn.execute(select(Round.__table__).where(Round.id == round_id)).first()
    if row is None:
        raise NotFoundError(f"There is no round with id {round_id}.")
    return _round_info(row)


def delete_round(conn: Connection, label: str, actor: str) -> None:
    """Delete a round nobody has returned for (opened by mistake); audited."""
    rnd = get_round(conn, label)
    returns = conn.scalar(select(func.count()).select_from(Return).where(Return.round_id == rnd.id))
    if returns:
        raise KimError(f"Round {rnd.label} has {returns} return(s), so it cannot be deleted: its "
                       "history is kept. Close it instead, or leave it as it is.")
    conn.execute(delete(RoundResult).where(RoundResult.round_id == rnd.id))
    conn.execute(delete(Round).where(Round.id == rnd.id))
    audit.record(conn, actor=actor, action=audit.ROUND_DELETED, target=f"round {rnd.label}",
                 round_label=rnd.label, before={"round": rnd.label, "opened_by": rnd.opened_by})


def set_deadline(conn: Connection, label: str, deadline: date | None, actor: str) -> RoundInfo:
    """Give a round its deadline for returns (or take it away); audited."""
    rnd = get_round(conn, label)
    if rnd.deadline == deadline:
        return rnd
    conn.execute(update(Round).where(Round.id == rnd.id).values(deadline=deadline))
    audit.record(conn, actor=actor, action=audit.ROUND_DEADLINE_SET, target=f"round {rnd.label}",
                 round_label=rnd.label, before={"deadline": rnd.deadline}, after={"deadline": deadline})
    return get_round(conn, rnd.label)


def close_round(conn: Connection, label: str, actor: str) -> tuple[RoundInfo, bool]:
    """Close a round to returns; (the round, whether it was closed now). Audited."""
    rnd = get_round(conn, label)
    if rnd.closed:
        return rnd, False
    conn.execute(update(Round).where(Round.id == rnd.id).values(closed_at=utcnow(), closed_by=actor))
    audit.record(conn, actor=actor, action=audit.ROUND_CLOSED, target=f"round {rnd.label}",
                 round_label=rnd.label, before={"closed": False}, after={"closed": True})
    return get_round(conn, rnd.label), True


def reopen_round(conn: Connection, label: str, actor: str) -> tuple[RoundInfo, bool]:
    """Open a closed round to returns again; (the round, whether it was reopened now). Audited."""
    rnd = get_round(conn, label)
    if not rnd.closed:
        return rnd, False
    conn.execute(update(Round).where(Round.id == rnd.id).values(closed_at=None, closed_by=None))
    audit.record(conn, actor=actor, action=audit.ROUND_REOPENED, target=f"round {rnd.label}",
                 round_label=rnd.label,
                 before={"closed": True, "closed_by": rnd.closed_by, "closed_at": rnd.closed_at},
                 after={"closed": False})
    return get_round(conn, rnd.label), True
