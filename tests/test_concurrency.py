"""Eight returns saved at the same moment from eight processes: each saved whole, none lost,
none half-saved, and nobody told "database is locked".

The processes are forked from the test, so they start without re-importing anything, and a
barrier holds them until all eight have checked their return; then all eight save at once.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from pathlib import Path
from threading import Thread

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from kim_metrics.services import admin as admin_service
from kim_metrics.services import league as league_service
from kim_metrics.services import returns as return_service
from kim_metrics.storage import engine as engine_mod
from kim_metrics.domain.access import LOCAL_ADMIN_EMAIL
from kim_metrics.storage.models import Return, Score, Team
from kim_metrics.storage.engine import make_engine, retry_when_busy
from kim_metrics.domain.errors import DatabaseBusy, KimError
from tests.support.databases import child_url
from tests.support.returns import FULL_MARKS, long_rows, write_csv

pytestmark = pytest.mark.xdist_group("concurrency")
ROUND = "2026-Q3"
WRITERS = 8
TEAMS = [f"Team {i}" for i in range(WRITERS)]


def _org(teams: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"team": teams, "directorate": "Digital", "group": "Corporate",
                         "director": "ali.khan@dept.gov.uk", "information_managers": [[] for _ in teams]})


def _save(url: str, path: str, barrier, results) -> None:
    engine = make_engine(url)
    try:
        preview = return_service.check_return(engine, Path(path).read_bytes(), Path(path).name, ROUND)
        barrier.wait(timeout=120)
        saved = return_service.save_preview(engine, preview, uploader=LOCAL_ADMIN_EMAIL)
        results.put(("saved", Path(path).name, saved.return_id, saved.superseded))
    except KimError as exc:
        results.put(("refused", Path(path).name, str(exc), 0))
    except BaseException:
        results.put(("crashed", Path(path).name, traceback.format_exc(), 0))
    finally:
        engine.dispose()


def _save_all_at_once(engine: Engine, paths: list[Path]) -> list[tuple]:
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(paths)), context.Queue()
    url = child_url(engine)
    engine.dispose()  # no pooled connection may be shared with a forked child
    workers = [context.Process(target=_save, args=(url, str(p), barrier, results)) for p in paths]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(60)
    return outcomes


def _assert_all_saved(outcomes: list[tuple]) -> None:
    problems = [o for o in outcomes if o[0] != "saved"]
    assert not problems, "\n".join(f"{o[1]}: {o[0]}: {o[2]}" for o in problems)
    assert not any("locked" in str(o[2]) for o in outcomes)


def _current(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(select(Team.name, Score.return_id, Score.criterion, Score.evidence)
                            .join(Team, Score.team_id == Team.id)
                            .where(Score.current.is_(True))).all()
    return pd.DataFrame(rows, columns=["team", "return_id", "criterion", "evidence"])


def _count(engine: Engine, model) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def test_eight_returns_for_eight_teams_at_once(engine: Engine, tmp_path: Path) -> None:
    admin_service.save_organisation(engine, _org(TEAMS))
    paths = [write_csv(tmp_path / f"r{i}.csv", long_rows({team: FULL_MARKS}, evidence=f"Return {i}"))
             for i, team in enumerate(TEAMS)]

    outcomes = _save_all_at_once(engine, paths)

    _assert_all_saved(outcomes)
    assert _count(engine, Return) == WRITERS and _count(engine, Score) == WRITERS * 7
    current = _current(engine)
    by_team = current.groupby("team")
    assert by_team.size().to_dict() == {team: 7 for team in TEAMS}
    assert (by_team["return_id"].nunique() == 1).all()
    assert (by_team["criterion"].nunique() == 7).all()
    # Each team's scores are the ones its own return carried.
    assert all(current.loc[current["team"] == f"Team {i}", "evidence"].eq(f"Return {i}").all()
               for i in range(WRITERS))
    assert len(league_service.rounds(engine)) == 1


def test_eight_returns_touching_the_same_team_at_once(engine: Engine, tmp_path: Path) -> None:
    # Every return carries the shared team and one of its own: the saves must take turns, each
    # superseding the shared team's scores from the one before.
    shared, own = "Shared Team", TEAMS
    admin_service.save_organisation(engine, _org([shared, *own]))
    paths = [write_csv(tmp_path / f"r{i}.csv",
                       long_rows({shared: FULL_MARKS, team: FULL_MARKS}, evidence=f"Return {i}"))
             for i, team in enumerate(own)]

    outcomes = _save_all_at_once(engine, paths)

    _assert_all_saved(outcomes)
    assert _count(engine, Return) == WRITERS and _count(engine, Score) == WRITERS * 14
    current = _current(engine)
    assert current.groupby("team").size().to_dict() == {team: 7 for team in [shared, *own]}
    assert current.groupby("team")["return_id"].nunique().eq(1).all()
    assert current.loc[current["team"] == shared, "criterion"].nunique() == 7
    # Seven of the eight saves each replaced the seven scores the one before had just written.
    assert sum(o[3] for o in outcomes) == (WRITERS - 1) * 7
    winner = current.loc[current["team"] == shared, "return_id"].iloc[0]
    assert winner == max(o[2] for o in outcomes)


def test_a_save_waits_for_another_writer_instead_of_failing(sqlite_engine: Engine, tmp_path: Path) -> None:
    admin_service.save_organisation(sqlite_engine, _org(TEAMS[:1]))
    path = write_csv(tmp_path / "r.csv", long_rows({TEAMS[0]: FULL_MARKS}))
    preview = return_service.check_return(sqlite_engine, path.read_bytes(), "r.csv", ROUND)
    import sqlite3
    blocker = sqlite3.connect(sqlite_engine.url.database, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock for a while
    release = Thread(target=lambda: (time.sleep(1.0), blocker.execute("COMMIT")))
    release.start()
    started = time.monotonic()
    saved = return_service.save_preview(sqlite_engine, preview, uploader=LOCAL_ADMIN_EMAIL)
    release.join()
    blocker.close()
    assert saved.scores == 7 and time.monotonic() - started >= 0.9


class _Busy(Exception):
    sqlite_errorcode = 5  # SQLITE_BUSY


class _Deadlock(Exception):
    sqlstate = "40P01"


class _Broken(Exception):
    sqlstate = "42P01"  # undefined table: a defect, not a reason to wait


@pytest.mark.parametrize("cause", [_Busy, _Deadlock])
def test_transient_errors_are_retried_then_reported_plainly(cause, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_mod, "RETRY_FIRST_DELAY_S", 0.0)
    calls = []

    @retry_when_busy
    def flaky(fail_times: int) -> str:
        calls.append(1)
        if len(calls) <= fail_times:
            raise OperationalError("INSERT ...", {}, cause())
        return "saved"

    assert flaky(3) == "saved" and len(calls) == 4
    calls.clear()
    with pytest.raises(DatabaseBusy, match="nothing was saved. Try again in a minute"):
        flaky(100)
    assert len(calls) == engine_mod.RETRY_ATTEMPTS


def test_other_database_errors_are_not_retried() -> None:
    calls = []

    @retry_when_busy
    def broken() -> None:
        calls.append(1)
        raise OperationalError("SELECT ...", {}, _Broken())

    with pytest.raises(OperationalError):
        broken()
    assert len(calls) == 1
