"""The Information Management Assessment page through Streamlit's AppTest, role by role."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kim_metrics.domain.ima import ACTION_LABELS, CLOSED, DELIVERED, IN_PROGRESS, NOT_STARTED
from kim_metrics.services import ima
from kim_metrics.services.demo_ima import IMA, REVIEW, load_demo_ima
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.schema import ensure_schema
from tests.support.app import private_copy

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from dashboard import PAGES, ROLES  # noqa: E402

pytestmark = pytest.mark.xdist_group("pages")
TIMEOUT = 60
TITLE = "Information Management Assessment"


@pytest.fixture(scope="module")
def ima_db(tmp_path_factory) -> Path:
    """A database holding the demo's IMA record (the league is not needed here)."""
    path = tmp_path_factory.mktemp("ima-page") / "kim.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    load_demo_ima(engine)
    engine.dispose()
    return path


@pytest.fixture
def url(ima_db, tmp_path, monkeypatch) -> str:
    """A private copy, since some tests save."""
    return private_copy(ima_db, tmp_path, monkeypatch)


def open_ima(role: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.session_state["role"] = role
    at.run()
    at.switch_page(PAGES["ima"].path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def subheaders(at) -> list[str]:
    return [s.value for s in at.subheader]


@pytest.mark.parametrize("role", ["admin", "executive", "director"])
def test_readers_see_ratings_comparison_plan_and_next_steps(url, role):
    at = open_ima(role)
    assert at.title[0].value == TITLE and not at.error
    engine = make_engine(url)
    rec = ima.record(engine)
    grid = at.table[0].value
    expected = ima.ratings_grid(rec).fillna("Not rated")
    assert grid[["Area", "Sub-area", IMA, REVIEW]].values.tolist() == expected.values.tolist()
    assert {"Ratings over time", "Compare two assessments", "Next steps",
            "Recommendations and action plan"} <= set(subheaders(at))
    compared = at.table[1].value
    assert list(compared.columns) == ["Area", "Sub-area", f"A: {IMA}", f"B: {REVIEW}", "Change"]
    assert (compared["Change"] == "▲ improved").sum() == 4
    plan = at.dataframe[0].value
    assert len(plan) == 18 and set(plan["Status"]) == set(ACTION_LABELS.values())
    steps = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert len(steps) == len(ima.next_steps(rec)) == 6
    editing = "Update an action (KIM team)" in subheaders(at)
    assert editing is (role == "admin")
    assert any(b.label == "Save" for b in at.button) is (role == "admin")


@pytest.mark.parametrize("role", ["information_manager", "viewer"])
def test_others_are_not_offered_the_page(url, role):
    assert "ima" not in ROLES[role].pages
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.session_state["role"] = role
    at.run()
    # The page is not registered for the role, so Streamlit cannot find it to switch to.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGES["ima"].path).run()


def test_the_page_opened_by_address_still_refuses(url):
    at = AppTest.from_file(str(ROOT / "pages" / "ima.py"), default_timeout=TIMEOUT)
    at.session_state["role"] = "viewer"
    at.run()
    assert any("You do not have access to Information Management Assessment" in e.value for e in at.error)
    assert not at.table


def test_comparing_any_two_assessments(url):
    at = open_ima("executive")
    at.selectbox(key="ima_first").set_value(REVIEW).run()
    at.selectbox(key="ima_second").set_value(IMA).run()
    compared = at.table[1].value
    assert list(compared.columns)[2:4] == [f"A: {REVIEW}", f"B: {IMA}"]
    assert (compared["Change"] == "▼ declined").sum() == 4
    assert (compared["Change"] == "= same").sum() == 6


def test_admin_updates_an_action_and_signs_off_its_closure(url):
    engine = make_engine(url)
    plan = ima.actions(engine)
    started = int(plan[plan["status"] == NOT_STARTED]["action_id"].iloc[0])
    at = open_ima("admin")
    at.selectbox(key="ima_action").set_value(started).run()
    at.selectbox[-1].set_value(DELIVERED)
    at.text_area[0].set_value("Delivered in the spring.")
    form_submit = next(b for b in at.button if b.label == "Save")
    form_submit.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    row = ima.actions(engine).set_index("action_id").loc[started]
    assert (row["status"], row["commentary"]) == (DELIVERED, "Delivered in the spring.")
    at.selectbox(key="ima_action").set_value(started).run()
    at.button(key=f"ima_sign_{started}").click().run()
    assert not at.exception and not at.error
    row = ima.actions(engine).set_index("action_id").loc[started]
    assert row["status"] == CLOSED and row["closed_by"] == "local-admin"


def test_the_status_filter_keeps_only_those_actions(url):
    at = open_ima("director")
    at.multiselect(key="ima_status").select(ACTION_LABELS[IN_PROGRESS]).run()
    assert set(at.dataframe[0].value["Status"]) == {ACTION_LABELS[IN_PROGRESS]}


def test_an_empty_record_says_how_to_load_one(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    monkeypatch.setenv("KIM_DATABASE_URL", url)
    at = open_ima("executive")
    assert any("No assessment is loaded yet" in i.value for i in at.info)
    assert not at.table
