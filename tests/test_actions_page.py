"""Adopting an action on the directorate page, and seeing it there and on the team page (AppTest)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kim_metrics.domain.access import local_admin
from kim_metrics.services import actions as action_service
from kim_metrics.services import scores as score_service
from kim_metrics.storage.engine import make_engine
from tests.support.app import demo_db, writable_url  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from dashboard import PAGES  # noqa: E402  (the app's own table of pages)

pytestmark = pytest.mark.xdist_group("pages")
TIMEOUT = 60


def _open(page: str, query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(PAGES[page].path)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_adopting_an_action_on_the_directorate_page(writable_url):
    engine = make_engine(writable_url)
    teams = score_service.scored_round(engine, actor=local_admin()).teams
    directorate = teams[teams["returned"]].groupby("directorate")["score"].mean().idxmin()
    # The demo's directors have adopted actions of their own; the test's is the one it adds.
    before = set(action_service.list_actions(engine, actor=local_admin())["action_id"])
    at = _open("directorate", {"directorate": directorate})
    step = at.selectbox(key="adopt_step")
    chosen = step.options[0]
    at.text_input(key="adopt_owner").input("Owner.One@dept.gov.uk")
    at.text_area(key="adopt_note").input("Publish the convention on the intranet")
    next(b for b in at.button if b.label == "Adopt").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("adopted" in s.value for s in at.success), [e.value for e in at.error]

    adopted = action_service.list_actions(engine, actor=local_admin())
    adopted = adopted[~adopted["action_id"].isin(before)]
    assert len(adopted) == 1
    row = adopted.iloc[0]
    assert (row["directorate"], row["owner"], row["status"]) == (directorate, "owner.one@dept.gov.uk", "open")
    assert row["team"] in str(chosen)
    shown = [d.value for d in at.dataframe if "Owner" in d.value.columns]
    assert shown and "owner.one@dept.gov.uk" in shown[-1]["Owner"].tolist()

    team = _open("team", {"team": str(int(row["team_id"]))})
    listed = [d.value for d in team.dataframe if "Owner" in d.value.columns]
    assert listed and "Publish the convention on the intranet" in listed[0]["Note"].tolist()


def test_an_owner_that_is_not_an_email_is_refused_on_the_page(writable_url):
    engine = make_engine(writable_url)
    teams = score_service.scored_round(engine, actor=local_admin()).teams
    directorate = teams[teams["returned"]].groupby("directorate")["score"].mean().idxmin()
    before = len(action_service.list_actions(engine, actor=local_admin()))
    at = _open("directorate", {"directorate": directorate})
    at.text_input(key="adopt_owner").input("the head of unit")
    next(b for b in at.button if b.label == "Adopt").click().run()
    assert any("email address" in e.value for e in at.error)
    assert len(action_service.list_actions(engine, actor=local_admin())) == before


def test_the_league_page_lists_teams_without_a_return_with_their_information_managers(writable_url):
    from datetime import date, timedelta

    from kim_metrics.services import admin as admin_service
    from kim_metrics.services.reminders import missing_returns
    engine = make_engine(writable_url)
    latest = admin_service.round_calendar(engine).iloc[-1]["label"]
    admin_service.set_deadline(engine, latest, date.today() - timedelta(days=2), actor=local_admin())
    expected = missing_returns(engine, latest).teams
    assert len(expected) > 0
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(PAGES["league"].path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = next(d.value for d in at.dataframe if "Information managers" in d.value.columns)
    assert shown["Team"].tolist() == expected["team"].tolist()
    assert set(shown["Deadline"]) == {"2 days overdue"}
    assert shown["Information managers"].tolist() == expected["information_managers"].tolist()


def test_the_upload_page_says_a_round_is_closed(writable_url):
    from kim_metrics.services import admin as admin_service
    engine = make_engine(writable_url)
    latest = admin_service.round_calendar(engine).iloc[-1]["label"]
    admin_service.close_round(engine, latest, actor=local_admin())
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(PAGES["upload"].path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="upload_round").value == latest
    assert any(f"Round {latest} is closed" in w.value for w in at.warning)


def test_the_admin_page_sets_a_deadline_and_closes_a_round(writable_url):
    from datetime import date

    from kim_metrics.services import admin as admin_service
    engine = make_engine(writable_url)
    latest = admin_service.round_calendar(engine).iloc[-1]["label"]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(PAGES["admin"].path)
    at.run()
    assert at.selectbox(key="calendar_round").value == latest
    at.date_input(key="calendar_deadline").set_value(date(2031, 1, 14))
    next(b for b in at.button if b.label == "Set the deadline").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert admin_service.find_round(engine, latest).deadline == date(2031, 1, 14)
    next(b for b in at.button if b.label == "Close the round").click().run()
    assert admin_service.find_round(engine, latest).closed
    assert any("is closed" in s.value for s in at.success)
