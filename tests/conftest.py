"""Shared fixtures: real databases (SQLite always, PostgreSQL when configured) and real files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from kim_metrics.domain.criteria import CriteriaSet, load_criteria
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.schema import ensure_schema
from tests.support.databases import backends, postgres_engine


@pytest.fixture(scope="session")
def criteria() -> CriteriaSet:
    return load_criteria()


@pytest.fixture(params=backends())
def engine(request, tmp_path) -> Iterator[Engine]:
    """An empty, migrated database on each backend the run can reach."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'kim.db'}")
        ensure_schema(eng)
        yield eng
        eng.dispose()
    else:
        for eng in postgres_engine():
            ensure_schema(eng)
            yield eng


@pytest.fixture(scope="session")
def hostile_demo(tmp_path_factory) -> Iterator[Engine]:
    """The demo department plus a team typing formula payloads; read-only, built once."""
    from tests.support.hostile_demo import build_demo_db
    eng = build_demo_db(tmp_path_factory.mktemp("hostile-demo"))
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'kim.db'}")
    ensure_schema(eng)
    yield eng
    eng.dispose()
