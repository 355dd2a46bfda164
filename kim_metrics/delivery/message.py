"""What is sent: a message to one person, for one reason, perhaps with one file attached."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum

NOTIFY_TEMPLATE_PREFIX = "KIM_NOTIFY_TEMPLATE_"
REASON_MAX = 500
# One address, no display name: what the organisation workbook holds for a person.
_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\]+")


class Kind(StrEnum):
    """Why the product writes to someone; each kind has its own GOV.UK Notify template."""

    REMINDER = "reminder"
    LETTER = "letter"
    BOARDPACK = "boardpack"
    ACTION_OVERDUE = "action_overdue"

    @property
    def template_variable(self) -> str:
        """The setting that holds this kind's GOV.UK Notify template id."""
        return NOTIFY_TEMPLATE_PREFIX + self.value.upper()


@dataclass(frozen=True)
class Attachment:
    file_name: str
    content: bytes
    content_type: str = "application/pdf"

    def __post_init__(self) -> None:
        if not self.file_name.strip() or any(c in self.file_name for c in "/\\\r\n"):
            raise ValueError(f"An attachment needs a plain file name, not {self.file_name!r}.")
        maintype, _, subtype = self.content_type.partition("/")
        if not maintype or not subtype:
            raise ValueError(f"{self.content_type!r} is not a content type such as application/pdf.")

    def __repr__(self) -> str:  # the bytes would drown a report or a failing test's output
        return f"Attachment({self.file_name!r}, {len(self.content):,} bytes, {self.content_type!r})"


@dataclass(frozen=True)
class Message:
    """One email to one person.

    ``reason`` says why it is sent, e.g. ``reminder:2026-Q3:team:42:due-soon``; a message is
    never sent twice to the same person for the same reason, so a reason must name
    everything that makes a message new (round, team or action, stage).
    """

    to: str
    subject: str
    body: str
    kind: Kind
    round_label: str | None
    reason: str
    attachment: Attachment | None = None

    def __post_init__(self) -> None:
        # Addresses come from the organisation workbook in any case; the record is kept in one.
        object.__setattr__(self, "to", self.to.strip().lower())
        object.__setattr__(self, "kind", Kind(self.kind))
        if not self.subject.strip() or "\n" in self.subject or "\r" in self.subject:
            raise ValueError(f"A message needs a one-line subject, not {self.subject!r}.")
        if not self.reason.strip() or len(self.reason) > REASON_MAX:
            raise ValueError(f"A message needs a reason of 1 to {REASON_MAX} characters, "
                             f"not {self.reason!r}.")


def address_problem(address: str) -> str | None:
    """Why ``address`` cannot be sent to, in words for the person who keeps the organisation."""
    if _ADDRESS.fullmatch(address) and parseaddr(address)[1] == address:
        return None
    return (f"'{address}' is not an email address. Correct it in the organisation workbook and "
            "load it again with `kim org load`.")
