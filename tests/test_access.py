"""Roles and scopes are enforced in the core: refused writes save nothing."""

import json

import pandas as pd
import pytest
from sqlalchemy import func, select

from kim_metrics.domain.access import local_admin
from kim_metrics.services import admin as admin_service
from kim_metrics.services import audit as audit_service
from kim_metrics.services import common
from kim_metrics.services import league as league_service
from kim_metrics.services import returns as return_service
from kim_metrics.services import review as review_service
from kim_metrics.services import scores as score_service
from kim_metrics.domain.access import ADMIN, DIRECTOR, EXECUTIVE, INFORMATION_MANAGER, VIEWER
from kim_metrics.cli import main
from kim_metrics.storage.models import Return, Score
from kim_metrics.domain.errors import PermissionDenied
from tests.support.returns import FULL_MARKS, NOTHING, ORG, long_rows, write_csv


@pytest.fixture
def org(engine):
    admin_service.save_organisation(engine, ORG)
    admin_service.grant_role(engine, "perm.sec@dept.gov.uk", EXECUTIVE, actor="local-admin")
    admin_service.grant_role(engine, "kim.lead@dept.gov.uk", ADMIN, actor="local-admin")
    admin_service.open_round(engine, "2026-Q3", actor="local-admin")   # information managers return into it
    return engine


def _counts(engine):
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(Return)),
                conn.scalar(select(func.count()).select_from(Score)))


@pytest.mark.parametrize(("email", "role", "directorates", "teams"), [
    ("kim.lead@dept.gov.uk", ADMIN, set(), set()),
    ("Perm.Sec@dept.gov.uk", EXECUTIVE, set(), set()),
    ("pat.lee@dept.gov.uk", DIRECTOR, {"Policy"}, set()),
    ("im.policy@dept.gov.uk", INFORMATION_MANAGER, set(), {"Tax Policy", "Fiscal"}),
    ("im.fiscal@dept.gov.uk", INFORMATION_MANAGER, set(), {"Fiscal"}),
    ("someone@dept.gov.uk", VIEWER, set(), set()),
])
def test_roles_come_from_the_email(org, email, role, directorates, teams):
    who = common.resolve_actor(org, email)
    names = dict(zip(admin_service.organisation(org)["team_id"], admin_service.organisation(org)["team"]))
    assert who.role == role
    assert set(who.directorates) == directorates
    assert {names[t] for t in who.teams} == teams


def test_information_manager_cannot_submit_for_another_directorate(org, tmp_path):
    path = write_csv(tmp_path / "r.csv", long_rows({"Tax Policy": FULL_MARKS, "Estates": NOTHING}))
    with pytest.raises(PermissionDenied, match="not an information manager for Estates"):
        return_service.check_return(org, path.read_bytes(), path.name, "2026-Q3", uploader="im.policy@dept.gov.uk")
    preview = return_service.check_return(org, path.read_bytes(), path.name, "2026-Q3")  # a forged preview
    with pytest.raises(PermissionDenied, match="Estates"):
        return_service.save_preview(org, preview, uploader="im.policy@dept.gov.uk")
    assert _counts(org) == (0, 0)
    assert [r.label for r in league_service.rounds(org)] == ["2026-Q3"]   # opened by the KIM team only


def test_information_manager_submits_for_own_teams(org, tmp_path):
    path = write_csv(tmp_path / "r.csv", long_rows({"Tax Policy": FULL_MARKS, "Fiscal": NOTHING}))
    preview = return_service.check_return(org, path.read_bytes(), path.name, "2026-Q3", uploader="im.policy@dept.gov.uk")
    saved = return_service.save_preview(org, preview, uploader="im.policy@dept.gov.uk")
    assert saved.teams == 2
    assert return_service.returns(org, actor=local_admin()).iloc[0]["uploader"] == "im.policy@dept.gov.uk"


@pytest.mark.parametrize("email", ["perm.sec@dept.gov.uk", "pat.lee@dept.gov.uk", "someone@dept.gov.uk"])
def test_executive_director_and_viewer_cannot_write(org, tmp_path, email):
    path = write_csv(tmp_path / "r.csv", long_rows({"Tax Policy": FULL_MARKS}))
    preview = return_service.check_return(org, path.read_bytes(), path.name, "2026-Q3")
    with pytest.raises(PermissionDenied):
        return_service.save_preview(org, preview, uploader=email)
    with pytest.raises(PermissionDenied):
        admin_service.open_round(org, "2026-Q4", actor=email)
    with pytest.raises(PermissionDenied):
        admin_service.load_criteria(org, admin_service.current_criteria(org).to_toml(), actor=email)
    with pytest.raises(PermissionDenied):
        admin_service.grant_role(org, email, ADMIN, actor=email)
    assert _counts(org) == (0, 0)


def test_only_admin_reviews_scores(org, tmp_path):
    path = write_csv(tmp_path / "r.csv", long_rows({"Tax Policy": FULL_MARKS}))
    return_service.save_preview(org, return_service.check_return(org, path.read_bytes(), path.name, "2026-Q3"), uploader="local-admin")
    score_id = int(score_service.scored_round(org, actor=local_admin()).scores["score_id"].iloc[0])
    with pytest.raises(PermissionDenied):
        review_service.review_score(org, score_id, status="verified", actor="perm.sec@dept.gov.uk")
    review_service.review_score(org, score_id, status="verified", actor="kim.lead@dept.gov.uk")


def test_director_sees_only_their_directorate(org):
    director = common.resolve_actor(org, "pat.lee@dept.gov.uk")
    assert director.may_view_directorate("Policy")
    assert not director.may_view_directorate("Corporate")
    executive = common.resolve_actor(org, "perm.sec@dept.gov.uk")
    assert executive.may_view_directorate("Corporate")


def test_cli_as_applies_that_persons_scope(org, tmp_path, capsys):
    if org.dialect.name != "sqlite":
        pytest.skip("the command line opens its own engine; one backend is enough")
    url = org.url.render_as_string(hide_password=False)
    path = write_csv(tmp_path / "r.csv", long_rows({"Estates": FULL_MARKS}))
    assert main(["ingest", str(path), "--round", "2026-Q3", "--as", "im.policy@dept.gov.uk", "--db", url]) == 1
    assert "not an information manager for Estates" in capsys.readouterr().err
    assert main(["ingest", str(path), "--round", "2026-Q3", "--as", "im.estates@dept.gov.uk", "--db", url]) == 0


def _score(record: dict, team: str, criterion: str) -> str:
    """One score out of an audit record's columns (team, criterion, score, evidence)."""
    rows = zip(record["team"], record["criterion"], record["score"])
    return next(score for t, c, score in rows if (t, c) == (team, criterion))


def test_audit_trail_records_save_challenge_and_resave(org, tmp_path, capsys):
    first = write_csv(tmp_path / "a.csv", long_rows({"Tax Policy": FULL_MARKS}))
    return_service.save_preview(org, return_service.check_return(org, first.read_bytes(), "a.csv", "2026-Q3"),
                     uploader="im.policy@dept.gov.uk")
    scores = score_service.scored_round(org, actor=local_admin()).scores
    naming = int(scores.loc[scores["criterion"] == "naming", "score_id"].iloc[0])
    review_service.review_score(org, naming, status="challenged", value=1, note="Only one folder follows it",
                     actor="kim.lead@dept.gov.uk")
    second = write_csv(tmp_path / "b.csv", long_rows({"Tax Policy": dict(FULL_MARKS, naming=2)}))
    return_service.save_preview(org, return_service.check_return(org, second.read_bytes(), "b.csv", "2026-Q3"),
                     uploader="im.policy@dept.gov.uk")
    trail = audit_service.audit_trail(org, round_label="2026-Q3", reader=local_admin())
    steps = trail[trail["action"].isin(["return saved", "score challenged"])]
    assert steps["action"].tolist() == ["return saved", "score challenged", "return saved"]
    assert steps["actor"].tolist() == ["im.policy@dept.gov.uk", "kim.lead@dept.gov.uk", "im.policy@dept.gov.uk"]
    saved1, challenge, saved2 = (json.loads(v) if v else None for v in steps["after"])
    assert pd.isna(steps["before"].iloc[0])
    assert _score(saved1, "Tax Policy", "naming") == "3"
    assert challenge["review_status"] == "challenged" and challenge["reviewed_value"] == 1
    assert json.loads(steps["before"].iloc[1])["review_status"] == "self-declared"
    assert _score(json.loads(steps["before"].iloc[2]), "Tax Policy", "naming") == "3"
    assert _score(saved2, "Tax Policy", "naming") == "2"
    if org.dialect.name == "sqlite":
        url = org.url.render_as_string(hide_password=False)
        assert main(["audit", "--round", "2026-Q3", "--format", "csv", "--db", url]) == 0
        csv_text = capsys.readouterr().out
        assert csv_text.count("return saved") == 2 and "score challenged" in csv_text


def test_challenged_score_counts_at_reviewed_level(org, tmp_path):
    path = write_csv(tmp_path / "a.csv", long_rows({"Tax Policy": FULL_MARKS}))
    return_service.save_preview(org, return_service.check_return(org, path.read_bytes(), "a.csv", "2026-Q3"), uploader="local-admin")
    scores = score_service.scored_round(org, actor=local_admin()).scores
    naming = int(scores.loc[scores["criterion"] == "naming", "score_id"].iloc[0])
    review_service.review_score(org, naming, status="challenged", value=0, note="No evidence of use", actor="local-admin")
    team = score_service.scored_round(org, actor=local_admin()).teams.set_index("team").loc["Tax Policy"]
    assert team["naming.rag"] == "Red"
    assert league_service.review_mix(org) == {"verified": 0, "challenged": 1, "self-declared": 6}
    assert team["score"] == round((6.5 * 100) / 7.5, 1)
