"""Tests for kim_metrics.demo: the demo department's shape, its determinism, the movement
and gaps it must show, and loading it into a real database once and only once."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.storage.engine import make_engine
from kim_metrics.services.demo import (
    DEMO_SEED, demo_org, demo_rounds, demo_scores, load_demo, write_org_workbook, write_samples,
)
from kim_metrics.domain.errors import KimError
from kim_metrics.reading.matching import parse_score
from kim_metrics.reading.organisation import parse_org
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reading.returns import parse_return
from kim_metrics.domain.scoring import score_rows, team_scores
from kim_metrics.storage.schema import ensure_schema
from kim_metrics.storage.rounds import list_rounds
from kim_metrics.storage.organisation import org_frame
from kim_metrics.services.admin import save_organisation
from kim_metrics.storage.returns import returns_frame
from kim_metrics.storage.scores import round_scores

EMAIL = re.compile(r"^[a-z]+\.[a-z]+@kim-demo\.gov\.uk$")
SCORE_COLUMNS = ["team_id", "team", "directorate", "group", "criterion", "claimed_raw", "claimed",
                 "evidence", "evidence_link", "comment", "sheet", "row"]


def _with_ids(org: pd.DataFrame) -> pd.DataFrame:
    return org.assign(team_id=range(1, len(org) + 1))


@pytest.fixture(scope="module")
def org() -> pd.DataFrame:
    return _with_ids(demo_org())


@pytest.fixture(scope="module")
def rounds(org: pd.DataFrame, criteria: CriteriaSet) -> dict[str, pd.DataFrame]:
    return {r: demo_scores(org, criteria, r) for r in demo_rounds()}


@pytest.fixture(scope="module")
def league(org: pd.DataFrame, criteria: CriteriaSet,
           rounds: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each round's team scores, by the real scoring rules."""
    return {r: team_scores(score_rows(s, criteria), org, criteria).set_index("team_id")
            for r, s in rounds.items()}


def _engine(tmp_path: Path):
    return make_engine(f"sqlite:///{tmp_path / 'kim.db'}")


def test_organisation_shape() -> None:
    org = demo_org()
    assert list(org.columns) == ["team", "directorate", "group", "director", "information_managers"]
    assert org["group"].nunique() == 4
    assert org["directorate"].nunique() == 16
    assert (org.groupby("group")["directorate"].nunique() == 4).all()
    assert len(org) == 120 and org["team"].is_unique
    assert (org.groupby("directorate")["director"].nunique() == 1).all()
    assert org["director"].map(EMAIL.match).all()
    sizes = org["information_managers"].map(len)
    assert sizes.between(1, 2).all() and (sizes == 2).any()
    assert all(EMAIL.match(e) for ims in org["information_managers"] for e in ims)
    assert {"Tax Policy Analysis", "Estates Management"} <= set(org["team"])


def test_organisation_workbook_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "org.xlsx"
    write_org_workbook(path, demo_org())
    pd.testing.assert_frame_equal(parse_org(read_workbook(path)), demo_org())


def test_rounds_are_fixed_quarters() -> None:
    assert demo_rounds() == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]


def test_same_seed_same_data_other_seed_differs(criteria: CriteriaSet) -> None:
    pd.testing.assert_frame_equal(demo_org(), demo_org(DEMO_SEED))
    other_org = demo_org(7)
    assert not demo_org().equals(other_org)
    org = _with_ids(demo_org())
    first = demo_scores(org, criteria, "2026-Q1")
    pd.testing.assert_frame_equal(first, demo_scores(org, criteria, "2026-Q1"))
    assert not first.equals(demo_scores(org, criteria, "2026-Q1", seed=7))


def test_a_team_keeps_its_story_whatever_else_is_asked_about(criteria: CriteriaSet,
                                                             org: pd.DataFrame,
                                                             rounds: dict[str, pd.DataFrame]) -> None:
    finance = org[org["directorate"] == "Finance Directorate"].iloc[::-1]
    alone = demo_scores(finance, criteria, "2026-Q2")
    together = rounds["2026-Q2"]
    together = together[together["directorate"] == "Finance Directorate"]
    key = ["team", "criterion"]
    pd.testing.assert_frame_equal(
        alone.drop(columns="row").sort_values(key).reset_index(drop=True),
        together.drop(columns="row").sort_values(key).reset_index(drop=True))


def test_scores_shape_and_values(criteria: CriteriaSet, org: pd.DataFrame,
                                 rounds: dict[str, pd.DataFrame]) -> None:
    scores = rounds["2026-Q3"]
    assert list(scores.columns) == SCORE_COLUMNS
    assert set(scores["team_id"]) <= set(org["team_id"])
    # Every returning team gives every criterion, once.
    given = scores.groupby("team_id")["criterion"].agg(lambda ids: tuple(sorted(ids)))
    assert set(given) == {tuple(sorted(criteria.ids))}
    for r in scores.drop_duplicates(["criterion", "claimed_raw"]).itertuples():
        assert parse_score(r.claimed_raw, criteria.get(r.criterion), criteria.rag) == (r.claimed, None)
    rows = scores.groupby("directorate")["row"].agg(list)
    assert all(r == list(range(2, len(r) + 2)) for r in rows)


def test_believable_evidence_with_some_claims_unevidenced(rounds: dict[str, pd.DataFrame]) -> None:
    scores = pd.concat(rounds.values())
    claims = scores[scores["claimed"] > 0]
    unevidenced = (claims["evidence"] == "") & (claims["evidence_link"] == "")
    assert 0.04 <= unevidenced.mean() <= 0.12
    links = scores.loc[scores["evidence_link"] != "", "evidence_link"]
    assert 0.2 <= len(links) / len(claims) <= 0.6
    assert links.str.startswith("https://intranet.kim-demo.gov.uk/").all()
    assert (scores.loc[scores["claimed"] == 0, "evidence"] == "").all()
    assert claims.loc[~unevidenced, "evidence"].str.len().min() > 30
    assert not claims["evidence"].str.contains("{", regex=False).any()


def test_some_teams_do_not_return_most_in_the_first_round(org: pd.DataFrame,
                                                          rounds: dict[str, pd.DataFrame]) -> None:
    missing = {r: len(org) - s["team_id"].nunique() for r, s in rounds.items()}
    assert all(n >= 1 for n in missing.values())
    assert all(missing["2025-Q4"] > n for r, n in missing.items() if r != "2025-Q4")
    assert all(n <= 0.15 * len(org) for n in missing.values())


def test_teams_move_between_rounds_and_the_department_improves(
        league: dict[str, pd.DataFrame]) -> None:
    labels = demo_rounds()
    for before, after in zip(labels, labels[1:]):
        change = (league[after]["score"] - league[before]["score"]).dropna()
        assert (change > 0).sum() > (change < 0).sum() > 10
    assert league[labels[-1]]["score"].mean() > league[labels[0]]["score"].mean() + 5
    assert any(s["score"].dropna().duplicated().any() for s in league.values())
    assert {"Red", "Amber", "Green", "No return"} <= set(league[labels[-1]]["rag"])


def test_only_demo_rounds(criteria: CriteriaSet, org: pd.DataFrame) -> None:
    with pytest.raises(KimError, match="not a demo round"):
        demo_scores(org, criteria, "2024-Q1")


def test_load_demo_once(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    result = load_demo(engine)
    assert result["loaded"] is True
    assert (result["groups"], result["directorates"], result["teams"], result["rounds"]) == (4, 16, 120, 4)
    with engine.connect() as conn:
        assert [r.label for r in list_rounds(conn)] == demo_rounds()
        org = org_frame(conn)
        returns = returns_frame(conn)
        total = sum(len(round_scores(conn, r.id)) for r in list_rounds(conn))
    assert len(org) == 120
    assert len(returns) == result["returns"] and total == result["scores"]
    assert (returns.groupby("round").size() > 10).all()
    assert (returns["status"] == "current").all()
    assert returns["file_name"].str.fullmatch(r"[a-z-]+-directorate-\d{4}-Q\d\.xlsx").all()
    managers = {e for ims in org["information_managers"] for e in ims.split("; ")}
    assert set(returns["uploader"]) <= managers

    assert load_demo(engine) == {"loaded": False, "reason": "The database already has rounds."}
    with engine.connect() as conn:
        assert len(returns_frame(conn)) == result["returns"]
    engine.dispose()


def test_load_demo_leaves_a_real_organisation_alone(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    real = pd.DataFrame([{"team": "Records", "directorate": "Knowledge", "group": "Corporate",
                          "director": "", "information_managers": []}])
    ensure_schema(engine)
    save_organisation(engine, real)
    assert load_demo(engine)["loaded"] is False
    with engine.connect() as conn:
        assert org_frame(conn)["team"].tolist() == ["Records"]
        assert list_rounds(conn) == []
    engine.dispose()


def test_sample_files_read_back_cleanly(tmp_path: Path, criteria: CriteriaSet,
                                        org: pd.DataFrame) -> None:
    paths = write_samples(tmp_path / "samples")
    assert [p.name for p in paths] == ["demo-organisation.xlsx", "sample-return-long.xlsx",
                                       "sample-return-wide.csv"]
    pd.testing.assert_frame_equal(parse_org(read_workbook(paths[0])), demo_org())
    long = parse_return(read_workbook(paths[1]), criteria, org)
    wide = parse_return(read_workbook(paths[2]), criteria, org)
    assert (long.layout, wide.layout) == ("long", "wide")
    assert set(long.scores["directorate"]) == {"Estates and Security Directorate"}
    key = ["team", "criterion"]
    columns = [*key, "claimed", "evidence", "evidence_link", "comment"]
    pd.testing.assert_frame_equal(
        long.scores[columns].sort_values(key).reset_index(drop=True),
        wide.scores[columns].sort_values(key).reset_index(drop=True))
    expected = demo_scores(org[org["directorate"] == "Estates and Security Directorate"],
                           criteria, "2026-Q3")
    assert sorted(long.scores["claimed"]) == sorted(expected["claimed"])


def test_shipped_samples_load_cleanly_into_the_demo(tmp_path: Path) -> None:
    """data/samples/ is what people try first: each file must check cleanly against the demo."""
    from kim_metrics.services import admin as admin_service
    from kim_metrics.services import returns as return_service
    samples = Path(__file__).resolve().parent.parent / "data" / "samples"
    engine = _engine(tmp_path)
    load_demo(engine)
    for name in ("sample-return-long.xlsx", "sample-return-wide.csv"):
        preview = return_service.check_return(engine, (samples / name).read_bytes(), name, "2026-Q3")
        assert len(preview.teams) > 0 and (preview.scores["criterion"].nunique() == 7)
    counts = admin_service.load_org(engine, (samples / "demo-organisation.xlsx").read_bytes(),
                          "demo-organisation.xlsx", actor="local-admin")
    assert counts["teams_added"] == 0 and counts["teams_retired"] == 0
