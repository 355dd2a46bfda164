"""Sending through GOV.UK Notify, the service UK departments use, with its own client library.

Notify sends from a template: each kind of message has one (``KIM_NOTIFY_TEMPLATE_<KIND>``)
whose subject is ``((subject))`` and whose body is ``((body))``; a template for messages with
a file adds ``((link_to_file))``, where Notify puts a link to download the file (Notify does
not attach files to emails).
"""

from __future__ import annotations

import io

from notifications_python_client import NotificationsAPIClient, prepare_upload
from notifications_python_client.errors import APIError
from notifications_python_client.utils import DOCUMENT_UPLOAD_SIZE_LIMIT

from kim_metrics.delivery.message import Kind, Message
from kim_metrics.delivery.settings import NOTIFY_API_KEY, check_notify_key
from kim_metrics.delivery.transport import MessageRefused, ServiceUnavailable, Transport

NOTIFY_URL = "https://api.notifications.service.gov.uk"
# As for SMTP: a hand-over happens inside a database transaction and must end well within
# SQLite's 30 s busy timeout.
TIMEOUT_S = 20


class NotifyTransport(Transport):
    name = "notify"

    def __init__(self, api_key: str, templates: dict[Kind, str], *, base_url: str = NOTIFY_URL,
                 timeout: float = TIMEOUT_S) -> None:
        check_notify_key(api_key)
        self._templates = dict(templates)
        self._client = NotificationsAPIClient(api_key, base_url=base_url, timeout=timeout)

    def deliver(self, message: Message) -> str | None:
        template = self._templates.get(message.kind)
        if template is None:
            raise MessageRefused(f"No GOV.UK Notify template is set for {message.kind.value} messages, "
                                 f"so the one to {message.to} was not sent. Set "
                                 f"{message.kind.template_variable} to the id of that template.")
        personalisation: dict[str, object] = {"subject": message.subject, "body": message.body}
        if message.attachment is not None:
            if len(message.attachment.content) > DOCUMENT_UPLOAD_SIZE_LIMIT:
                raise MessageRefused(f"{message.attachment.file_name} is larger than the "
                                     f"{DOCUMENT_UPLOAD_SIZE_LIMIT // 2**20} MB GOV.UK Notify takes, so "
                                     f"the message to {message.to} was not sent.")
            personalisation["link_to_file"] = prepare_upload(
                io.BytesIO(message.attachment.content), filename=message.attachment.file_name)
        try:
            response = self._client.send_email_notification(
                email_address=message.to, template_id=template, personalisation=personalisation,
                reference=message.reason)
        except APIError as exc:
            raise _error(exc, message) from None
        return str(response["id"])

    def close(self) -> None:
        self._client.request_session.close()


def _error(exc: APIError, message: Message) -> Exception:
    said = _said(exc)
    if exc.status_code == 400:
        return MessageRefused(f"GOV.UK Notify refused the message to {message.to}: {said}")
    if exc.status_code == 403:
        return ServiceUnavailable(f"GOV.UK Notify refused the API key in {NOTIFY_API_KEY}: {said} "
                                  "Check the key has not been revoked and is copied whole.")
    if exc.status_code == 429:
        return ServiceUnavailable(f"GOV.UK Notify says the service is over its sending limit: {said} "
                                  "Run again later; what was sent will not be sent twice.")
    return ServiceUnavailable(f"GOV.UK Notify could not be reached or failed ({exc.status_code}): {said} "
                              "Try again later.")


def _said(exc: APIError) -> str:
    """Notify's own words: a list of {error, message} or one message."""
    said = exc.message
    if isinstance(said, list):
        said = " ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in said)
    said = str(said).strip()
    return said if said.endswith(".") else said + "."
