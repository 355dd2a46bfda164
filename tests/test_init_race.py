"""Starts that race: several `kim init` at once on an empty PostgreSQL database all succeed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text

from kim_metrics.storage.engine import database_url, head_revision, make_engine
from kim_metrics.storage.models import CriteriaVersion

POSTGRES_ENV = "KIM_TEST_POSTGRES_URL"
STARTS = 4
START_TIMEOUT_S = 180

pytestmark = pytest.mark.skipif(not os.environ.get(POSTGRES_ENV),
                                reason=f"set {POSTGRES_ENV} to test PostgreSQL")


@pytest.fixture
def empty_postgres_database():
    """A database of its own on the shared server, made empty for this test and dropped after."""
    server = database_url(os.environ[POSTGRES_ENV])
    name = f"kim_init_race_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = create_engine(server).url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_four_inits_at_once_on_an_empty_database_all_succeed(empty_postgres_database):
    env = {**os.environ, "KIM_DATABASE_URL": empty_postgres_database}
    starts = [subprocess.Popen([sys.executable, "-m", "kim_metrics", "init"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(STARTS)]
    results = [(p.wait(timeout=START_TIMEOUT_S), *p.communicate()) for p in starts]
    for code, out, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    engine = make_engine(empty_postgres_database)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
            # The shipped criteria were seeded once, not once per start.
            assert conn.scalar(select(func.count()).select_from(CriteriaVersion)) == 1
    finally:
        engine.dispose()
