"""The audit trail as people read it (field-by-field changes, filters, order) and the list of
everyone with a role."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from kim_metrics.domain.access import local_admin
from kim_metrics.domain.errors import PermissionDenied
from kim_metrics.services import admin as admin_service
from kim_metrics.services import audit as audit_service
from kim_metrics.services import returns as return_service
from kim_metrics.services import review as review_service
from kim_metrics.services import scores as score_service
from kim_metrics.storage import audit

from tests.support.returns import FULL_MARKS, ORG, long_rows, write_csv


def test_field_changes_of_a_review():
    before = json.dumps({"review_status": "self-declared", "reviewed_value": None, "reviewer": None,
                         "claimed": "Fully embedded"})
    after = json.dumps({"review_status": "challenged", "reviewed_value": 1.0, "reviewer": "kim@x",
                        "review_note": "Only one drive"})
    changes = audit_service.field_changes(before, after)
    assert list(changes.columns) == ["field", "before", "after", "changed"]
    by = changes.set_index("field")
    assert by.loc["review_status", "before"] == "self-declared"
    assert by.loc["review_status", "after"] == "challenged"
    assert by.loc["reviewed_value", "after"] == "1" and by.loc["reviewed_value", "before"] == ""
    assert by.loc["review_note", "before"] == "" and by.loc["review_note", "changed"]
    assert by.loc["claimed", "after"] == "" and by.loc["claimed", "changed"]    # only before
    assert not by.loc["reviewer", "before"]
    assert changes["changed"].tolist() == sorted(changes["changed"].tolist(), reverse=True)


def test_field_changes_of_a_return_name_each_team_and_criterion():
    before = json.dumps({"team": ["Records", "Records"], "criterion": ["naming", "iar"],
                         "score": ["Mostly in place", "Yes"], "evidence": ["Guide", "Register"]})
    after = json.dumps({"team": ["Records", "Records"], "criterion": ["naming", "iar"],
                        "score": ["Fully embedded", "Yes"], "evidence": ["Guide", "Register"]})
    changes = audit_service.field_changes(before, after).set_index("field")
    assert changes.loc["Records: naming · score", "before"] == "Mostly in place"
    assert changes.loc["Records: naming · score", "after"] == "Fully embedded"
    assert changes.loc["Records: naming · score", "changed"]
    assert not changes.loc["Records: iar · score", "changed"]
    first = audit_service.field_changes(None, after)
    assert (first["before"] == "").all() and first["changed"].all()
    assert audit_service.field_changes(None, None).empty


@pytest.fixture
def trail_db(engine, tmp_path):
    admin_service.grant_role(engine, "kim.lead@dept.gov.uk", "admin", actor="local-admin")
    path = write_csv(tmp_path / "r.csv", long_rows({"Records": FULL_MARKS}))
    return_service.save_preview(engine, return_service.check_return(engine, path.read_bytes(), path.name,
                                                                    "2026-Q1"), uploader="local-admin")
    sid = int(score_service.scored_round(engine, actor=local_admin()).scores["score_id"].iloc[0])
    review_service.review_score(engine, sid, status="verified", actor="kim.lead@dept.gov.uk")
    return engine


def test_trail_filters_by_who_what_round_and_date_newest_first(trail_db):
    reader = local_admin()
    everything = audit_service.audit_trail(trail_db, reader=reader, newest_first=True)
    assert everything["id"].tolist() == sorted(everything["id"], reverse=True)
    assert everything["action"].iloc[0] == audit.SCORE_VERIFIED
    by_who = audit_service.audit_trail(trail_db, reader=reader, actor="kim.lead@dept.gov.uk")
    assert by_who["action"].tolist() == [audit.SCORE_VERIFIED]
    assert audit_service.audit_people(trail_db, reader=reader) == ["kim.lead@dept.gov.uk", "local-admin"]
    today = date.today()
    assert len(audit_service.audit_trail(trail_db, reader=reader, since=today, until=today)) == len(everything)
    assert audit_service.audit_trail(trail_db, reader=reader, until=today - timedelta(days=1)).empty
    assert audit_service.audit_trail(trail_db, reader=reader, since=today + timedelta(days=1)).empty
    round_only = audit_service.audit_trail(trail_db, reader=reader, round_label="2026-Q1")
    assert set(round_only["round"]) == {"2026-Q1"}



def test_people_lists_every_role_with_its_source_and_scope(engine):
    admin_service.save_organisation(engine, ORG)
    admin_service.grant_role(engine, "perm.sec@dept.gov.uk", "executive", actor="local-admin")
    admin_service.grant_role(engine, "kim.former@dept.gov.uk", "admin", actor="local-admin")
    admin_service.open_round(engine, "2026-Q3", actor="kim.former@dept.gov.uk")
    admin_service.revoke_role(engine, "kim.former@dept.gov.uk", "admin", actor="local-admin")
    found = admin_service.people_with_roles(engine, actor=local_admin())
    rows = {(r.email, r.role): r for r in found.itertuples(index=False)}
    assert rows[("perm.sec@dept.gov.uk", "Board (executive)")].source == admin_service.GRANTED
    pat = rows[("pat.lee@dept.gov.uk", "Director")]
    assert pat.source == admin_service.ORGANISATION_WORKBOOK and pat.scope == "Policy"
    im = rows[("im.policy@dept.gov.uk", "Information manager")]
    assert im.scope == "Fiscal (Policy); Tax Policy (Policy)"
    assert ("kim.former@dept.gov.uk", "none now") in rows
    with pytest.raises(PermissionDenied):
        admin_service.people_with_roles(engine, actor="pat.lee@dept.gov.uk")


def test_field_changes_of_a_list_of_records_name_each_record():
    after = json.dumps([{"id": "A1", "status": "open"}, {"id": "A2", "status": "closed"}])
    changes = audit_service.field_changes(None, after).set_index("field")
    assert changes.loc["[2].status", "after"] == "closed" and changes.loc["[1].id", "after"] == "A1"
