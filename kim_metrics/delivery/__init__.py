"""Delivering messages (reminders, letters, the board pack) by email, each once.

One interface, ``Transport``, with two services behind it: the department's mail server
(``SmtpTransport``) and GOV.UK Notify (``NotifyTransport``); ``transport_from_settings``
picks the one the environment sets up. ``send`` sends a batch, records every message sent,
and never sends the same message twice for the same reason.
"""

from kim_metrics.delivery.message import Attachment, Kind, Message, address_problem
from kim_metrics.delivery.sending import Outcome, SendReport, Status, send
from kim_metrics.delivery.settings import DeliverySettings, delivery_settings, transport_from_settings
from kim_metrics.delivery.transport import (
    DeliveryError, MessageRefused, NotConfigured, ServiceUnavailable, Transport,
)

__all__ = [
    "Attachment", "DeliveryError", "DeliverySettings", "Kind", "Message", "MessageRefused",
    "NotConfigured", "Outcome", "SendReport", "ServiceUnavailable", "Status", "Transport",
    "address_problem", "delivery_settings", "send", "transport_from_settings",
]
