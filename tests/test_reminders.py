"""Reminders and documents by email, read back from a real SMTP server on loopback (aiosmtpd):
who is reminded and when, never twice, dry runs, letters as PDF attachments and the board pack."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from kim_metrics.cli import main
from kim_metrics.delivery.smtp import SmtpTransport
from kim_metrics.domain.access import local_admin
from kim_metrics.domain.errors import PermissionDenied
from kim_metrics.services import actions as action_service
from kim_metrics.services import admin as admin_service
from kim_metrics.services.common import resolve_actor
from kim_metrics.services.reminders import missing_returns, send_reminders
from kim_metrics.storage import messages as message_store
from tests.support.loop import (DIRECTOR, FULL_MARKS, IM_ESTATES, OTHER_DIRECTOR, ingest, load_org,
                                open_round)
from tests.support.mail import SmtpServer

FROM = "KIM team <kim.team@dept.gov.uk>"
TODAY = date.today()
ROUND = "2026-Q3"
IM_TRADE = "im.trade@dept.gov.uk"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def org(sqlite_engine, tmp_path):
    """Returns due in 3 days; Tax Policy returned, Trade Policy and Estates have not. Tax
    Policy's one action is due today."""
    load_org(sqlite_engine)
    open_round(sqlite_engine, ROUND, deadline=TODAY + timedelta(days=3))
    ingest(sqlite_engine, tmp_path, {"Tax Policy": {**FULL_MARKS, "naming": 1}}, ROUND)
    action_service.adopt(sqlite_engine, team="Tax Policy", criterion="naming", owner="owner@dept.gov.uk",
                         due=TODAY, actor=local_admin())
    return sqlite_engine


def _send(engine, server, today, dry_run=False):
    with SmtpTransport(f"smtp://{server.url_host}", FROM) as transport:
        return send_reminders(engine, ROUND, actor=local_admin(), transport=transport, today=today,
                              dry_run=dry_run)


def _subject(received) -> str:
    # Python's email package folds a long subject straight after "Subject:", and the parser
    # keeps the fold's leading space; mail clients show it trimmed.
    return str(received.email["Subject"]).strip()


def _arrived(server) -> list[tuple[str, str]]:
    return sorted((r.rcpt_tos[0], _subject(r)) for r in server.received)


def test_missing_returns_give_information_managers_and_days_to_the_deadline(org):
    missing = missing_returns(org, ROUND, today=TODAY).teams
    assert missing[["team", "information_managers", "days"]].to_dict("records") == [
        {"team": "Estates", "information_managers": IM_ESTATES, "days": 3},
        {"team": "Trade Policy", "information_managers": IM_TRADE, "days": 3}]
    assert set(missing_returns(org, ROUND, today=TODAY + timedelta(days=5)).teams["days"]) == {-2}


def test_nobody_is_reminded_a_week_before_the_due_soon_window(org, smtp_server):
    report = _send(org, smtp_server, TODAY - timedelta(days=5))
    assert report.outcomes == [] and smtp_server.received == []


def test_due_soon_then_overdue_each_sent_once(org, smtp_server):
    report = _send(org, smtp_server, TODAY)
    assert len(report.sent) == 2
    assert _arrived(smtp_server) == [
        (IM_ESTATES, f"Reminder: Estates's KIM return for {ROUND} is due by "
                     f"{(TODAY + timedelta(days=3)).day} {TODAY + timedelta(days=3):%B %Y}"),
        (IM_TRADE, f"Reminder: Trade Policy's KIM return for {ROUND} is due by "
                   f"{(TODAY + timedelta(days=3)).day} {TODAY + timedelta(days=3):%B %Y}")]
    assert "due in 3 days" in smtp_server.received[0].email.get_content()

    again = _send(org, smtp_server, TODAY)
    assert len(again.sent) == 0 and len(again.skipped) == 2 and len(smtp_server.received) == 2

    # After the deadline: the overdue stage is new, and so is the overdue action.
    after = _send(org, smtp_server, TODAY + timedelta(days=4))
    assert sorted(o.message.to for o in after.sent) == [IM_ESTATES, IM_TRADE, "owner@dept.gov.uk"]
    subjects = [_subject(r) for r in smtp_server.received[2:]]
    assert sum(s.startswith("Overdue: ") for s in subjects) == 2
    assert any(s.startswith("Overdue KIM action: Tax Policy") for s in subjects)
    assert len(_send(org, smtp_server, TODAY + timedelta(days=5)).sent) == 0
    with org.connect() as conn:
        log = message_store.sent_messages(conn, round_label=ROUND)
    assert len(log) == 5 and set(log["kind"]) == {"reminder", "action_overdue"}


def test_a_return_or_a_closed_round_stops_return_reminders(org, smtp_server, tmp_path):
    ingest(org, tmp_path, {"Estates": FULL_MARKS}, ROUND, name="estates.csv")
    assert [o.message.to for o in _send(org, smtp_server, TODAY).sent] == [IM_TRADE]
    admin_service.close_round(org, ROUND, actor=local_admin())
    assert [o.message.to for o in _send(org, smtp_server, TODAY + timedelta(days=4)).sent] == [
        "owner@dept.gov.uk"]


def test_a_dry_run_lists_recipients_and_sends_nothing(org, smtp_server):
    report = send_reminders(org, ROUND, actor=local_admin(), dry_run=True, today=TODAY)
    assert sorted(r["to"] for r in report.rows()) == [IM_ESTATES, IM_TRADE]
    assert {r["status"] for r in report.rows()} == {"would send"}
    assert smtp_server.received == []
    with org.connect() as conn:
        assert message_store.sent_messages(conn).empty
    with pytest.raises(PermissionDenied):
        send_reminders(org, ROUND, actor=DIRECTOR, dry_run=True)


def test_cli_remind_dry_run_letters_and_boardpack_by_email(org, smtp_server, monkeypatch, capsys):
    url = org.url.render_as_string(hide_password=False)
    assert main(["--db", url, "remind", "--round", ROUND, "--dry-run"]) == 0
    out = capsys.readouterr()
    assert IM_TRADE in out.out and "would send" in out.out and "Dry run" in out.err
    assert smtp_server.received == []

    monkeypatch.setenv("KIM_SMTP_URL", f"smtp://{smtp_server.url_host}")
    monkeypatch.setenv("KIM_MAIL_FROM", FROM)
    monkeypatch.delenv("KIM_NOTIFY_API_KEY", raising=False)
    assert main(["--db", url, "letters", "--round", ROUND, "--send"]) == 0
    letters = {r.rcpt_tos[0]: r.email for r in smtp_server.received}
    assert set(letters) == {DIRECTOR, OTHER_DIRECTOR}
    for director, directorate in ((DIRECTOR, "Policy"), (OTHER_DIRECTOR, "Corporate")):
        message = letters[director]
        assert str(message["Subject"]).strip() == f"KIM league {ROUND}: results for {directorate}"
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        pdf = PdfReader(io.BytesIO(attachment.get_content()))
        assert directorate in pdf.pages[0].extract_text()
    assert main(["--db", url, "letters", "--round", ROUND, "--send"]) == 0
    assert len(smtp_server.received) == 2 and "2 skipped" in capsys.readouterr().err

    assert main(["--db", url, "boardpack", "--round", ROUND, "--send", "board@dept.gov.uk"]) == 0
    board = smtp_server.received[-1]
    assert board.rcpt_tos == ["board@dept.gov.uk"]
    (attachment,) = list(board.email.iter_attachments())
    assert "board pack" in PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text().lower()

    assert main(["--db", url, "remind", "--round", ROUND]) == 0
    assert {r.rcpt_tos[0] for r in smtp_server.received[3:]} == {IM_ESTATES, IM_TRADE}


def test_information_managers_emails_are_shown_only_within_the_readers_scope(org):
    for reader, seen in ((local_admin(), {IM_ESTATES, IM_TRADE}), (DIRECTOR, {IM_TRADE}),
                         ("viewer@dept.gov.uk", set())):
        teams = missing_returns(org, ROUND, today=TODAY, actor=resolve_actor(org, reader)).teams
        assert len(teams) == 2
        assert set(teams["information_managers"]) - {""} == seen
