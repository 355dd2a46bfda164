"""The messages the product has sent: one row per message handed to a mail service.

A row is written in the same transaction that hands the message over, so a row means "sent"
and a failed hand-over leaves no row. The unique (reason, recipient) key is what stops two
runs at once sending the same reminder twice: the second run's insert waits for the first
run's transaction and then finds the key taken.
"""

from __future__ import annotations


import pandas as pd
from sqlalchemy import exists, insert, select, update
from sqlalchemy.engine import Connection

from kim_metrics.storage.models import SentMessage, utcnow

COLUMNS = ["id", "recipient", "subject", "kind", "round", "reason", "sent_at", "transport", "provider_id"]


def was_sent(conn: Connection, reason: str, recipient: str) -> bool:
    return bool(conn.scalar(select(exists().where(SentMessage.reason == reason,
                                                  SentMessage.recipient == recipient))))


def claim(conn: Connection, *, recipient: str, subject: str, kind: str, round_label: str | None,
          reason: str, transport: str) -> int:
    """Insert the message's row before it is handed over, taking its (reason, recipient) key.

    Raises the database's IntegrityError when another run already holds the key.
    """
    return conn.execute(insert(SentMessage).values(
        recipient=recipient, subject=subject, kind=kind, round=round_label, reason=reason,
        sent_at=utcnow(), transport=transport).returning(SentMessage.id)).scalar_one()


def mark_sent(conn: Connection, message_id: int, provider_id: str | None) -> None:
    conn.execute(update(SentMessage).where(SentMessage.id == message_id)
                 .values(sent_at=utcnow(), provider_id=provider_id))


def sent_messages(conn: Connection, *, round_label: str | None = None, kind: str | None = None,
                  recipient: str | None = None) -> pd.DataFrame:
    """Messages sent, oldest first, filtered by any of round, kind and recipient."""
    stmt = select(*(getattr(SentMessage, c) for c in COLUMNS))
    if round_label:
        stmt = stmt.where(SentMessage.round == round_label)
    if kind:
        stmt = stmt.where(SentMessage.kind == kind)
    if recipient:
        stmt = stmt.where(SentMessage.recipient == recipient.strip().lower())
    return pd.DataFrame(conn.execute(stmt.order_by(SentMessage.id)).all(), columns=COLUMNS)
