"""The IMA kept: loading and reloading, the action plan's statuses and sign-off by role, the
framework in force. Every test runs on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kim_metrics.domain.access import local_admin
from kim_metrics.domain.access import ADMIN, DIRECTOR, EXECUTIVE, INFORMATION_MANAGER, VIEWER, Actor
from kim_metrics.domain.errors import NotFoundError, PermissionDenied, ValidationError
from kim_metrics.domain.ima import (CLOSED, DEFAULT_FRAMEWORK_PATH, DELIVERED, IMPROVED, IN_PROGRESS,
                                    NOT_STARTED, SAME)
from kim_metrics.services import audit as audit_service
from kim_metrics.services import ima
from kim_metrics.services.demo_ima import IMA, REVIEW
from kim_metrics.storage import ima as store
from tests.support.ima import demo_rows, write_ima_xlsx

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "demo-ima.xlsx"
KIM = Actor("kim@dept.gov.uk", frozenset({ADMIN, VIEWER}))
BOARD = Actor("board@dept.gov.uk", frozenset({EXECUTIVE, VIEWER}))
DIRECTOR_ = Actor("director@dept.gov.uk", frozenset({DIRECTOR, VIEWER}), directorates=frozenset({"D"}))
IM = Actor("im@dept.gov.uk", frozenset({INFORMATION_MANAGER, VIEWER}), teams=frozenset({1}))
STAFF = Actor("someone@dept.gov.uk", frozenset({VIEWER}))


@pytest.fixture
def loaded(engine):
    ima.load_workbook(engine, SAMPLE.read_bytes(), SAMPLE.name, actor=KIM)
    return engine


def action_id(engine, status: str, n: int = 0) -> int:
    return int(ima.actions(engine, status)["action_id"].iloc[n])


def test_load_then_read_back(loaded):
    rec = ima.record(loaded)
    assert rec.names == [IMA, REVIEW]
    grid = ima.ratings_grid(rec)
    assert grid.shape == (10, 4)
    assert grid.set_index("Sub-area").loc["Managing information as an asset", IMA] == "Development area"
    assert grid.set_index("Sub-area").loc["Providing guidance", REVIEW] == "Good practice"
    changes = {c.sub_area_id: c.change for c in ima.compare(loaded, IMA, REVIEW)}
    assert changes["managing_information_as_an_asset"] == IMPROVED
    assert changes["recognising_information_risk"] == SAME
    assert list(ima.actions(loaded)["status"].value_counts().sort_index().items()) == [
        (CLOSED, 3), (DELIVERED, 5), (IN_PROGRESS, 6), (NOT_STARTED, 4)]
    closed = ima.actions(loaded, CLOSED)
    assert set(closed["closed_by"]) == {KIM.email} and closed["closed_at"].notna().all()
    assert set(ima.actions(loaded, IN_PROGRESS)["status"]) == {IN_PROGRESS}
    trail = audit_service.audit_trail(loaded, action=store.ASSESSMENT_LOADED, reader=local_admin())
    assert list(trail["target"]) == [f"IMA assessment {IMA}", f"IMA assessment {REVIEW}"]
    assert trail["before"].isna().all()
    assert json.loads(trail["after"].iloc[0])["ratings"]["measuring_impact"] == "progressing"


def test_compare_names_are_forgiving_and_unknown_ones_suggest(loaded):
    assert len(ima.compare(loaded, "ima 2013", "REVIEW-2015")) == 10
    with pytest.raises(NotFoundError, match="Did you mean 'IMA 2013'"):
        ima.compare(loaded, "IMA 2014", REVIEW)


def test_reloading_keeps_action_numbers_and_sign_offs(loaded, tmp_path):
    ids = ima.actions(loaded).set_index("action")["action_id"].to_dict()
    before_close = ima.actions(loaded, CLOSED).set_index("action_id")["closed_at"].to_dict()
    ratings, actions = demo_rows()
    ratings[14][6] = "Satisfactory"                       # Recognising information risk, Review 2015
    dropped = actions.pop(1)[7]                           # the first recommendation's second action
    actions.append([None] * 7 + ["Publish the review's findings", "dro@dept.gov.uk", None, "Not started", None])
    ima.load_workbook(loaded, write_ima_xlsx(tmp_path / "v2.xlsx", ratings, actions).read_bytes(), "v2.xlsx",
                      actor=Actor("other.admin@dept.gov.uk", frozenset({ADMIN})))
    after = ima.actions(loaded)
    kept = after.set_index("action")["action_id"].to_dict()
    assert dropped not in kept and "Publish the review's findings" in kept
    assert all(kept[a] == i for a, i in ids.items() if a != dropped)
    # A closed action that stays closed keeps its sign-off.
    closed = ima.actions(loaded, CLOSED).set_index("action_id")
    assert closed["closed_at"].to_dict() == before_close and set(closed["closed_by"]) == {KIM.email}
    with loaded.connect() as conn:
        assert store.ratings(conn)[REVIEW]["recognising_information_risk"] == "satisfactory"
    change = {c.sub_area_id: c.change for c in ima.compare(loaded, IMA, REVIEW)}
    assert change["recognising_information_risk"] == IMPROVED
    trail = audit_service.audit_trail(loaded, action=store.ASSESSMENT_LOADED, reader=local_admin())
    last = trail[trail["target"] == f"IMA assessment {REVIEW}"].iloc[-1]
    assert json.loads(last["before"])["ratings"]["recognising_information_risk"] == "development_area"
    assert json.loads(last["after"])["ratings"]["recognising_information_risk"] == "satisfactory"


def test_a_workbook_of_actions_alone_adds_to_stored_assessments(loaded, tmp_path):
    _, actions = demo_rows()
    made_by, only = None, []
    for row in actions:
        made_by = row[1] or made_by       # blank cells continue the recommendation above
        if made_by == REVIEW and len(only) < 3:
            only.append(row)
    ima.load_workbook(loaded, write_ima_xlsx(tmp_path / "a.xlsx", None, only).read_bytes(), "a.xlsx", actor=KIM)
    plan = ima.actions(loaded)
    # Only Review 2015's recommendations were replaced; IMA 2013's are untouched.
    assert set(plan["assessment"]) == {IMA, REVIEW}
    assert (plan["assessment"] == REVIEW).sum() == len(only)


# The action plan: statuses and sign-off by role ---------------------------------------------------

def test_admin_moves_an_action_on_and_signs_off_its_closure(loaded):
    aid = action_id(loaded, NOT_STARTED)
    with pytest.raises(ValidationError, match="Only a delivered action can be closed"):
        ima.sign_off(loaded, aid, actor=KIM)
    ima.update_action(loaded, aid, actor=KIM, status=IN_PROGRESS, commentary="Started in May.")
    ima.update_action(loaded, aid, actor=KIM, status=DELIVERED)
    after = ima.sign_off(loaded, aid, actor=KIM)
    assert after["status"] == CLOSED and after["closed_by"] == KIM.email and after["closed_at"] is not None
    assert after["commentary"] == "Started in May."
    reopened = ima.update_action(loaded, aid, actor=KIM, status=IN_PROGRESS)
    assert reopened["closed_by"] is None and reopened["closed_at"] is None
    trail = audit_service.audit_trail(loaded, reader=local_admin())
    mine = trail[trail["target"].str.startswith(f"IMA action {aid}:")]
    assert list(mine["action"]) == [store.ACTION_UPDATED, store.ACTION_UPDATED, store.ACTION_CLOSED,
                                    store.ACTION_REOPENED]
    assert json.loads(mine["after"].iloc[2])["closed_by"] == KIM.email


def test_an_unchanged_update_records_nothing(loaded):
    aid = action_id(loaded, IN_PROGRESS)
    count = len(audit_service.audit_trail(loaded, reader=local_admin()))
    state = ima.update_action(loaded, aid, actor=KIM, status=IN_PROGRESS)
    assert state["status"] == IN_PROGRESS and len(audit_service.audit_trail(loaded, reader=local_admin())) == count


@pytest.mark.parametrize("who", [BOARD, DIRECTOR_, IM, STAFF], ids=["executive", "director",
                                                                     "information manager", "viewer"])
def test_only_the_kim_team_edits_or_signs_off(loaded, who):
    delivered = action_id(loaded, DELIVERED)
    before = ima.actions(loaded).set_index("action_id").loc[delivered, ["status", "commentary"]].tolist()
    with pytest.raises(PermissionDenied, match="may not sign off the closure"):
        ima.sign_off(loaded, delivered, actor=who)
    with pytest.raises(PermissionDenied, match="may not update the IMA action plan"):
        ima.update_action(loaded, delivered, actor=who, commentary="I was here")
    with pytest.raises(PermissionDenied):
        ima.load_workbook(loaded, SAMPLE.read_bytes(), SAMPLE.name, actor=who)
    after = ima.actions(loaded).set_index("action_id").loc[delivered, ["status", "commentary"]].tolist()
    assert after == before


@pytest.mark.parametrize("who, reads, edits", [(KIM, True, True), (BOARD, True, False),
                                               (DIRECTOR_, True, False), (IM, False, False),
                                               (STAFF, False, False)])
def test_who_reads_the_page(loaded, who, reads, edits):
    if not reads:
        with pytest.raises(PermissionDenied):
            ima.page(loaded, who)
        return
    data = ima.page(loaded, who, mapping={})
    assert data.can_edit is edits
    assert data.compared == (IMA, REVIEW) and len(data.comparison) == 10


def test_an_unknown_action_is_named(loaded):
    with pytest.raises(NotFoundError, match="no plan action 99999"):
        ima.update_action(loaded, 99999, actor=KIM, status=DELIVERED)


def test_next_steps_are_the_open_flagged_recommendations(loaded):
    rec = ima.record(loaded)
    steps = ima.next_steps(rec)
    assert len(steps) == 6 and steps["recommendation"].is_unique
    flagged = rec.actions[rec.actions["next_step"]]
    assert set(steps["recommendation_id"]) == set(flagged["recommendation_id"])
    # Close every action of one next step: it leaves the list.
    target = steps.iloc[-1]["recommendation_id"]
    for aid in rec.actions.loc[rec.actions["recommendation_id"] == target, "action_id"]:
        ima.update_action(loaded, int(aid), actor=KIM, status=DELIVERED)
        ima.sign_off(loaded, int(aid), actor=KIM)
    after = ima.next_steps(ima.record(loaded))
    assert len(after) == 5 and target not in set(after["recommendation_id"])


# The framework in force ------------------------------------------------------------------------

def test_a_framework_that_drops_a_rated_sub_area_is_refused(loaded):
    shipped = DEFAULT_FRAMEWORK_PATH.read_text(encoding="utf-8")
    fewer = shipped.replace('id = "measuring_impact"', 'id = "measuring_outcomes"')
    with pytest.raises(ValidationError, match="sub-area 'measuring_impact'"):
        ima.load_framework(loaded, fewer, actor=KIM)
    renamed = shipped.replace('name = "Measuring impact"', 'name = "Measuring what changed"')
    ima.load_framework(loaded, renamed, actor=KIM)
    assert ima.framework(loaded).get_sub_area("measuring_impact").name == "Measuring what changed"
    assert "Measuring what changed" in set(ima.ratings_grid(ima.record(loaded))["Sub-area"])
    with pytest.raises(PermissionDenied):
        ima.load_framework(loaded, shipped, actor=BOARD)
    trail = audit_service.audit_trail(loaded, action=store.FRAMEWORK_LOADED, reader=local_admin())
    assert list(trail["actor"]) == [KIM.email, KIM.email]
    assert pd.isna(trail["before"].iloc[0]) and json.loads(trail["after"].iloc[0]) == shipped


def test_the_first_load_keeps_the_framework_it_was_read_against(engine):
    with engine.connect() as conn:
        assert store.count_rows(conn)["ima_framework"] == 0
    ima.load_workbook(engine, SAMPLE.read_bytes(), SAMPLE.name, actor=KIM)
    ima.load_workbook(engine, SAMPLE.read_bytes(), SAMPLE.name, actor=KIM)
    with engine.connect() as conn:
        assert store.count_rows(conn)["ima_framework"] == 1
        assert store.current_framework(conn) == ima.framework(engine)
