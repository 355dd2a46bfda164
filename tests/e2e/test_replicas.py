"""Two dashboard replicas on one PostgreSQL database agree: a return saved through the command
line shows on the second replica at its next page load, with no cache left to expire."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pandas as pd
import pytest
from sqlalchemy import create_engine, make_url, text

from kim_metrics.domain.access import local_admin
from kim_metrics.services import admin as admin_service
from kim_metrics.storage.engine import database_url, make_engine
from kim_metrics.storage.schema import ensure_schema
from tests.support.returns import FULL_MARKS, long_rows, write_csv

from tests.support.browser import IDLE, ROOT, run_dashboard, shot

POSTGRES_ENV = "KIM_TEST_POSTGRES_URL"
ROUND = "2026-Q3"
TEAMS = ["Records Team", "Web Team"]

pytestmark = pytest.mark.skipif(not os.environ.get(POSTGRES_ENV),
                                reason=f"set {POSTGRES_ENV}: replicas share a PostgreSQL database")


@pytest.fixture
def shared_database():
    """A fresh PostgreSQL schema holding an organisation of two teams and an open round; the
    URL carries the schema so every process given it (both servers, the CLI) lands there."""
    base = database_url(os.environ[POSTGRES_ENV])
    schema = f"kim_replicas_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    engine = make_engine(url)
    try:
        ensure_schema(engine)
        admin_service.save_organisation(engine, pd.DataFrame({
            "team": TEAMS, "directorate": ["Digital", "Digital"], "group": ["Corporate", "Corporate"],
            "director": [None, None], "information_managers": [[], []]}))
        admin_service.open_round(engine, ROUND, actor=local_admin())
        yield url
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _returned_caption(browser, base: str, name: str) -> str:
    """Open the league on a replica in a new browser context; the caption saying who returned."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        page.goto(base)
        page.wait_for_selector(IDLE)
        page.get_by_text("teams made a return").first.wait_for()
        shot(page, name)
        caption = page.get_by_text("teams made a return").first.inner_text()
        # "… 1 of 2 teams made a return for R …": the count is what the test reads.
        return caption[caption.index("teams made a return") - len("0 of 2 "):]
    finally:
        context.close()


def test_a_save_through_the_command_line_shows_on_the_other_replica(browser, shared_database, tmp_path):
    with run_dashboard(shared_database, log_name="replica-a") as first, \
            run_dashboard(shared_database, log_name="replica-b") as second:
        # Both replicas have drawn (and cached) the league before the save.
        assert _returned_caption(browser, first, "replica-a-before").startswith("0 of 2 teams")
        assert _returned_caption(browser, second, "replica-b-before").startswith("0 of 2 teams")
        path = write_csv(tmp_path / "return.csv", long_rows({"Web Team": FULL_MARKS}))
        saved = subprocess.run([sys.executable, "-m", "kim_metrics", "--db", shared_database, "ingest",
                                str(path), "--round", ROUND], cwd=ROOT, capture_output=True, text=True,
                               timeout=120)
        assert saved.returncode == 0, saved.stderr
        assert _returned_caption(browser, second, "replica-b-after").startswith("1 of 2 teams")
        assert _returned_caption(browser, first, "replica-a-after").startswith("1 of 2 teams")
