"""Addresses people can share: team and directorate pages open with their selection from
the address, the address follows what is shown, and "/?team=120" opens the team page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from kim_metrics.services import admin as admin_service
from kim_metrics.storage.engine import make_engine

from .support.app import APP, TIMEOUT, demo_db, demo_url, unescape  # noqa: F401

pytestmark = pytest.mark.xdist_group("pages")


def _org(url: str):
    engine = make_engine(url)
    try:
        return admin_service.organisation(engine)
    finally:
        engine.dispose()


def _opened(query: dict, role: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if role:
        at.session_state["role"] = role
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_root_address_with_a_team_opens_the_team_page(demo_url):
    team = _org(demo_url).iloc[5]
    at = _opened({"team": str(int(team["team_id"]))})
    assert at.title[0].value == "Team detail"
    assert unescape(at.header[0].value) == team["team"]


def test_team_address_carries_the_round_both_ways(demo_url):
    team = _org(demo_url).iloc[3]
    at = _opened({"team": str(int(team["team_id"])), "round": "2026-Q1"})
    assert at.title[0].value == "Team detail"
    assert at.selectbox(key="team_round").value == "2026-Q1"
    at.selectbox(key="team_round").set_value("2026-Q2").run()
    assert at.query_params["round"] in ("2026-Q2", ["2026-Q2"])
    assert at.query_params["team"] in (str(int(team["team_id"])), [str(int(team["team_id"]))])
    other = _org(demo_url).iloc[7]
    at.selectbox(key="team_choice").set_value(int(other["team_id"])).run()
    assert at.query_params["team"] in (str(int(other["team_id"])), [str(int(other["team_id"]))])


def test_directorate_address_opens_it_in_the_round_named(demo_url):
    org = _org(demo_url)
    directorate = sorted(org["directorate"].unique())[4]
    at = _opened({"directorate": directorate, "round": "2026-Q2"}, role="executive")
    assert at.title[0].value == "My directorate"
    assert at.selectbox(key="directorate_choice").value == directorate
    assert at.selectbox(key="directorate_round").value == "2026-Q2"
    at.selectbox(key="directorate_round").set_value("2026-Q1").run()
    assert at.query_params["round"] in ("2026-Q1", ["2026-Q1"])
    assert at.query_params["directorate"] in (directorate, [directorate])


def test_a_link_back_to_the_first_team_after_picking_another_opens_it(demo_url):
    org = _org(demo_url)
    first, other = str(int(org.iloc[2]["team_id"])), int(org.iloc[9]["team_id"])
    at = _opened({"team": first})
    at.selectbox(key="team_choice").set_value(other).run()
    at.query_params["team"] = first              # the league sends the person back to the first
    at.run()
    assert at.selectbox(key="team_choice").value == int(first)
