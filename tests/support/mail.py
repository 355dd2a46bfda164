"""Real mail servers on loopback for the delivery tests.

``SmtpServer`` is aiosmtpd, a real SMTP server, with STARTTLS, implicit TLS and AUTH when
asked for them. ``NotifyStandIn`` answers POST /v2/notifications/email as GOV.UK Notify's API
does, after checking the request's JWT as Notify does; it stands in for Notify because the
real service is off this machine.
"""

from __future__ import annotations

import email
import json
import socket
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import TokenError

LOOPBACK = "127.0.0.1"
START_ATTEMPTS = 5
HOLD_LIMIT_S = 30  # a held message is let go after this even if the test never releases it


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    tls: bool
    authenticated: bool

    @property
    def email(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)


@dataclass
class SmtpServer:
    """An aiosmtpd server on loopback that keeps every message it accepts."""

    refuse: set[str] = field(default_factory=set)
    starttls: ssl.SSLContext | None = None  # offer STARTTLS with this server context
    implicit_tls: ssl.SSLContext | None = None  # TLS from the first byte
    login: tuple[str, str] | None = None  # require AUTH with this user name and password
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    # While ``hold`` is clear, a message's DATA is held open; ``holding`` is set once one is.
    hold: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.hold.set()
        self._controller: Controller | None = None

    @property
    def url_host(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def start(self) -> "SmtpServer":
        kwargs: dict = {}
        if self.starttls is not None:
            kwargs.update(tls_context=self.starttls, require_starttls=True)
        if self.implicit_tls is not None:
            kwargs.update(ssl_context=self.implicit_tls)
        if self.login is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        # A free port can be taken by another test between finding and binding it: try again.
        for attempt in range(START_ATTEMPTS):
            self.port = free_port()
            controller = Controller(self, hostname=LOOPBACK, port=self.port, **kwargs)
            try:
                controller.start()
            except OSError:
                if attempt == START_ATTEMPTS - 1:
                    raise
                continue
            self._controller = controller
            return self
        raise AssertionError("unreachable")

    def stop(self) -> None:
        self.hold.set()
        if self._controller is not None:
            self._controller.stop()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and self.login is not None
              and (auth_data.login.decode(), auth_data.password.decode()) == self.login)
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if not self.hold.is_set():
            self.holding.set()
            await server.loop.run_in_executor(None, self.hold.wait, HOLD_LIMIT_S)
        self.received.append(Received(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
            raw=envelope.original_content,
            # session.ssl is set by STARTTLS; a connection in TLS from the start shows on its transport.
            tls=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            authenticated=bool(session.authenticated)))
        return "250 Message accepted for delivery"


# GOV.UK Notify ---------------------------------------------------------------------------------

def notify_api_key(name: str = "kim-league-test") -> tuple[str, str, str]:
    """A key shaped as Notify issues them: name, service id, secret; and those two ids."""
    service_id, secret = str(uuid.uuid4()), str(uuid.uuid4())
    return f"{name}-{service_id}-{secret}", service_id, secret


@dataclass
class NotifyRequest:
    method: str
    path: str
    issuer: str
    body: dict


class NotifyStandIn:
    """POST /v2/notifications/email as GOV.UK Notify answers it.

    Requests whose JWT is not signed with the service's secret get Notify's 403; addresses in
    ``invalid`` get Notify's 400 for a bad email address; ``status`` forces every answer.
    """

    def __init__(self, service_id: str, secret: str) -> None:
        self.service_id, self.secret = service_id, secret
        self.requests: list[NotifyRequest] = []
        self.invalid: set[str] = set()
        self.status: int | None = None
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                stand_in._post(self)

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def start(self) -> "NotifyStandIn":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", 0))
        body = json.loads(handler.rfile.read(length) or b"{}")
        token = handler.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            issuer = get_token_issuer(token)
            decode_jwt_token(token, self.secret)
            if issuer != self.service_id:
                raise TokenError("Invalid token: service not found")
        except TokenError as exc:
            return _answer(handler, 403, _errors(403, "AuthError", exc.message))
        self.requests.append(NotifyRequest(handler.command, handler.path, issuer, body))
        if self.status is not None:
            return _answer(handler, self.status, _errors(self.status, "Exception", "Internal server error"))
        if handler.path != "/v2/notifications/email":
            return _answer(handler, 404, _errors(404, "NotFound", "Not found"))
        if body.get("email_address") in self.invalid:
            return _answer(handler, 400, _errors(400, "ValidationError",
                                                 "email_address Not a valid email address"))
        notification_id = str(uuid.uuid4())
        personalisation = body.get("personalisation", {})
        _answer(handler, 201, {
            "id": notification_id, "reference": body.get("reference"),
            "content": {"subject": personalisation.get("subject"), "body": personalisation.get("body"),
                        "from_email": "kim.league@notifications.service.gov.uk"},
            "uri": f"{self.url}/v2/notifications/{notification_id}",
            "template": {"id": body.get("template_id"), "version": 1,
                         "uri": f"{self.url}/v2/template/{body.get('template_id')}"},
        })


def _errors(status: int, error: str, message: str) -> dict:
    return {"status_code": status, "errors": [{"error": error, "message": message}]}


def _answer(handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(HTTPStatus(status))
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
