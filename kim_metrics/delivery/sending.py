"""Sending a batch of messages: each once, each recorded, and a report of what happened.

Each message has its own transaction: its row is inserted (taking its (reason, recipient)
key), the message is handed to the mail service, and the transaction commits. A message the
service refuses rolls its row back, so the record never claims a message that was not sent,
and the messages before it stay recorded. The one gap is a crash between the service taking a
message and the commit: that message may be sent again by the next run, which is better than
a reminder recorded as sent that nobody received.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from kim_metrics.delivery.message import Message, address_problem
from kim_metrics.delivery.transport import MessageRefused, ServiceUnavailable, Transport
from kim_metrics.domain.errors import DatabaseBusy, UsageError
from kim_metrics.storage import messages as store
from kim_metrics.storage.engine import retry_reason, write_transaction


class Status(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    WOULD_SEND = "would send"  # a dry run's answer for a message not sent before


@dataclass(frozen=True)
class Outcome:
    message: Message
    status: Status
    detail: str = ""
    provider_id: str | None = None


@dataclass(frozen=True)
class SendReport:
    outcomes: list[Outcome]
    dry_run: bool = False

    def with_status(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is status]

    @property
    def sent(self) -> list[Outcome]:
        return self.with_status(Status.SENT)

    @property
    def skipped(self) -> list[Outcome]:
        return self.with_status(Status.SKIPPED)

    @property
    def failed(self) -> list[Outcome]:
        return self.with_status(Status.FAILED)

    def rows(self) -> list[dict[str, str]]:
        """One row per message, for a table on the command line or a page."""
        return [{"to": o.message.to, "subject": o.message.subject, "kind": o.message.kind.value,
                 "round": o.message.round_label or "", "status": o.status.value, "detail": o.detail}
                for o in self.outcomes]

    def summary(self) -> str:
        counts = [f"{len(self.with_status(s))} {s.value}" for s in Status if self.with_status(s)]
        return ", ".join(counts) if counts else "no messages"


class _AlreadySent(Exception):
    """Raised inside a message's transaction to roll it back and report it skipped."""


ALREADY_SENT = "already sent for this reason"


def send(messages: Iterable[Message], transport: Transport | None, engine: Engine, *,
         dry_run: bool = False) -> SendReport:
    """Send each message not sent before for its reason, and record it; report every one.

    A dry run needs no transport: it reports which messages would be sent and which were
    sent before, and sends and records nothing. When the service becomes unavailable the
    rest of the batch is reported failed without being tried; running again later sends
    them, and only them.
    """
    if transport is None and not dry_run:
        raise UsageError("Nothing can be sent without a mail service; pass one, or ask for a dry run.")
    outcomes: list[Outcome] = []
    unavailable: str | None = None
    for message in messages:
        if unavailable is not None:
            outcomes.append(Outcome(message, Status.FAILED, f"not tried: {unavailable}"))
            continue
        problem = address_problem(message.to)
        if problem:
            outcomes.append(Outcome(message, Status.FAILED, problem))
            continue
        try:
            if dry_run:
                outcomes.append(_plan(engine, message))
            else:
                outcomes.append(_send_one(engine, transport, message))
        except ServiceUnavailable as exc:
            unavailable = str(exc)
            outcomes.append(Outcome(message, Status.FAILED, unavailable))
        except DBAPIError as exc:
            if retry_reason(exc) != "busy":
                raise
            done = sum(o.status is Status.SENT for o in outcomes)
            raise DatabaseBusy(f"The database stayed busy with other saves, so sending stopped after "
                               f"{done} message{'s' if done != 1 else ''} were sent and recorded. Run "
                               "again in a minute: what was sent will not be sent twice.") from exc
    return SendReport(outcomes, dry_run=dry_run)


def _plan(engine: Engine, message: Message) -> Outcome:
    with engine.connect() as conn:
        if store.was_sent(conn, message.reason, message.to):
            return Outcome(message, Status.SKIPPED, ALREADY_SENT)
    return Outcome(message, Status.WOULD_SEND)


def _send_one(engine: Engine, transport: Transport, message: Message) -> Outcome:
    handed_over = False
    provider_id: str | None = None
    try:
        with write_transaction(engine) as conn:
            if store.was_sent(conn, message.reason, message.to):
                raise _AlreadySent
            try:
                row = store.claim(conn, recipient=message.to, subject=message.subject,
                                  kind=message.kind.value, round_label=message.round_label,
                                  reason=message.reason, transport=transport.name)
            except IntegrityError:
                # Another run sending the same message at the same moment got there first; on
                # PostgreSQL this insert waited for that run to commit before failing.
                raise _AlreadySent from None
            provider_id = transport.deliver(message)
            handed_over = True
            store.mark_sent(conn, row, provider_id)
    except _AlreadySent:
        return Outcome(message, Status.SKIPPED, ALREADY_SENT)
    except MessageRefused as exc:
        return Outcome(message, Status.FAILED, str(exc))
    except DBAPIError as exc:
        if not handed_over:
            raise
        return Outcome(message, Status.SENT, f"sent, but the record of it could not be saved "
                       f"({exc.orig}); a later run may send it again", provider_id)
    return Outcome(message, Status.SENT, provider_id=provider_id)
