"""Tracked actions: adopting a next step, scope, status, overdue, carrying across rounds, and
closing automatically when a later round's counted score reaches the target."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from kim_metrics.cli import main
from kim_metrics.domain.access import local_admin
from kim_metrics.domain.errors import KimError, PermissionDenied
from kim_metrics.services import actions as action_service
from kim_metrics.services import audit as audit_service
from kim_metrics.services import review as review_service
from kim_metrics.services import scores as score_service
from kim_metrics.storage import audit
from tests.support.loop import (DIRECTOR, FULL_MARKS, IM_ESTATES, IM_TAX, OTHER_DIRECTOR, ingest,
                                load_org, open_round)

TODAY = date.today()
PARTLY = {**FULL_MARKS, "naming": 1}


@pytest.fixture
def org(engine, tmp_path):
    """Tax Policy returned in 2026-Q2 with its naming convention only partly in place."""
    load_org(engine)
    open_round(engine, "2026-Q2")
    ingest(engine, tmp_path, {"Tax Policy": PARTLY, "Estates": FULL_MARKS}, "2026-Q2")
    return engine


def _adopt(engine, actor=DIRECTOR, due=None, **kw):
    return action_service.adopt(engine, team="Tax Policy", criterion="naming", owner="Owner.One@dept.gov.uk",
                                due=due or TODAY + timedelta(days=30), note="Publish the convention",
                                actor=actor, **kw)


def test_adopting_takes_the_next_step_from_the_teams_latest_return(org):
    done = _adopt(org)
    assert (done.team, done.criterion, done.round, done.owner) == (
        "Tax Policy", "naming", "2026-Q2", "owner.one@dept.gov.uk")
    assert done.target != "Partly in place"
    listed = action_service.list_actions(org, actor=DIRECTOR)
    row = listed.iloc[0]
    assert (row["status"], row["target_label"], row["note"], bool(row["overdue"])) == (
        "open", done.target, "Publish the convention", False)
    trail = audit_service.audit_trail(org, reader=local_admin())
    assert trail["action"].tolist()[-1] == audit.ACTION_ADOPTED


def test_adopting_is_scoped_to_the_teams_information_managers_director_and_the_kim_team(org):
    for outsider in (IM_ESTATES, OTHER_DIRECTOR, "someone@dept.gov.uk"):
        with pytest.raises(PermissionDenied, match="may not adopt actions for Tax Policy"):
            _adopt(org, actor=outsider)
    assert _adopt(org, actor=IM_TAX).action_id
    assert _adopt(org, actor=local_admin()).action_id


def test_reading_actions_is_scoped(org):
    _adopt(org)
    assert len(action_service.list_actions(org, actor=IM_TAX)) == 1
    assert action_service.list_actions(org, actor=IM_ESTATES).empty
    assert action_service.list_actions(org, actor=OTHER_DIRECTOR).empty
    with pytest.raises(PermissionDenied):
        action_service.list_actions(org, actor="someone@dept.gov.uk")


def test_nothing_to_adopt_at_the_top_status_or_for_a_bad_owner_or_a_past_date(org):
    with pytest.raises(KimError, match="already Green"):
        action_service.adopt(org, team="Estates", criterion="naming", owner="a@dept.gov.uk",
                             due=TODAY, actor=local_admin())
    with pytest.raises(KimError, match="email address"):
        action_service.adopt(org, team="Tax Policy", criterion="naming", owner="not an email",
                             due=TODAY, actor=local_admin())
    with pytest.raises(KimError, match="has passed"):
        _adopt(org, due=TODAY - timedelta(days=1))


def test_status_changes_are_scoped_audited_and_add_to_the_note(org):
    action = _adopt(org)
    with pytest.raises(PermissionDenied):
        action_service.set_status(org, action.action_id, "done", actor=IM_ESTATES)
    after = action_service.set_status(org, action.action_id, "in_progress", note="Draft out", actor=IM_TAX)
    assert after["status"] == "in_progress" and after["note"] == "Publish the convention\nDraft out"
    after = action_service.set_status(org, action.action_id, "dropped", actor=DIRECTOR)
    assert after["status"] == "dropped" and after["closed_at"] is not None
    updates = audit_service.audit_trail(org, reader=local_admin(), action=audit.ACTION_UPDATED)
    assert updates["actor"].tolist() == [IM_TAX, DIRECTOR]


def test_overdue_when_past_due_and_still_open(org):
    action = _adopt(org, due=TODAY)
    tomorrow = TODAY + timedelta(days=1)
    assert not action_service.list_actions(org, actor=DIRECTOR, today=TODAY)["overdue"].any()
    late = action_service.list_actions(org, actor=DIRECTOR, status="overdue", today=tomorrow)
    assert late["action_id"].tolist() == [action.action_id]
    action_service.set_status(org, action.action_id, "done", actor=DIRECTOR)
    assert action_service.list_actions(org, actor=DIRECTOR, status="overdue", today=tomorrow).empty


def test_an_action_is_carried_and_closes_when_a_later_rounds_counted_score_reaches_it(org, tmp_path):
    action = _adopt(org)
    target = action_service.list_actions(org, actor=DIRECTOR).iloc[0]["target_value"]
    # The same round reaching the target does not close it: the action is about the next round.
    ingest(org, tmp_path, {"Tax Policy": {**PARTLY, "naming": int(target)}}, "2026-Q2", name="q2-again.csv")
    assert action_service.list_actions(org, actor=DIRECTOR).iloc[0]["status"] == "open"
    open_round(org, "2026-Q3")
    assert action_service.list_actions(org, actor=DIRECTOR, round_label="2026-Q3")["action_id"].tolist() == [
        action.action_id]
    # Claimed without evidence, the score counts as the lowest level: still open.
    ingest(org, tmp_path, {"Tax Policy": {**PARTLY, "naming": int(target)}}, "2026-Q3", evidence="",
           name="q3-no-evidence.csv")
    assert action_service.list_actions(org, actor=DIRECTOR).iloc[0]["status"] == "open"
    ingest(org, tmp_path, {"Tax Policy": {**PARTLY, "naming": int(target)}}, "2026-Q3", name="q3.csv")
    row = action_service.list_actions(org, actor=DIRECTOR).iloc[0]
    assert row["status"] == "done" and "2026-Q3" in row["closed_reason"]
    closed = audit_service.audit_trail(org, reader=local_admin(), action=audit.ACTION_CLOSED)
    assert closed["round"].tolist() == ["2026-Q3"] and closed["actor"].tolist() == [audit.SYSTEM_ACTOR]


def test_a_challenge_that_lowers_the_score_keeps_an_action_open_and_a_review_can_close_one(org, tmp_path):
    _adopt(org)
    target = action_service.list_actions(org, actor=DIRECTOR).iloc[0]["target_value"]
    open_round(org, "2026-Q3")
    ingest(org, tmp_path, {"Tax Policy": PARTLY}, "2026-Q3", name="q3.csv")
    scores = score_service.scored_round(org, "2026-Q3", actor=local_admin()).scores
    score_id = int(scores[(scores["team"] == "Tax Policy") & (scores["criterion"] == "naming")]["score_id"].iloc[0])
    assert action_service.list_actions(org, actor=DIRECTOR).iloc[0]["status"] == "open"
    review_service.review_score(org, score_id, status="challenged", value=float(target),
                                note="Seen the published convention", actor=local_admin())
    assert action_service.list_actions(org, actor=DIRECTOR).iloc[0]["status"] == "done"


def test_cli_adds_lists_and_sets(sqlite_engine, tmp_path, capsys):
    load_org(sqlite_engine)
    open_round(sqlite_engine, "2026-Q2")
    ingest(sqlite_engine, tmp_path, {"Tax Policy": PARTLY}, "2026-Q2")
    url = sqlite_engine.url.render_as_string(hide_password=False)
    due = (TODAY + timedelta(days=10)).isoformat()
    assert main(["--db", url, "actions", "add", "--team", "tax policy", "--criterion", "naming",
                 "--owner", "owner@dept.gov.uk", "--due", due, "--note", "=cmd|' /C calc'!A0"]) == 0
    assert "Action 1 adopted: Tax Policy" in capsys.readouterr().out
    assert main(["--db", url, "actions", "list", "--format", "json", "--directorate", "Policy"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["action_id"], r["owner"], r["due_on"], r["status"]) for r in rows] == [
        (1, "owner@dept.gov.uk", due, "open")]
    assert main(["--db", url, "actions", "list", "--format", "csv"]) == 0
    assert "'=cmd" in capsys.readouterr().out
    assert main(["--db", url, "actions", "set", "1", "--status", "in_progress", "--as", IM_TAX]) == 0
    assert "now in progress" in capsys.readouterr().out
    assert main(["--db", url, "actions", "list", "--status", "done"]) == 0
    assert "No actions match." in capsys.readouterr().out
    assert main(["--db", url, "actions", "set", "1", "--status", "done", "--as", IM_ESTATES]) == 1
    assert main(["--db", url, "actions", "list"]) == 0
    assert "in_progress" in capsys.readouterr().out
