"""The verification queue's order and filters, and comment threads on scores: scoped,
audited, and readable only by those who may read the score's evidence."""

from __future__ import annotations

import pandas as pd
import pytest

from kim_metrics.domain.access import ADMIN, local_admin
from kim_metrics.domain.criteria import criteria_from_dict
from kim_metrics.domain.errors import KimError, PermissionDenied
from kim_metrics.domain.queue import claim_impact
from kim_metrics.domain.scoring import score_rows
from kim_metrics.services import admin as admin_service
from kim_metrics.services import audit as audit_service
from kim_metrics.services import comments as comment_service
from kim_metrics.services import common
from kim_metrics.services import returns as return_service
from kim_metrics.services import review as review_service
from kim_metrics.services import scores as score_service
from kim_metrics.storage import audit

from tests.support.returns import FULL_MARKS, long_rows, write_csv

SMALL = {
    "rag": {"levels": ["Red", "Amber", "Green"], "team": {"Green": 80, "Amber": 50}},
    "criterion": [
        {"id": "a", "name": "Alpha", "scale": "level", "weight": 2.0,
         "levels": ["None", "Some", "Most", "All"], "rag": {"Green": 3, "Amber": 2},
         "guidance": ["1", "2", "3"]},
        {"id": "b", "name": "Beta", "scale": "percent", "weight": 1.0,
         "rag": {"Green": 90, "Amber": 70}, "guidance": ["1", "2"]},
    ],
}


def _scored(rows):
    criteria = criteria_from_dict(SMALL)
    frame = pd.DataFrame(rows, columns=["team_id", "team", "criterion", "claimed", "evidence"])
    frame["evidence_link"] = ""
    return score_rows(frame, criteria), criteria


def test_claims_that_cross_a_boundary_come_first_then_green_then_points():
    scored, criteria = _scored([
        # Team 1: a=All (2×100), b=90 → 96.7 Green; without a: (0+90)/3 = 30 Red → crosses.
        (1, "One", "a", 3, "x"), (1, "One", "b", 90, "x"),
        # Team 2: a=Some (2×33.3), b=100 → 55.6 Amber; without b: 22.2 Red → crosses;
        # without a: 33.3 Red → crosses too, fewer points.
        (2, "Two", "a", 1, "x"), (2, "Two", "b", 100, "x"),
        # Team 3: a=None, b=10 → 3.3 Red; nothing crosses, b is 10 % claimed.
        (3, "Three", "a", 0, "x"), (3, "Three", "b", 10, "x"),
    ])
    ranked = claim_impact(scored, criteria)
    order = list(zip(ranked["team"], ranked["criterion"]))
    assert order[:2] == [("One", "a"), ("Two", "b")]        # crossing and Green claims
    assert ranked.set_index(["team", "criterion"]).loc[("One", "a"), "status_without"] == "Red"
    assert ranked.set_index(["team", "criterion"]).loc[("One", "a"), "status_with"] == "Green"
    three = ranked[ranked["team"] == "Three"]
    assert not three["crosses_boundary"].any() and order[-1][0] == "Three"
    assert ranked.set_index(["team", "criterion"]).loc[("One", "a"), "points"] == pytest.approx(66.67)


ORG = pd.DataFrame({
    "team": ["Tax Policy", "Estates"], "directorate": ["Policy", "Corporate"], "group": ["G1", "G2"],
    "director": ["pat.lee@dept.gov.uk", "sam.roe@dept.gov.uk"],
    "information_managers": [["im.policy@dept.gov.uk"], ["im.estates@dept.gov.uk"]],
})


@pytest.fixture
def returned(engine, tmp_path):
    admin_service.save_organisation(engine, ORG)
    admin_service.open_round(engine, "2026-Q3", actor="local-admin")
    rows = (long_rows({"Tax Policy": FULL_MARKS}, directorate="Policy", group="G1")
            + long_rows({"Estates": FULL_MARKS}, directorate="Corporate", group="G2"))
    path = write_csv(tmp_path / "r.csv", rows)
    return_service.save_preview(engine, return_service.check_return(engine, path.read_bytes(), path.name,
                                                                    "2026-Q3"), uploader="local-admin")
    return engine


def test_queue_filters_and_is_for_the_kim_team_only(returned):
    queue = review_service.verification_queue(returned, actor=local_admin())
    assert len(queue.items) == 2 * len(FULL_MARKS)
    assert queue.directorates == ["Corporate", "Policy"]
    assert set(queue.items["review_status"]) == {"self-declared"}
    policy = review_service.verification_queue(returned, actor=local_admin(), directorates=["Policy"],
                                               criteria_ids=["naming"])
    assert policy.items[["team", "criterion"]].values.tolist() == [["Tax Policy", "naming"]]
    ids = queue.items["score_id"].head(3).astype(int).tolist()
    review_service.review_scores(returned, ids, status="verified", actor=local_admin())
    after = review_service.verification_queue(returned, actor=local_admin())
    assert not set(ids) & set(after.items["score_id"])                 # verified: off the queue
    verified = review_service.verification_queue(returned, actor=local_admin(), statuses=["verified"])
    assert sorted(verified.items["score_id"]) == sorted(ids)
    assert len(audit_service.audit_trail(returned, reader=local_admin(), action=audit.SCORE_VERIFIED)) == 3
    with pytest.raises(PermissionDenied):
        review_service.verification_queue(returned, actor=common.resolve_actor(returned, "pat.lee@dept.gov.uk"))


def test_comment_threads_are_scoped_and_audited(returned):
    scores = score_service.scored_round(returned, actor=local_admin()).scores
    policy_score = int(scores.loc[scores["team"] == "Tax Policy", "score_id"].iloc[0])
    comment_service.add_comment(returned, policy_score, "Which drive holds the naming guide?",
                                actor=local_admin())
    comment_service.add_comment(returned, policy_score, "The shared drive, folder /Guides.",
                                actor="im.policy@dept.gov.uk")
    with pytest.raises(PermissionDenied):                                # another directorate's IM
        comment_service.add_comment(returned, policy_score, "Me too", actor="im.estates@dept.gov.uk")
    with pytest.raises(KimError, match="Write something"):
        comment_service.add_comment(returned, policy_score, "   ", actor="im.policy@dept.gov.uk")
    im = common.resolve_actor(returned, "im.policy@dept.gov.uk")
    thread = comment_service.threads(returned, [policy_score], actor=im)
    assert thread["author"].tolist() == ["local-admin", "im.policy@dept.gov.uk"]
    assert thread["body"].iloc[1] == "The shared drive, folder /Guides."
    other = common.resolve_actor(returned, "im.estates@dept.gov.uk")
    assert comment_service.threads(returned, [policy_score], actor=other).empty
    trail = audit_service.audit_trail(returned, reader=local_admin(), action=audit.COMMENT_ADDED)
    assert trail["actor"].tolist() == ["local-admin", "im.policy@dept.gov.uk"]
    assert "Tax Policy" in trail["target"].iloc[0]
    queue = review_service.verification_queue(returned, actor=local_admin())
    assert queue.items.set_index("score_id").loc[policy_score, "comments"] == 2
