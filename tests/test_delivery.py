"""Delivery by SMTP: what a real mail server on loopback receives, and what the database records.

The server is aiosmtpd, started by each test on 127.0.0.1; STARTTLS and implicit TLS use a
certificate authority made by the test (trustme).
"""

from __future__ import annotations

import io
import ssl
import threading
from collections.abc import Iterator

import pytest
import trustme
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from kim_metrics.delivery import (
    Attachment, DeliverySettings, Kind, Message, NotConfigured, delivery_settings, send,
    transport_from_settings,
)
from kim_metrics.delivery.notify import NotifyTransport
from kim_metrics.delivery.smtp import SmtpTransport
from kim_metrics.domain.errors import UsageError
from kim_metrics.domain.access import local_admin
from kim_metrics.reports.files import letter_file_name
from kim_metrics.services.documents import directorate_letter
from kim_metrics.storage import messages as store
from kim_metrics.storage.engine import write_transaction
from tests.support.hostile_demo import EVIL_DIRECTORATE, ROUND
from tests.support.mail import LOOPBACK, SmtpServer, free_port, notify_api_key

FROM = "KIM team <kim.team@dept.gov.uk>"
WAIT_S = 15  # the longest any test waits for a thread or a server to reach a point


def reminder(to: str, team: int = 42, stage: str = "due-soon", subject: str | None = None) -> Message:
    return Message(to=to, subject=subject or f"Reminder: team {team} has not sent its {ROUND} return",
                   body=f"Dear information manager,\n\nTeam {team}'s return is {stage}.\n\nKIM team",
                   kind=Kind.REMINDER, round_label=ROUND,
                   reason=f"reminder:{ROUND}:team:{team}:{stage}")


@pytest.fixture(scope="module")
def letter_pdf(hostile_demo) -> bytes:
    return directorate_letter(hostile_demo, ROUND, EVIL_DIRECTORATE, "pdf", actor=local_admin())


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(LOOPBACK).configure_cert(context)
    return context


def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def recorded(engine: Engine, **filters) -> list[dict]:
    with engine.connect() as conn:
        return store.sent_messages(conn, **filters).to_dict("records")


def statuses(report) -> list[str]:
    return [o.status.value for o in report.outcomes]


# What arrives ----------------------------------------------------------------------------------

def test_recipients_subjects_bodies_and_a_pdf_letter_arrive_intact(engine, smtp_server, letter_pdf):
    letter = Message(
        to="Director.Estates@Dept.gov.uk", subject=f"Your KIM league letter for {ROUND} – £0 cost, café",
        body="Dear director,\n\nYour directorate's letter is attached.\n\nKIM team\n",
        kind=Kind.LETTER, round_label=ROUND, reason=f"letter:{ROUND}:directorate:{EVIL_DIRECTORATE}",
        attachment=Attachment(letter_file_name(EVIL_DIRECTORATE, ROUND, "pdf"), letter_pdf))
    messages = [letter, reminder("im.one@dept.gov.uk", 1), reminder("im.two@dept.gov.uk", 2)]

    with SmtpTransport(f"smtp://{smtp_server.url_host}", FROM) as transport:
        report = send(messages, transport, engine)

    assert statuses(report) == ["sent"] * 3
    assert [r.rcpt_tos for r in smtp_server.received] == [["director.estates@dept.gov.uk"],
                                                          ["im.one@dept.gov.uk"], ["im.two@dept.gov.uk"]]
    assert {r.mail_from for r in smtp_server.received} == {"kim.team@dept.gov.uk"}
    for message, got in zip(messages, smtp_server.received):
        mail = got.email
        assert mail["Subject"] == message.subject
        assert mail["To"] == message.to
        assert mail["From"] == FROM
        assert mail.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == \
            message.body.rstrip("\n")

    attachments = list(smtp_server.received[0].email.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        (letter.attachment.file_name, "application/pdf")]
    pdf = attachments[0].get_content()
    assert pdf == letter_pdf
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert EVIL_DIRECTORATE in " ".join(p.extract_text() for p in pages).replace("\n", " ")
    assert list(smtp_server.received[1].email.iter_attachments()) == []

    rows = recorded(engine)
    assert [(r["recipient"], r["subject"], r["kind"], r["round"], r["reason"], r["transport"])
            for r in rows] == [(m.to, m.subject, m.kind.value, ROUND, m.reason, "smtp") for m in messages]
    # The provider id is the Message-ID the server received, so a record can be traced in mail logs.
    assert [r["provider_id"] for r in rows] == [got.email["Message-ID"] for got in smtp_server.received]
    assert all(r["sent_at"] is not None for r in rows)


# Never twice ------------------------------------------------------------------------------------

def test_the_same_send_run_twice_sends_each_message_once(engine, smtp_server):
    messages = [reminder("im.one@dept.gov.uk", 1), reminder("im.two@dept.gov.uk", 2)]
    with SmtpTransport(f"smtp://{smtp_server.url_host}", FROM) as transport:
        first = send(messages, transport, engine)
        second = send(messages, transport, engine)
        # A new stage for the same team, and the same reason to someone else, are new messages.
        third = send([reminder("im.one@dept.gov.uk", 1, "overdue"),
                      reminder("deputy@dept.gov.uk", 1),
                      reminder("deputy@dept.gov.uk", 1)], transport, engine)

    assert statuses(first) == ["sent", "sent"]
    assert statuses(second) == ["skipped", "skipped"]
    assert statuses(third) == ["sent", "sent", "skipped"]
    assert second.summary() == "2 skipped"
    assert [r.rcpt_tos[0] for r in smtp_server.received] == [
        "im.one@dept.gov.uk", "im.two@dept.gov.uk", "im.one@dept.gov.uk", "deputy@dept.gov.uk"]
    assert len(recorded(engine)) == 4


def test_the_unique_key_refuses_a_second_record_for_the_same_reason_and_recipient(engine):
    fields = dict(recipient="im@dept.gov.uk", subject="s", kind="reminder", round_label=ROUND,
                  reason=f"reminder:{ROUND}:team:7:due-soon", transport="smtp")
    with write_transaction(engine) as conn:
        store.claim(conn, **fields)
    with pytest.raises(IntegrityError):
        with write_transaction(engine) as conn:
            store.claim(conn, **fields)
    with write_transaction(engine) as conn:
        store.claim(conn, **{**fields, "recipient": "other@dept.gov.uk"})
    assert len(recorded(engine)) == 2


def _lock_waits(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                "AND query LIKE 'INSERT INTO message%'"))


def test_two_runs_at_once_send_the_same_message_once(engine, smtp_server):
    """The first run is held inside the mail server's DATA while the second tries the same message."""
    message = reminder("im.one@dept.gov.uk", 1)
    reports: dict[str, object] = {}

    def run(name: str) -> None:
        with SmtpTransport(f"smtp://{smtp_server.url_host}", FROM) as transport:
            reports[name] = send([message], transport, engine)

    smtp_server.hold.clear()
    first = threading.Thread(target=run, args=("first",))
    first.start()
    assert smtp_server.holding.wait(WAIT_S)
    second = threading.Thread(target=run, args=("second",))
    second.start()
    if engine.dialect.name == "postgresql":
        # The second run's insert must be waiting on the first run's key, not past it.
        waited = threading.Event()
        for _ in range(WAIT_S * 20):
            if _lock_waits(engine):
                waited.set()
                break
            waited.wait(0.05)
        assert waited.is_set()
    smtp_server.hold.set()
    first.join(WAIT_S)
    second.join(WAIT_S)

    assert not first.is_alive() and not second.is_alive()
    assert statuses(reports["first"]) == ["sent"]
    assert statuses(reports["second"]) == ["skipped"]
    assert len(smtp_server.received) == 1
    assert len(recorded(engine)) == 1


# Refusals and failures ---------------------------------------------------------------------------

def test_a_recipient_the_server_refuses_is_reported_and_not_recorded(engine, smtp_server):
    smtp_server.refuse.add("left.the.department@dept.gov.uk")
    messages = [reminder("im.one@dept.gov.uk", 1), reminder("left.the.department@dept.gov.uk", 2),
                reminder("im.three@dept.gov.uk", 3)]
    with SmtpTransport(f"smtp://{smtp_server.url_host}", FROM) as transport:
        report = send(messages, transport, engine)

    assert statuses(report) == ["sent", "failed", "sent"]
    refused = report.failed[0].detail
    assert "left.the.department@dept.gov.uk" in refused and "550" in refused
    assert [r["recipient"] for r in recorded(engine)] == ["im.one@dept.gov.uk", "im.three@dept.gov.uk"]
    assert [r.rcpt_tos for r in smtp_server.received] == [["im.one@dept.gov.uk"], ["im.three@dept.gov.uk"]]

    # Once the address works, the next run sends only the message that did not go.
    smtp_server.refuse.clear()
    with SmtpTransport(f"smtp://{smtp_server.url_host}", FROM) as transport:
        again = send(messages, transport, engine)
    assert statuses(again) == ["skipped", "sent", "skipped"]
    assert len(smtp_server.received) == 3


def test_an_address_that_is_not_one_fails_alone(engine, smtp_server):
    messages = [reminder("im.one@dept.gov.uk", 1), reminder("im.two@dept.gov.uk\nBcc: all@dept.gov.uk", 2),
                reminder("not an address", 3)]
    with SmtpTransport(f"smtp://{smtp_server.url_host}", FROM) as transport:
        report = send(messages, transport, engine)
    assert statuses(report) == ["sent", "failed", "failed"]
    assert "organisation workbook" in report.failed[1].detail
    assert len(smtp_server.received) == 1
    assert [r["recipient"] for r in recorded(engine)] == ["im.one@dept.gov.uk"]


def test_an_unreachable_server_fails_the_batch_without_recording_or_trying_the_rest(engine):
    messages = [reminder("im.one@dept.gov.uk", 1), reminder("im.two@dept.gov.uk", 2)]
    with SmtpTransport(f"smtp://{LOOPBACK}:{free_port()}", FROM) as transport:
        report = send(messages, transport, engine)
    assert statuses(report) == ["failed", "failed"]
    assert "Cannot reach the mail server" in report.outcomes[0].detail
    assert report.outcomes[1].detail.startswith("not tried: Cannot reach")
    assert recorded(engine) == []


# TLS and passwords --------------------------------------------------------------------------------

def test_starttls_and_login_against_a_server_with_its_own_certificate(engine, ca):
    server = SmtpServer(starttls=server_tls(ca), login=("kim@dept", "p@ss:word")).start()
    try:
        url = f"smtp://kim%40dept:p%40ss%3Aword@{server.url_host}"
        with SmtpTransport(url, FROM, ssl_context=client_tls(ca)) as transport:
            report = send([reminder("im.one@dept.gov.uk", 1)], transport, engine)
    finally:
        server.stop()
    assert statuses(report) == ["sent"]
    assert [(r.tls, r.authenticated) for r in server.received] == [(True, True)]
    assert server.logins == ["kim@dept"]


def test_a_certificate_nobody_vouches_for_is_refused_and_nothing_sent(engine, ca):
    server = SmtpServer(starttls=server_tls(ca)).start()
    try:
        # The system's authorities do not include the test's own.
        with SmtpTransport(f"smtp://{server.url_host}", FROM) as transport:
            report = send([reminder("im.one@dept.gov.uk", 1)], transport, engine)
    finally:
        server.stop()
    assert statuses(report) == ["failed"]
    assert "certificate" in report.outcomes[0].detail
    assert server.received == [] and recorded(engine) == []


def test_a_password_is_never_sent_to_a_server_without_starttls(engine, smtp_server):
    with SmtpTransport(f"smtp://kim:secret@{smtp_server.url_host}", FROM) as transport:
        report = send([reminder("im.one@dept.gov.uk", 1)], transport, engine)
    assert statuses(report) == ["failed"]
    assert "does not offer STARTTLS" in report.outcomes[0].detail
    assert smtp_server.received == [] and recorded(engine) == []


def test_smtps_speaks_tls_from_the_first_byte(engine, ca):
    server = SmtpServer(implicit_tls=server_tls(ca)).start()
    try:
        with SmtpTransport(f"smtps://{server.url_host}", FROM, ssl_context=client_tls(ca)) as transport:
            report = send([reminder("im.one@dept.gov.uk", 1)], transport, engine)
    finally:
        server.stop()
    assert statuses(report) == ["sent"]
    assert [r.tls for r in server.received] == [True]


# Dry run ------------------------------------------------------------------------------------------

def test_a_dry_run_needs_no_mail_service_and_sends_and_records_nothing(engine, smtp_server):
    with SmtpTransport(f"smtp://{smtp_server.url_host}", FROM) as transport:
        send([reminder("im.one@dept.gov.uk", 1)], transport, engine)
    before = recorded(engine)

    report = send([reminder("im.one@dept.gov.uk", 1), reminder("im.two@dept.gov.uk", 2)], None, engine,
                  dry_run=True)

    assert statuses(report) == ["skipped", "would send"]
    assert report.rows()[1] == {"to": "im.two@dept.gov.uk", "subject": reminder("x@y.z", 2).subject,
                                "kind": "reminder", "round": ROUND, "status": "would send", "detail": ""}
    assert len(smtp_server.received) == 1
    assert recorded(engine) == before


def test_sending_for_real_needs_a_transport(engine):
    with pytest.raises(UsageError):
        send([reminder("im.one@dept.gov.uk", 1)], None, engine)


# Settings -----------------------------------------------------------------------------------------

def test_with_no_mail_service_set_the_error_names_every_variable_to_set():
    with pytest.raises(NotConfigured) as raised:
        transport_from_settings(delivery_settings({}))
    said = str(raised.value)
    for variable in ["KIM_SMTP_URL", "KIM_MAIL_FROM", "KIM_NOTIFY_API_KEY", "KIM_NOTIFY_TEMPLATE_REMINDER",
                     "KIM_NOTIFY_TEMPLATE_LETTER", "KIM_NOTIFY_TEMPLATE_BOARDPACK",
                     "KIM_NOTIFY_TEMPLATE_ACTION_OVERDUE", "--dry-run"]:
        assert variable in said


@pytest.mark.parametrize("environ, named", [
    ({"KIM_SMTP_URL": "smtp://mail.dept.gov.uk"}, "KIM_MAIL_FROM"),
    ({"KIM_SMTP_URL": "smtp://mail.dept.gov.uk", "KIM_MAIL_FROM": "kim team"}, "KIM_MAIL_FROM"),
    ({"KIM_SMTP_URL": "http://mail.dept.gov.uk", "KIM_MAIL_FROM": FROM}, "KIM_SMTP_URL"),
    ({"KIM_SMTP_URL": "smtp://mail.dept.gov.uk:99999", "KIM_MAIL_FROM": FROM}, "KIM_SMTP_URL"),
    ({"KIM_SMTP_URL": "smtp://mail.dept.gov.uk", "KIM_MAIL_FROM": FROM,
      "KIM_NOTIFY_API_KEY": notify_api_key()[0]}, "Unset the one"),
    ({"KIM_NOTIFY_API_KEY": "kim-not-a-key"}, "KIM_NOTIFY_API_KEY"),
    ({"KIM_NOTIFY_API_KEY": notify_api_key()[0], "KIM_NOTIFY_TEMPLATE_LETTER": "letter"},
     "KIM_NOTIFY_TEMPLATE_LETTER"),
])
def test_incomplete_or_malformed_settings_say_which_variable_to_fix(environ, named):
    with pytest.raises(NotConfigured) as raised:
        transport_from_settings(delivery_settings(environ))
    assert named in str(raised.value)


def test_a_malformed_notify_key_is_never_quoted_back():
    key = "kim-league-" + "s3cr3t" * 12
    with pytest.raises(NotConfigured) as raised:
        transport_from_settings(DeliverySettings(notify_api_key=key))
    assert "s3cr3t" not in str(raised.value)


def test_settings_choose_the_service_they_describe():
    smtp = transport_from_settings(delivery_settings({
        "KIM_SMTP_URL": "smtps://kim:secret@mail.dept.gov.uk", "KIM_MAIL_FROM": FROM, "KIM_NOTIFY_API_KEY": " "}))
    assert isinstance(smtp, SmtpTransport) and (smtp.host, smtp.port) == ("mail.dept.gov.uk", 465)
    assert transport_from_settings(delivery_settings({
        "KIM_SMTP_URL": "smtp://mail.dept.gov.uk:587", "KIM_MAIL_FROM": FROM})).port == 587

    key = notify_api_key()[0]
    settings = delivery_settings({"KIM_NOTIFY_API_KEY": key,
                                  "KIM_NOTIFY_TEMPLATE_REMINDER": "f33517ff-2a88-4f6e-b855-c550268ce08a",
                                  "KIM_NOTIFY_TEMPLATE_LETTER": ""})
    assert settings.notify_templates == {Kind.REMINDER: "f33517ff-2a88-4f6e-b855-c550268ce08a"}
    assert isinstance(transport_from_settings(settings), NotifyTransport)
    assert key not in repr(settings)
    assert "secret" not in repr(delivery_settings({"KIM_SMTP_URL": "smtp://kim:secret@mail.dept.gov.uk"}))
