"""Shared fixtures: real databases (SQLite always, PostgreSQL when configured) and real files."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from kim_metrics.domain.criteria import CriteriaSet, load_criteria
from kim_metrics.storage.engine import database_url, make_engine
from kim_metrics.storage.schema import ensure_schema

POSTGRES_ENV = "KIM_TEST_POSTGRES_URL"
REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
RETURN_HEADERS = ["Group", "Directorate", "Team", "Criterion", "Score", "Evidence",
                  "Evidence link", "Comment"]


@pytest.fixture(scope="session")
def criteria() -> CriteriaSet:
    return load_criteria()


def _postgres_engine() -> Iterator[Engine]:
    """A fresh schema in the configured PostgreSQL database, dropped afterwards."""
    url = database_url(os.environ[POSTGRES_ENV])
    schema = f"kim_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _backends() -> list:
    params = ["sqlite"]
    params.append(pytest.param("postgres", marks=pytest.mark.skipif(
        not os.environ.get(POSTGRES_ENV), reason=f"set {POSTGRES_ENV} to test PostgreSQL")))
    return params


@pytest.fixture(params=_backends())
def engine(request, tmp_path) -> Iterator[Engine]:
    """An empty, migrated database on each backend the run can reach."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'kim.db'}")
        ensure_schema(eng)
        yield eng
        eng.dispose()
    else:
        for eng in _postgres_engine():
            ensure_schema(eng)
            yield eng


@pytest.fixture(scope="session")
def hostile_demo(tmp_path_factory) -> Iterator[Engine]:
    """The demo department plus a team typing formula payloads; read-only, built once."""
    from tests.hostile_demo import build_demo_db
    eng = build_demo_db(tmp_path_factory.mktemp("hostile-demo"))
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'kim.db'}")
    ensure_schema(eng)
    yield eng
    eng.dispose()


def long_rows(teams: dict[str, dict[str, object]], *, directorate: str = "Digital",
              group: str = "Corporate", evidence: str = "Spot check, March") -> list[list[object]]:
    """Long-layout rows for {team: {criterion id: score}}, each with evidence."""
    return [[group, directorate, team, cid, score, evidence, "", ""]
            for team, scores in teams.items() for cid, score in scores.items()]


def write_csv(path: Path, rows: list[list[object]], headers: list[str] = RETURN_HEADERS) -> Path:
    pd.DataFrame(rows, columns=headers).to_csv(path, index=False)
    return path


def write_xlsx(path: Path, rows: list[list[object]], headers: list[str] = RETURN_HEADERS,
               sheet: str = "Return") -> Path:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headers)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


FULL_MARKS = {"naming": 3, "corporate_system": 3, "what_to_keep": 3, "asset_register": 3,
              "information_manager": "Yes", "training": 100, "legacy_review": 3}
NOTHING = {"naming": 0, "corporate_system": 0, "what_to_keep": 0, "asset_register": 0,
           "information_manager": "No", "training": 0, "legacy_review": 0}
