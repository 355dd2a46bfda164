"""The audit trail: who did what, when, with the values before and after.

Records are written in the same transaction as the change they describe, so a change
without its record (or a record without its change) cannot happen. The application only
ever inserts into this table.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from kim_metrics.storage.models import AuditRecord, DataVersion, utcnow

# Who acts when the application itself writes (seeding the criteria, a restore).
SYSTEM_ACTOR = "system"

RETURN_SAVED = "return saved"
SCORE_VERIFIED = "score verified"
SCORE_CHALLENGED = "score challenged"
CRITERIA_LOADED = "criteria loaded"
ROUND_OPENED = "round opened"
ROUND_DELETED = "round deleted"
ROUND_DEADLINE_SET = "round deadline set"
ROUND_CLOSED = "round closed"
ROUND_REOPENED = "round reopened"
ACTION_ADOPTED = "action adopted"
ACTION_UPDATED = "action updated"
ACTION_CLOSED = "action closed"
ORG_LOADED = "organisation loaded"
ROLE_GRANTED = "role granted"
ROLE_REVOKED = "role revoked"
COMMENT_ADDED = "comment added"
COLUMNS = ["id", "at", "actor", "action", "round", "target", "before", "after"]


def record(conn: Connection, *, actor: str, action: str, target: str, round_label: str | None = None,
           before: Any = None, after: Any = None) -> None:
    conn.execute(insert(AuditRecord).values(
        at=utcnow(), actor=actor, action=action, round=round_label, target=target,
        before=_json(before), after=_json(after)))
    # Every audited change moves the data version, which the pages' caches are keyed on.
    conn.execute(update(DataVersion).where(DataVersion.id == 1)
                 .values(version=DataVersion.version + 1))


def data_version(conn: Connection) -> int:
    """A number that rises with every committed change; cheap enough to read on every page run."""
    return int(conn.scalar(select(DataVersion.version).where(DataVersion.id == 1)) or 0)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def trail(conn: Connection, *, round_label: str | None = None, actor: str | None = None,
          action: str | None = None, since: datetime | None = None) -> pd.DataFrame:
    """Audit records, oldest first, filtered by any of round, actor, action and time."""
    stmt = select(AuditRecord.id, AuditRecord.at, AuditRecord.actor, AuditRecord.action,
                  AuditRecord.round, AuditRecord.target, AuditRecord.before, AuditRecord.after)
    if round_label:
        stmt = stmt.where(AuditRecord.round == round_label)
    if actor:
        stmt = stmt.where(AuditRecord.actor == actor.strip().lower())
    if action:
        stmt = stmt.where(AuditRecord.action == action)
    if since:
        stmt = stmt.where(AuditRecord.at >= since)
    return pd.DataFrame(conn.execute(stmt.order_by(AuditRecord.id)).all(), columns=COLUMNS)
