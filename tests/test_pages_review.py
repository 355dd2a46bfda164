"""Reviewing scores on the pages: the review form has no default verdict and refuses to
verify an unevidenced claim; the verification queue verifies in bulk and challenges; the
team replies in the score's comment thread."""

from __future__ import annotations

import pytest

from kim_metrics.domain.access import local_admin
from kim_metrics.services import scores as score_service
from kim_metrics.storage.engine import make_engine

from .support.app import demo_db, open_app, writable_url  # noqa: F401

pytestmark = pytest.mark.xdist_group("pages")


def _scores(url: str):
    engine = make_engine(url)
    try:
        return score_service.scored_round(engine, actor=local_admin()).scores
    finally:
        engine.dispose()


def test_review_form_has_no_default_and_refuses_an_unevidenced_verify(writable_url):
    scores = _scores(writable_url)
    bare = scores[scores["unevidenced"] & (scores["review_status"] == "self-declared")].iloc[0]
    sid = int(bare["score_id"])
    at = open_app("admin", "team", {"team": str(int(bare["team_id"]))})
    assert at.radio(key=f"verdict_{sid}").value is None                 # no verdict chosen for you
    at.button(key=f"FormSubmitter:review_{sid}-Save the review").click().run()
    assert any("Choose Verify or Challenge" in e.value for e in at.error)
    at.radio(key=f"verdict_{sid}").set_value("Verify")
    at.button(key=f"FormSubmitter:review_{sid}-Save the review").click().run()
    assert not at.exception
    assert any("cannot be verified" in e.value for e in at.error)
    assert _scores(writable_url).set_index("score_id").loc[sid, "review_status"] == "self-declared"


def test_queue_verifies_in_bulk_and_challenges_with_a_note(writable_url):
    at = open_app("admin", "queue")
    assert at.title[0].value == "Verification queue"
    table = at.dataframe[0].value
    assert len(table) and set(table["Review"]) == {"self-declared"}
    # Highest impact first: the first rows cross a boundary or claim Green.
    assert ("moves the team" in table["Impact"].iloc[0]) or ("Green claim" in table["Impact"].iloc[0])
    evidenced = [i for i, e in enumerate(table["Evidence"]) if e][:3]
    chosen = table.iloc[evidenced][["Team", "Criterion"]].values.tolist()
    at.session_state["queue_rows"] = {"selection": {"rows": evidenced, "columns": []}}
    at.run()
    at.button(key="queue_verify").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Verified 3 scores" in s.value for s in at.success)
    scores = _scores(writable_url)
    done = scores[scores["review_status"] == "verified"]
    assert len(done) == 3
    left = at.dataframe[0].value
    assert not any([t, c] in left[["Team", "Criterion"]].values.tolist() for t, c in chosen)
    # One row: challenge it with a note.
    at.session_state["queue_rows"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    first = at.dataframe[0].value.iloc[0]
    at.text_area(key="queue_challenge_note").input("The register has not been updated since 2023")
    at.button(key="FormSubmitter:queue_challenge_form-Challenge this score").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    challenged = _scores(writable_url)
    row = challenged[(challenged["team"] == first["Team"]) & (challenged["review_status"] == "challenged")]
    assert len(row) == 1 and row["review_note"].iloc[0] == "The register has not been updated since 2023"


def test_kim_team_asks_in_the_queue_and_the_team_replies_on_its_page(writable_url):
    at = open_app("admin", "queue")
    team = at.dataframe[0].value.iloc[0]["Team"]
    at.session_state["queue_rows"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    at.text_area(key="queue_comment_body").input("Please send the register's link")
    at.button(key="FormSubmitter:queue_comment_form-Send the comment").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Please send the register's link" in [t.value for t in at.text]
    scores = _scores(writable_url)
    picked = scores[scores["team"] == team]
    team_id = int(picked["team_id"].iloc[0])
    page = open_app("information_manager", "team", {"team": str(team_id)})
    assert "Please send the register's link" in [t.value for t in page.text]
    sid = next(k for k in (str(b.key) for b in page.text_area) if k.startswith("comment_body_"))
    page.text_area(key=sid).input("Here it is: https://intranet.example/register")
    score_id = sid.removeprefix("comment_body_")
    page.button(key=f"FormSubmitter:comment_{score_id}-Send the reply").click().run()
    assert not page.exception and not page.error, [e.value for e in page.error]
    assert "Here it is: https://intranet.example/register" in [t.value for t in page.text]
