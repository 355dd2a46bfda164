"""Sending through the department's own mail server, with the standard library's smtplib.

``KIM_SMTP_URL`` is ``smtp://[user:password@]host[:port]`` (STARTTLS whenever the server
offers it) or ``smtps://...`` (TLS from the first byte, usually port 465). Certificates are
checked against the system's trusted authorities; a department with its own authority points
``SSL_CERT_FILE`` at it. A password is never sent over a connection that is not encrypted.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from kim_metrics.delivery.message import Message
from kim_metrics.delivery.settings import MAIL_FROM, SMTP_URL
from kim_metrics.delivery.transport import MessageRefused, NotConfigured, ServiceUnavailable, Transport

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
# Each message is handed over inside a database transaction (see sending.py); a mail server
# that stops answering must give up well before SQLite's 30 s busy timeout, so that a return
# being saved at the same moment is not turned away.
TIMEOUT_S = 20


class SmtpTransport(Transport):
    name = "smtp"

    def __init__(self, url: str, mail_from: str, *, ssl_context: ssl.SSLContext | None = None,
                 timeout: float = TIMEOUT_S) -> None:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise NotConfigured(f"{SMTP_URL} must look like smtp://user:password@host:587 or "
                                "smtps://user:password@host:465; the one set is not of that form.")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise NotConfigured(f"{SMTP_URL} has a port that is not a number from 1 to 65535.") from None
        self.host, self.port = parts.hostname, port
        self._implicit_tls = parts.scheme == "smtps"
        # Percent-decoded, so a password holding ':' or '@' can be written %3A, %40.
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password or "")
        self._mail_from = mail_from
        self._envelope_from = parseaddr(mail_from)[1]
        self._ssl = ssl_context or ssl.create_default_context()
        self._timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"the mail server {self.host}:{self.port}"

    def deliver(self, message: Message) -> str | None:
        email = self._email(message)
        smtp = self._connection()
        try:
            smtp.send_message(email, from_addr=self._envelope_from, to_addrs=[message.to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise MessageRefused(f"{self.where} refused {message.to} ({code} {_text(reply)}). Check the "
                                 "address in the organisation workbook.") from None
        except smtplib.SMTPSenderRefused as exc:
            raise ServiceUnavailable(f"{self.where} refused to send from {self._envelope_from} "
                                     f"({exc.smtp_code} {_text(exc.smtp_error)}). Set {MAIL_FROM} to an "
                                     "address this server lets you send from.") from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:  # about this message (too large, content refused)
                raise MessageRefused(f"{self.where} refused the message to {message.to} "
                                     f"({exc.smtp_code} {_text(exc.smtp_error)}).") from None
            self._drop()
            raise ServiceUnavailable(f"{self.where} cannot take messages now ({exc.smtp_code} "
                                     f"{_text(exc.smtp_error)}). Try again later.") from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise ServiceUnavailable(f"The connection to {self.where} failed while sending to "
                                     f"{message.to} ({exc}). Try again later.") from None
        return email["Message-ID"]

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass  # already gone; nothing is lost
            self._drop()

    def _email(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._mail_from
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=True)
        email["Message-ID"] = make_msgid(domain=self._envelope_from.rpartition("@")[2])
        email.set_content(message.body)
        if message.attachment is not None:
            maintype, _, subtype = message.attachment.content_type.partition("/")
            email.add_attachment(message.attachment.content, maintype=maintype, subtype=subtype,
                                 filename=message.attachment.file_name)
        return email

    def _connection(self) -> smtplib.SMTP:
        """The open connection, or a new one when there is none or the server has dropped it."""
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP | None = None
        try:
            if self._implicit_tls:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self._timeout, context=self._ssl)
                smtp.ehlo()
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=self._ssl)
                    smtp.ehlo()
                elif self._user:
                    raise ServiceUnavailable(
                        f"{self.where} does not offer STARTTLS, so the password in {SMTP_URL} would "
                        "cross the network unencrypted; nothing was sent. Use the server's TLS port "
                        "(smtps://...:465) or a server that offers STARTTLS.")
            if self._user:
                smtp.login(self._user, self._password)
            return smtp
        except ServiceUnavailable:
            _quit(smtp)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _quit(smtp)
            raise ServiceUnavailable(f"{self.where} refused the user name and password in {SMTP_URL} "
                                     f"({exc.smtp_code} {_text(exc.smtp_error)}). Check them.") from None
        except ssl.SSLCertVerificationError as exc:
            _quit(smtp)
            raise ServiceUnavailable(f"{self.where} offered a certificate that could not be trusted "
                                     f"({exc.verify_message}). Check the host name in {SMTP_URL}, or "
                                     "point SSL_CERT_FILE at the department's certificate authority.") from None
        except (smtplib.SMTPException, OSError) as exc:
            _quit(smtp)
            raise ServiceUnavailable(f"Cannot reach {self.where} ({exc}). Check {SMTP_URL} and that the "
                                     "server is running.") from None

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            except OSError:
                pass
        self._smtp = None


def _quit(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
