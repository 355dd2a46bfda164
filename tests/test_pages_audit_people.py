"""The audit page (order stated, filters, field-by-field before and after, no microseconds)
and the admin page's People tab (everyone with a role, where it comes from, its scope)."""

from __future__ import annotations

import re

import pytest

from kim_metrics.domain.access import local_admin
from kim_metrics.services import review as review_service
from kim_metrics.services import scores as score_service
from kim_metrics.storage.engine import make_engine

from .support.app import demo_db, demo_url, open_app, writable_url  # noqa: F401

pytestmark = pytest.mark.xdist_group("pages")


def test_audit_page_reads_newest_first_with_filters_and_a_field_comparison(writable_url):
    engine = make_engine(writable_url)
    scores = score_service.scored_round(engine, actor=local_admin()).scores
    sid = int(scores.loc[scores["evidenced"] & (scores["claimed"] > 0), "score_id"].iloc[0])
    review_service.review_score(engine, sid, status="challenged", value=0, note="Not seen",
                                actor=local_admin())
    engine.dispose()
    at = open_app("admin", "audit")
    assert any("newest first" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert table["When (UTC)"].is_monotonic_decreasing
    assert table["What"].iloc[0] == "score challenged"
    # The picker reads to the second, never to the microsecond.
    first = at.selectbox(key="audit_pick").options[0]
    assert re.match(r"\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} · score challenged", first), first
    assert not re.search(r"\.\d{3,}", first)
    changes = at.dataframe[1].value.set_index("Field")
    assert changes.loc["review_status", "Before"] == "self-declared"
    assert changes.loc["review_status", "After"] == "challenged"
    assert changes.loc["review_note", "After"] == "Not seen"
    at.selectbox(key="audit_action").set_value("return saved").run()
    assert set(at.dataframe[0].value["What"]) == {"return saved"}
    at.selectbox(key="audit_who").set_value("local-admin").run()
    assert at.info and "No changes match" in at.info[-1].value


def test_people_tab_lists_everyone_with_a_role_and_its_source(demo_url):
    at = open_app("admin", "admin")
    people = next(d.value for d in at.dataframe if "From" in d.value.columns)
    assert {"Director", "Information manager"} <= set(people["Role"])
    assert set(people["From"]) >= {"organisation workbook"}
    director = people[people["Role"] == "Director"].iloc[0]
    assert director["Scope"]                                          # their directorates
    assert not any("Nobody is named yet" in i.value for i in at.info)


def test_letters_for_every_directorate_are_built_with_progress_then_offered(demo_url):
    at = open_app("admin", "admin")
    assert not [b for b in at.get("download_button") if "(zip)" in b.proto.label]
    at.button(key=next(b.key for b in at.button if b.label == "Build the letters")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [b for b in at.get("download_button") if b.proto.label.startswith("Letters 2026-Q3")]
