"""The one interface every mail service is reached through, and the ways a send can fail."""

from __future__ import annotations

from abc import ABC, abstractmethod

from kim_metrics.delivery.message import Message
from kim_metrics.domain.errors import KimError


class DeliveryError(KimError):
    """A message could not be sent; the message says what to do next."""


class NotConfigured(DeliveryError):
    """No mail service is set up, or its settings are incomplete or malformed."""


class MessageRefused(DeliveryError):
    """The service refused this one message (its recipient, size or content); others may go."""


class ServiceUnavailable(DeliveryError):
    """The service cannot take any message now (unreachable, credentials refused, over its
    limit); sending the rest of a batch would only fail the same way."""


class Transport(ABC):
    """A mail service. Use it as a context manager so a connection it keeps open is closed."""

    #: Recorded with every message sent, so a record says which service carried it.
    name: str

    @abstractmethod
    def deliver(self, message: Message) -> str | None:
        """Hand ``message`` to the service and return the service's id for it, if any.

        Raises ``MessageRefused`` or ``ServiceUnavailable``; returning means the service
        accepted the message.
        """

    def close(self) -> None:
        """Let go of any connection kept between messages."""

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
