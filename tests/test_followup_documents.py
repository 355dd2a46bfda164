"""Letters list each directorate's open and overdue actions with their owners; the board pack
counts overdue actions by directorate and lists the teams without a return with their
information managers and the days past the deadline."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from docx import Document
from pypdf import PdfReader

from kim_metrics.domain.access import local_admin
from kim_metrics.services import actions as action_service
from kim_metrics.services.documents import board_data, boardpack_pdf, directorate_letter, letter_data
from tests.support.loop import FULL_MARKS, ingest, load_org, open_round

TODAY = date.today()
LATER = TODAY + timedelta(days=5)
ROUND = "2026-Q3"


@pytest.fixture
def org(sqlite_engine, tmp_path):
    """Tax Policy and Estates returned; Trade Policy did not, and the deadline passed 3 days ago
    as at LATER. Tax Policy owns one action due today (overdue at LATER) and one due later."""
    load_org(sqlite_engine)
    open_round(sqlite_engine, ROUND, deadline=TODAY + timedelta(days=2))
    ingest(sqlite_engine, tmp_path, {"Tax Policy": {**FULL_MARKS, "naming": 1, "training": 40},
                                     "Estates": FULL_MARKS}, ROUND)
    action_service.adopt(sqlite_engine, team="Tax Policy", criterion="naming", owner="late.owner@dept.gov.uk",
                         due=TODAY, actor=local_admin())
    action_service.adopt(sqlite_engine, team="Tax Policy", criterion="training", owner="keen.owner@dept.gov.uk",
                         due=TODAY + timedelta(days=60), actor=local_admin())
    return sqlite_engine


def test_a_letter_lists_open_actions_with_owners_overdue_first(org):
    d = letter_data(org, ROUND, "Policy", LATER, actor=local_admin())
    assert [(a.owner, a.overdue) for a in d.tracked] == [("late.owner@dept.gov.uk", True),
                                                        ("keen.owner@dept.gov.uk", False)]
    text = "\n".join(p.text for p in Document(io.BytesIO(
        directorate_letter(org, ROUND, "Policy", "docx", LATER, actor=local_admin()))).paragraphs)
    assert "Actions your teams committed to" in text and "1 is overdue" in text
    assert "1 committed action past its due date" in text
    pdf = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(
        directorate_letter(org, ROUND, "Policy", "pdf", LATER, actor=local_admin()))).pages)
    # A narrow table column wraps an address across lines: compare without the line breaks.
    assert "late.owner@dept.gov.uk" in "".join(pdf.split()) and "overdue" in pdf
    assert letter_data(org, ROUND, "Corporate", LATER, actor=local_admin()).tracked == ()


def test_a_done_action_leaves_the_letter(org):
    first = action_service.list_actions(org, actor=local_admin()).iloc[0]
    action_service.set_status(org, int(first["action_id"]), "done", actor=local_admin())
    d = letter_data(org, ROUND, "Policy", LATER, actor=local_admin())
    assert [a.owner for a in d.tracked] == ["keen.owner@dept.gov.uk"]


def test_the_board_pack_counts_overdue_actions_and_lists_who_to_chase(org):
    b = board_data(org, ROUND, LATER, actor=local_admin())
    assert b.overdue_actions.to_dict("records") == [{"directorate": "Policy", "overdue": 1}]
    assert b.chase[["team", "information_managers", "when"]].to_dict("records") == [
        {"team": "Trade Policy", "information_managers": "im.trade@dept.gov.uk", "when": "3 days overdue"}]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(
        boardpack_pdf(org, ROUND, LATER, actor=local_admin()))).pages)
    assert "Overdue actions by directorate" in text
    assert "im.trade@dept.gov.uk" in "".join(text.split()) and "3 days overdue" in text


def test_a_letter_quotes_the_next_rounds_real_deadline_in_the_right_tense(org):
    from kim_metrics.reports.letters.wording import next_round_text
    open_round(org, "2026-Q4", deadline=date(2027, 1, 14))
    before = letter_data(org, ROUND, "Policy", date(2026, 9, 15), actor=local_admin())
    assert next_round_text(before) == ("The next round, 2026-Q4, starts on 1 October 2026. "
                                       "Returns for it are due by 14 January 2027.")
    after = letter_data(org, ROUND, "Policy", date(2027, 2, 1), actor=local_admin())
    assert next_round_text(after) == ("The next round, 2026-Q4, started on 1 October 2026. "
                                      "Returns for it were due by 14 January 2027.")
