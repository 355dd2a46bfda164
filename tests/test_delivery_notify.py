"""Delivery by GOV.UK Notify, through Notify's own client library, to a stand-in on loopback.

GOV.UK Notify is off this machine, so ``NotifyStandIn`` answers as Notify's API does
(POST /v2/notifications/email, with the request's JWT checked as Notify checks it) and keeps
every request for the test to read.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import pytest
from pypdf import PdfReader
from sqlalchemy.engine import Engine

from kim_metrics.delivery import Attachment, Kind, Message, send
from kim_metrics.delivery.notify import NotifyTransport
from kim_metrics.domain.access import local_admin
from kim_metrics.reports.files import letter_file_name
from kim_metrics.services.documents import directorate_letter
from kim_metrics.storage import messages as store
from tests.support.hostile_demo import EVIL_DIRECTORATE, ROUND
from tests.support.mail import NotifyStandIn, notify_api_key

TEMPLATES = {Kind.REMINDER: "0b8f4c4e-7d0a-4a52-9a3f-3f3c0f1c2a01",
             Kind.LETTER: "1c9a5d5f-8e1b-4b63-8b4e-4e4d1e2d3b02",
             Kind.BOARDPACK: "2d0b6e6a-9f2c-4c74-9c5f-5f5e2f3e4c03"}


@pytest.fixture
def notify() -> Iterator[tuple[NotifyStandIn, str]]:
    key, service_id, secret = notify_api_key()
    stand_in = NotifyStandIn(service_id, secret).start()
    yield stand_in, key
    stand_in.stop()


@pytest.fixture(scope="module")
def letter_pdf(hostile_demo) -> bytes:
    return directorate_letter(hostile_demo, ROUND, EVIL_DIRECTORATE, "pdf", actor=local_admin())


def transport(notify: tuple[NotifyStandIn, str], key: str | None = None) -> NotifyTransport:
    stand_in, right_key = notify
    return NotifyTransport(key or right_key, TEMPLATES, base_url=stand_in.url)


def reminder(to: str, team: int) -> Message:
    return Message(to=to, subject=f"Reminder: team {team}'s {ROUND} return is due on 30 September",
                   body=f"Dear information manager,\n\nTeam {team} has not sent its return.",
                   kind=Kind.REMINDER, round_label=ROUND, reason=f"reminder:{ROUND}:team:{team}:due-soon")


def letter(to: str, pdf: bytes) -> Message:
    return Message(to=to, subject=f"Your KIM league letter for {ROUND}",
                   body="Dear director,\n\nYour letter is at the link below.", kind=Kind.LETTER,
                   round_label=ROUND, reason=f"letter:{ROUND}:directorate:{EVIL_DIRECTORATE}",
                   attachment=Attachment(letter_file_name(EVIL_DIRECTORATE, ROUND, "pdf"), pdf))


def recorded(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return store.sent_messages(conn).to_dict("records")


def statuses(report) -> list[str]:
    return [o.status.value for o in report.outcomes]


def test_notify_receives_the_address_template_personalisation_and_file(engine, notify, letter_pdf):
    stand_in, _ = notify
    messages = [reminder("IM.One@dept.gov.uk", 1), letter("director@dept.gov.uk", letter_pdf)]
    with transport(notify) as t:
        report = send(messages, t, engine)

    assert statuses(report) == ["sent", "sent"]
    assert [(r.method, r.path) for r in stand_in.requests] == [("POST", "/v2/notifications/email")] * 2
    assert {r.issuer for r in stand_in.requests} == {stand_in.service_id}  # the JWT named our service
    first, second = (r.body for r in stand_in.requests)
    assert first == {"email_address": "im.one@dept.gov.uk", "template_id": TEMPLATES[Kind.REMINDER],
                     "reference": f"reminder:{ROUND}:team:1:due-soon",
                     "personalisation": {"subject": messages[0].subject, "body": messages[0].body}}
    assert (second["email_address"], second["template_id"]) == ("director@dept.gov.uk", TEMPLATES[Kind.LETTER])
    assert set(second["personalisation"]) == {"subject", "body", "link_to_file"}
    upload = second["personalisation"]["link_to_file"]
    assert upload["filename"] == messages[1].attachment.file_name
    pdf = base64.b64decode(upload["file"])
    assert pdf == letter_pdf
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", " ")
    assert EVIL_DIRECTORATE in text

    rows = recorded(engine)
    assert [(r["recipient"], r["kind"], r["reason"], r["transport"]) for r in rows] == [
        (m.to, m.kind.value, m.reason, "notify") for m in messages]
    assert [r["provider_id"] for r in rows] == [o.provider_id for o in report.outcomes]
    assert all(len(r["provider_id"]) == 36 for r in rows)  # Notify's notification ids


def test_the_same_send_run_twice_reaches_notify_once(engine, notify):
    stand_in, _ = notify
    messages = [reminder("im.one@dept.gov.uk", 1), reminder("im.two@dept.gov.uk", 2)]
    with transport(notify) as t:
        first = send(messages, t, engine)
        second = send(messages, t, engine)
    assert statuses(first) == ["sent", "sent"]
    assert statuses(second) == ["skipped", "skipped"]
    assert len(stand_in.requests) == 2
    assert len(recorded(engine)) == 2


def test_an_address_notify_refuses_is_reported_in_notifys_words_and_not_recorded(engine, notify):
    stand_in, _ = notify
    stand_in.invalid.add("im.two@dept.gov.uk")
    messages = [reminder("im.one@dept.gov.uk", 1), reminder("im.two@dept.gov.uk", 2),
                reminder("im.three@dept.gov.uk", 3)]
    with transport(notify) as t:
        report = send(messages, t, engine)
    assert statuses(report) == ["sent", "failed", "sent"]
    assert "im.two@dept.gov.uk" in report.failed[0].detail
    assert "Not a valid email address" in report.failed[0].detail
    assert [r["recipient"] for r in recorded(engine)] == ["im.one@dept.gov.uk", "im.three@dept.gov.uk"]


def test_a_key_notify_does_not_know_stops_the_batch_and_records_nothing(engine, notify):
    stand_in, _ = notify
    wrong_key = notify_api_key()[0]
    with transport(notify, wrong_key) as t:
        report = send([reminder("im.one@dept.gov.uk", 1), reminder("im.two@dept.gov.uk", 2)], t, engine)
    assert statuses(report) == ["failed", "failed"]
    assert "KIM_NOTIFY_API_KEY" in report.outcomes[0].detail
    assert report.outcomes[1].detail.startswith("not tried:")
    assert stand_in.requests == [] and recorded(engine) == []


def test_notify_failing_stops_the_batch_and_what_was_sent_stays_recorded(engine, notify):
    stand_in, _ = notify
    with transport(notify) as t:
        send([reminder("im.one@dept.gov.uk", 1)], t, engine)
        stand_in.status = 500
        report = send([reminder("im.two@dept.gov.uk", 2), reminder("im.three@dept.gov.uk", 3)], t, engine)
    assert statuses(report) == ["failed", "failed"]
    assert "500" in report.outcomes[0].detail and "not tried" in report.outcomes[1].detail
    assert len(stand_in.requests) == 2  # the first batch's message, then the one that failed
    assert [r["recipient"] for r in recorded(engine)] == ["im.one@dept.gov.uk"]


def test_a_kind_without_a_template_fails_alone_and_names_the_variable(engine, notify):
    stand_in, _ = notify
    overdue = Message(to="owner@dept.gov.uk", subject="Action overdue", body="Your action is overdue.",
                      kind=Kind.ACTION_OVERDUE, round_label=ROUND, reason="action:17:overdue")
    with transport(notify) as t:
        report = send([overdue, reminder("im.one@dept.gov.uk", 1)], t, engine)
    assert statuses(report) == ["failed", "sent"]
    assert "KIM_NOTIFY_TEMPLATE_ACTION_OVERDUE" in report.outcomes[0].detail
    assert [r.body["template_id"] for r in stand_in.requests] == [TEMPLATES[Kind.REMINDER]]


def test_a_file_over_notifys_limit_is_refused_before_it_is_sent(engine, notify):
    stand_in, _ = notify
    big = letter("director@dept.gov.uk", b"%PDF-1.4\n" + b"0" * (2 * 2**20))
    with transport(notify) as t:
        report = send([big], t, engine)
    assert statuses(report) == ["failed"]
    assert "2 MB" in report.outcomes[0].detail
    assert stand_in.requests == [] and recorded(engine) == []
