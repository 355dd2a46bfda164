"""Which mail service to use, from the project's settings (``kim_metrics.settings``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr

from kim_metrics.delivery.message import Kind, address_problem
from kim_metrics.delivery.transport import NotConfigured, Transport
from kim_metrics.settings import ENV_PREFIX, load_settings

SMTP_URL = "KIM_SMTP_URL"
MAIL_FROM = "KIM_MAIL_FROM"
NOTIFY_API_KEY = "KIM_NOTIFY_API_KEY"
_NOTIFY_KEY_TAIL = 73  # "<service id>-<secret>", two UUIDs, after the key's own name


@dataclass(frozen=True)
class DeliverySettings:
    smtp_url: str | None = None
    mail_from: str | None = None
    notify_api_key: str | None = field(default=None, repr=False)
    notify_templates: Mapping[Kind, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # the SMTP URL may hold a password
        return (f"DeliverySettings(smtp={'set' if self.smtp_url else 'unset'}, "
                f"mail_from={self.mail_from!r}, notify={'set' if self.notify_api_key else 'unset'}, "
                f"notify_templates={sorted(k.value for k in self.notify_templates)})")


def delivery_settings(environ: Mapping[str, str] | None = None) -> DeliverySettings:
    """The delivery settings from ``environ`` (the process environment by default)."""
    s = load_settings(environ)
    templates = {kind: value.strip() for kind in Kind
                 if (value := getattr(s, kind.template_variable.removeprefix(ENV_PREFIX).lower()))}
    return DeliverySettings(smtp_url=_secret(s.smtp_url), mail_from=s.mail_from and s.mail_from.strip(),
                            notify_api_key=_secret(s.notify_api_key), notify_templates=templates)


def _secret(value) -> str | None:
    return value.get_secret_value().strip() or None if value is not None else None


def _how_to_configure() -> str:
    templates = ", ".join(k.template_variable for k in Kind)
    return (f"To send through the department's mail server set {SMTP_URL} (for example "
            f"smtp://user:password@mail.example.gov.uk:587, or smtps://... for a server that "
            f"takes TLS from the start) and {MAIL_FROM}. To send through GOV.UK Notify set "
            f"{NOTIFY_API_KEY} and the template ids {templates}. Add --dry-run to see what "
            "would be sent without either.")


def transport_from_settings(settings: DeliverySettings | None = None) -> Transport:
    """The mail service the settings name; a ``NotConfigured`` error says what to set."""
    s = delivery_settings() if settings is None else settings
    if s.smtp_url and s.notify_api_key:
        raise NotConfigured(f"Both {SMTP_URL} and {NOTIFY_API_KEY} are set, so it is not clear which "
                            "service should send the mail. Unset the one you do not mean to use.")
    if s.smtp_url:
        from kim_metrics.delivery.smtp import SmtpTransport
        if not s.mail_from:
            raise NotConfigured(f"{SMTP_URL} is set but {MAIL_FROM} is not. Set {MAIL_FROM} to the "
                                "address messages come from, such as kim.team@dept.gov.uk.")
        name, address = parseaddr(s.mail_from)
        if address_problem(address.lower()) or "\n" in s.mail_from:
            raise NotConfigured(f"{MAIL_FROM} is '{s.mail_from}', which is not an email address. Give "
                                "one such as kim.team@dept.gov.uk or 'KIM team <kim.team@dept.gov.uk>'.")
        return SmtpTransport(s.smtp_url, s.mail_from)
    if s.notify_api_key:
        from kim_metrics.delivery.notify import NotifyTransport
        check_notify_key(s.notify_api_key)
        for kind, template in s.notify_templates.items():
            if not _is_uuid(template):
                raise NotConfigured(f"{kind.template_variable} is '{template}', which is not a GOV.UK "
                                    "Notify template id. Copy the id from the template's page in "
                                    "Notify (it looks like 8c2f...-...).")
        return NotifyTransport(s.notify_api_key, s.notify_templates)
    raise NotConfigured("No mail service is set up, so nothing can be sent. " + _how_to_configure())


def check_notify_key(api_key: str) -> None:
    """Refuse a key that is not shaped like a Notify API key, without ever quoting it."""
    tail = api_key[-_NOTIFY_KEY_TAIL:]
    service_id, secret = tail[:36], tail[37:]
    if len(api_key) <= _NOTIFY_KEY_TAIL or tail[36] != "-" or not (_is_uuid(service_id) and _is_uuid(secret)):
        raise NotConfigured(f"{NOTIFY_API_KEY} is not a GOV.UK Notify API key. Copy the whole key from "
                            "API integration > API keys in Notify: it is the key's name followed by two "
                            "long ids.")


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False
