"""Stored results: after any mix of saves, reviews, organisation changes and new rounds, what
is stored for every round equals a fresh computation from the scores, on every backend."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kim_metrics.cli import main
from kim_metrics.domain.access import local_admin
from kim_metrics.domain.criteria import load_criteria
from kim_metrics.domain.errors import KimError, PermissionDenied
from kim_metrics.reading.returns import ParsedReturn
from kim_metrics.services import admin as admin_service
from kim_metrics.services import common
from kim_metrics.services import league as league_service
from kim_metrics.services import review as review_service
from kim_metrics.services.returns import check_return, save_parsed, save_preview
from kim_metrics.storage import results
from kim_metrics.storage.criteria import criteria_version
from kim_metrics.storage.models import Score
from kim_metrics.storage.rounds import list_rounds
from tests.support.databases import child_url
from tests.support.returns import FULL_MARKS, long_rows, write_csv

CRITERIA = load_criteria()
ROUNDS = ["2026-Q1", "2026-Q2", "2026-Q3"]
TEAMS = [("Alpha", "Policy", "G1"), ("Beta", "Policy", "G1"), ("Gamma", "Digital", "G2"),
         ("Delta", "Digital", "G2"), ("Epsilon", "Estates", "G2")]
VALUES = {"level": [0, 1, 2, 3], "percent": [0, 35, 60, 85, 100], "yesno": [0, 1]}
SETTINGS = settings(max_examples=5, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _org(teams) -> pd.DataFrame:
    return pd.DataFrame({"team": [t for t, _, _ in teams], "directorate": [d for _, d, _ in teams],
                         "group": [g for _, _, g in teams], "director": [None] * len(teams),
                         "information_managers": [[] for _ in teams]})


def _save(engine, round_label: str, picks: list[tuple[int, list[int], list[bool]]]) -> None:
    org = admin_service.organisation(engine).reset_index(drop=True)
    rows = []
    for team_pick, values, evidenced in picks:
        team = org.iloc[team_pick % len(org)]
        for c, value, has_evidence in zip(CRITERIA, values, evidenced):
            choices = VALUES[c.scale]
            claimed = float(choices[value % len(choices)])
            rows.append({"team_id": int(team["team_id"]), "team": team["team"],
                         "directorate": team["directorate"], "group": team["group"],
                         "criterion": c.id, "claimed_raw": c.label(claimed), "claimed": claimed,
                         "evidence": "Seen by the KIM team" if has_evidence else "",
                         "evidence_link": "", "comment": "", "sheet": "Return", "row": len(rows) + 2})
    scores = pd.DataFrame(rows).drop_duplicates(["team_id", "criterion"])
    save_parsed(engine, ParsedReturn(file_name="r.csv", layout="long", scores=scores), round_label,
                uploader="local-admin", file_hash=f"{len(rows)}-{round_label}".ljust(64, "0"))


def _review(engine, pick: int, challenge: bool) -> None:
    with engine.connect() as conn:
        ids = conn.scalars(select(Score.id).where(Score.current.is_(True)).order_by(Score.id)).all()
    if not ids:
        return
    score_id = ids[pick % len(ids)]
    if challenge:
        review_service.review_score(engine, score_id, status="challenged", value=0, note="Not seen",
                                    actor=local_admin())
    else:
        review_service.review_score(engine, score_id, status="verified", actor=local_admin())


def _comparable(frame: pd.DataFrame, key: str) -> list[dict]:
    """Rows as plain values (NaN and NA as None), sorted by ``key``, for an exact comparison."""
    frame = frame.sort_values(key).reset_index(drop=True)
    out = []
    for row in frame.to_dict("records"):
        out.append({k: (None if v is None or (not isinstance(v, (str, bool, np.bool_)) and pd.isna(v))
                        else (bool(v) if isinstance(v, (bool, np.bool_)) else v))
                    for k, v in row.items()})
    return out


def assert_stored_equals_fresh(engine) -> None:
    with engine.connect() as conn:
        for rnd in list_rounds(conn):
            criteria = criteria_version(conn, rnd.criteria_version_id)
            _, fresh = results.compute_teams(conn, rnd)
            stored = results.read_teams(conn, rnd.id)
            columns = list(fresh.columns)
            assert sorted(stored.columns) == sorted(columns), rnd.label
            assert _comparable(stored[columns], "team_id") == _comparable(fresh, "team_id"), rnd.label
            for level, units in results.compute_units(fresh, criteria).items():
                kept = results.read_units(conn, rnd.id, level)
                shared = [c for c in units.columns if c in kept.columns]
                assert {"name", "score", "rag", "rank", "teams", "returned_teams"} <= set(shared)
                assert _comparable(kept[shared], "name") == _comparable(units[shared], "name"), \
                    (rnd.label, level)


operation = st.one_of(
    st.tuples(st.just("save"), st.sampled_from(ROUNDS),
              st.lists(st.tuples(st.integers(0, 9), st.lists(st.integers(0, 4), min_size=7, max_size=7),
                                 st.lists(st.booleans(), min_size=7, max_size=7)),
                       min_size=1, max_size=3)),
    st.tuples(st.just("review"), st.integers(0, 200), st.booleans()),
    st.tuples(st.just("retire"), st.integers(0, 9)),
    st.tuples(st.just("move"), st.integers(0, 9), st.sampled_from(["Policy", "Digital", "Estates"])),
    st.tuples(st.just("add"), st.integers(0, 99)),
    st.tuples(st.just("open"), st.sampled_from(["2026-Q4", "2027-Q1"])),
)


@SETTINGS
@given(ops=st.lists(operation, min_size=1, max_size=5))
def test_stored_results_equal_a_fresh_computation_after_any_changes(engine, ops) -> None:
    teams = list(TEAMS)
    if admin_service.organisation(engine).empty:
        admin_service.save_organisation(engine, _org(teams))
    current = {(t, d, g) for t, d, g in zip(*[admin_service.organisation(engine)[c]
                                               for c in ("team", "directorate", "group")])}
    teams = sorted(current) or teams
    for op in ops:
        kind = op[0]
        if kind == "save":
            _save(engine, op[1], op[2])
        elif kind == "review":
            _review(engine, op[1], op[2])
        elif kind == "retire" and len(teams) > 1:
            teams.pop(op[1] % len(teams))
            admin_service.save_organisation(engine, _org(teams))
        elif kind == "move":
            name, _, group = teams[op[1] % len(teams)]
            teams[op[1] % len(teams)] = (name, op[2], {"Policy": "G1"}.get(op[2], "G2"))
            admin_service.save_organisation(engine, _org(sorted(set(teams))))
            teams = sorted(set(teams))
        elif kind == "add":
            teams.append((f"Team {op[1]}", "Estates", "G2"))
            teams = sorted(set(teams))
            admin_service.save_organisation(engine, _org(teams))
        elif kind == "open":
            admin_service.open_round(engine, op[1], actor=local_admin())
        assert_stored_equals_fresh(engine)


def test_every_change_moves_the_data_version(engine, tmp_path) -> None:
    seen = [common.data_version(engine)]
    admin_service.save_organisation(engine, _org(TEAMS))
    seen.append(common.data_version(engine))
    _save(engine, "2026-Q3", [(0, [3] * 7, [True] * 7)])
    seen.append(common.data_version(engine))
    _review(engine, 0, challenge=True)
    seen.append(common.data_version(engine))
    admin_service.open_round(engine, "2026-Q4", actor=local_admin())
    seen.append(common.data_version(engine))
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


def test_rebuild_recomputes_what_was_lost(engine) -> None:
    admin_service.save_organisation(engine, _org(TEAMS))
    _save(engine, "2026-Q2", [(0, [3] * 7, [True] * 7), (2, [1] * 7, [False] * 7)])
    _save(engine, "2026-Q3", [(1, [2] * 7, [True] * 7)])
    before = {lvl: league_service.league(engine, "2026-Q3", lvl).table for lvl in ("team", "directorate")}
    with engine.begin() as conn:
        conn.execute(results.RoundResult.__table__.delete())
    assert [r.label for r in results.rounds_without_results(engine.connect())] == ["2026-Q2", "2026-Q3"]
    assert admin_service.rebuild(engine, actor=local_admin()) == ["2026-Q2", "2026-Q3"]
    for level, table in before.items():
        pd.testing.assert_frame_equal(league_service.league(engine, "2026-Q3", level).table, table)
    assert_stored_equals_fresh(engine)


def test_kim_rebuild_recomputes_the_round_named_or_every_round(engine, capsys) -> None:
    admin_service.save_organisation(engine, _org(TEAMS))
    _save(engine, "2026-Q2", [(0, [3] * 7, [True] * 7)])
    _save(engine, "2026-Q3", [(1, [2] * 7, [True] * 7)])
    with engine.begin() as conn:
        conn.execute(results.RoundResult.__table__.delete())
    assert main(["rebuild", "--round", "2026-Q3", "--db", child_url(engine)]) == 0
    assert "Rebuilt the stored results of 1 round(s): 2026-Q3." in capsys.readouterr().out
    # Opening the database fills in any round left without results, so none is missing now.
    assert results.rounds_without_results(engine.connect()) == []
    assert_stored_equals_fresh(engine)
    assert main(["rebuild", "--db", child_url(engine)]) == 0
    assert "2 round(s): 2026-Q2, 2026-Q3" in capsys.readouterr().out
    assert_stored_equals_fresh(engine)


def test_only_the_kim_team_rebuilds(engine) -> None:
    with pytest.raises(PermissionDenied):
        admin_service.rebuild(engine, actor="someone@dept.gov.uk")


def test_the_trend_reads_each_round_once_stored(engine) -> None:
    admin_service.save_organisation(engine, _org(TEAMS))
    _save(engine, "2026-Q1", [(0, [3] * 7, [True] * 7)])
    _save(engine, "2026-Q2", [(0, [0] * 7, [True] * 7), (1, [3] * 7, [True] * 7)])
    trend = league_service.trend(engine).set_index("round")
    assert trend.index.tolist() == ["2026-Q1", "2026-Q2"]
    assert trend["No return"].tolist() == [4, 3]
    for label in trend.index:
        teams = league_service.league(engine, label, "team").table
        returned = teams[teams["returned"]]
        assert trend.at[label, "score"] == round(returned["score"].mean(), 1)
        for status, count in teams["rag"].value_counts().items():
            assert trend.at[label, status] == count, (label, status)


# Only the KIM team opens rounds ------------------------------------------------------------

IM = "im.alpha@dept.gov.uk"


def _with_im(engine) -> None:
    org = _org(TEAMS)
    org["information_managers"] = [[IM] if t == "Alpha" else [] for t, _, _ in TEAMS]
    admin_service.save_organisation(engine, org)


def test_an_information_managers_return_for_an_unopened_round_is_refused(engine, tmp_path) -> None:
    _with_im(engine)
    admin_service.open_round(engine, "2026-Q3", actor=local_admin())
    path = write_csv(tmp_path / "r.csv", long_rows({"Alpha": FULL_MARKS}, directorate="Policy", group="G1"))
    with pytest.raises(PermissionDenied, match=r"Round 2099-Q4 is not open.*Rounds open: 2026-Q3"):
        check_return(engine, path.read_bytes(), "r.csv", "2099-Q4", uploader=IM)
    preview = check_return(engine, path.read_bytes(), "r.csv", "2099-Q4")   # no uploader: a dry look
    with pytest.raises(PermissionDenied, match="not open"):
        save_preview(engine, preview, uploader=IM)
    assert [r.label for r in league_service.rounds(engine)] == ["2026-Q3"]
    saved = save_preview(engine, check_return(engine, path.read_bytes(), "r.csv", "2026-Q3", uploader=IM),
                         uploader=IM)
    assert saved.round == "2026-Q3" and not saved.round_opened


def test_an_admins_return_opens_its_round(engine, tmp_path) -> None:
    _with_im(engine)
    path = write_csv(tmp_path / "r.csv", long_rows({"Alpha": FULL_MARKS}, directorate="Policy", group="G1"))
    saved = save_preview(engine, check_return(engine, path.read_bytes(), "r.csv", "2026-Q4"),
                         uploader=local_admin())
    assert saved.round_opened


def test_a_round_without_returns_can_be_deleted_and_one_with_returns_cannot(engine, tmp_path) -> None:
    _with_im(engine)
    admin_service.open_round(engine, "2099-Q4", actor=local_admin())
    _save(engine, "2026-Q3", [(0, [3] * 7, [True] * 7)])
    with pytest.raises(PermissionDenied):
        admin_service.delete_round(engine, "2099-Q4", actor=IM)
    admin_service.delete_round(engine, "2099-Q4", actor=local_admin())
    assert [r.label for r in league_service.rounds(engine)] == ["2026-Q3"]
    with pytest.raises(KimError, match="has 1 return"):
        admin_service.delete_round(engine, "2026-Q3", actor=local_admin())
    with engine.connect() as conn:
        trail = [json.loads(r) for r in conn.exec_driver_sql(
            "SELECT before FROM audit WHERE action = 'round deleted'").scalars()]
    assert trail == [{"round": "2099-Q4", "opened_by": "local-admin"}]


def test_the_schema_revision_read_from_the_files_is_alembics_head(sqlite_engine) -> None:
    from alembic.script import ScriptDirectory

    from kim_metrics.storage.engine import alembic_config, database_revision, head_revision
    assert head_revision() == ScriptDirectory.from_config(alembic_config(sqlite_engine)).get_current_head()
    assert database_revision(sqlite_engine) == head_revision()
