"""A save killed with SIGKILL half-way leaves the database exactly as it was, and the next start
needs no repair.

The killed process is a fork of the test that saves a 5,000-team return. A listener on its own
engine (test code, not production code) pauses it right after the score rows are inserted,
inside the open transaction; the test then kills it with SIGKILL, which cannot be caught.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Engine

from kim_metrics.services import admin as admin_service
from kim_metrics.services import returns as return_service
from kim_metrics.domain.access import LOCAL_ADMIN_EMAIL
from kim_metrics.storage.models import Directorate, Return, Score, Team
from kim_metrics.storage.engine import make_engine
from kim_metrics.reading.returns import ParsedReturn
from kim_metrics.storage.schema import ensure_schema
from tests.support.badfiles import database_dump
from tests.support.returns import FULL_MARKS, long_rows, write_csv
from tests.support.databases import child_url

pytestmark = pytest.mark.xdist_group("crash")
ROUND = "2026-Q3"
TEAMS = 5_000
SCORE_VALUES = {"naming": 3.0, "corporate_system": 2.0, "what_to_keep": 1.0, "asset_register": 0.0,
                "information_manager": 1.0, "training": 85.0, "legacy_review": 2.0}


def _organisation(engine: Engine) -> None:
    """5,000 teams in one directorate, inserted directly: this is the scene, not the test."""
    with engine.begin() as conn:
        directorate = conn.execute(insert(Directorate).values(
            name="Operations", group_name="Delivery", director_email="dir@dept.gov.uk")).inserted_primary_key[0]
        conn.execute(insert(Team), [{"name": f"Team {i:04d}", "directorate_id": directorate,
                                     "information_managers": "", "active": True} for i in range(TEAMS)])


def _big_return(engine: Engine) -> ParsedReturn:
    org = admin_service.organisation(engine)
    scores = org[["team_id", "team", "directorate", "group"]].merge(
        pd.DataFrame({"criterion": list(SCORE_VALUES), "claimed": list(SCORE_VALUES.values())}), how="cross")
    scores["claimed_raw"] = scores["claimed"].map(lambda v: f"{v:g}")
    scores["evidence"] = "Checked in March"
    scores["evidence_link"] = ""
    scores["comment"] = ""
    scores["sheet"] = "Return"
    scores["row"] = range(2, len(scores) + 2)
    return ParsedReturn(file_name="everyone.xlsx", layout="long", scores=scores)


def _save_then_hang(url: str, parsed: ParsedReturn, marker: str) -> None:
    engine = make_engine(url)

    @event.listens_for(engine, "after_cursor_execute")
    def pause_inside_the_transaction(conn, cursor, statement, parameters, context, executemany):
        # The audit record is written just after the scores (which PostgreSQL COPYs, out of
        # sight of cursor events): pausing there leaves every score row written, uncommitted.
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT") and "return saved" in str(parameters):
            Path(marker).write_text("in transaction")
            time.sleep(600)

    return_service.save_parsed(engine, parsed, ROUND, uploader=LOCAL_ADMIN_EMAIL, file_hash="f" * 64)
    Path(marker).write_text("finished")


def _transaction_is_open(engine: Engine) -> bool:
    if engine.dialect.name == "sqlite":
        probe = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            probe.close()
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                "AND state = 'idle in transaction' AND pid <> pg_backend_pid()")) > 0


def test_a_save_killed_half_way_leaves_the_database_as_it_was(engine: Engine, tmp_path: Path) -> None:
    _organisation(engine)
    # An earlier return for some of the teams, so the killed save had scores to supersede.
    first = write_csv(tmp_path / "first.csv", long_rows({"Team 0000": FULL_MARKS, "Team 0001": FULL_MARKS},
                                                        directorate="Operations", group="Delivery"))
    return_service.save_preview(engine, return_service.check_return(engine, first.read_bytes(), "first.csv", ROUND),
                     uploader=LOCAL_ADMIN_EMAIL)
    parsed = _big_return(engine)
    before = database_dump(engine)
    url = child_url(engine)
    engine.dispose()
    marker = tmp_path / "marker"

    child = multiprocessing.get_context("fork").Process(target=_save_then_hang, args=(url, parsed, str(marker)))
    child.start()
    deadline = time.monotonic() + 120
    while not marker.exists() and child.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists() and marker.read_text() == "in transaction", "the save never reached its inserts"
    assert _transaction_is_open(engine)
    assert database_dump(engine) == before  # others never see a save in progress

    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL

    assert database_dump(engine) == before
    # The next start: a new engine, the usual start-up, and a save, with no repair step.
    restarted = make_engine(url)
    ensure_schema(restarted)
    if restarted.dialect.name == "sqlite":
        with sqlite3.connect(restarted.url.database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    second = write_csv(tmp_path / "second.csv", long_rows({"Team 0001": FULL_MARKS}, evidence="Again",
                                                          directorate="Operations", group="Delivery"))
    saved = return_service.save_preview(restarted, return_service.check_return(restarted, second.read_bytes(), "second.csv", ROUND),
                             uploader=LOCAL_ADMIN_EMAIL)
    assert saved.superseded == 7
    with restarted.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Return)) == 2
        assert conn.scalar(select(func.count()).select_from(Score).where(Score.current.is_(True))) == 14
    restarted.dispose()
