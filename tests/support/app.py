"""The dashboard under AppTest: the demo database, files a person would upload, opening a page.

Shared by the page test modules; the fixtures are imported by name into each module.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from kim_metrics.domain.access import local_admin
from kim_metrics.reports.template import write_template
from kim_metrics.services import admin as admin_service
from kim_metrics.services import returns as return_service
from kim_metrics.services.demo import load_demo
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.schema import ensure_schema

ROOT = Path(__file__).resolve().parent.parent.parent
APP = str(ROOT / "dashboard.py")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from dashboard import PAGES  # noqa: E402  (the app's own table of pages)

TIMEOUT = 60
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Files a person would upload ----------------------------------------------------------------

def top_value(c) -> object:
    if c.scale == "level":
        return c.levels[-1]
    return "Yes" if c.scale == "yesno" else 100


def filled_return(engine, directorate: str, round_label: str, *, evidence: str = "Checked by the KIM team",
                  value=top_value, rename: dict | None = None) -> bytes:
    """The app's own template for a directorate, filled in: every team at ``value``."""
    criteria = admin_service.round_criteria(engine, round_label)
    blank = write_template(io.BytesIO(), criteria=criteria, teams=admin_service.organisation(engine),
                           round_label=round_label, directorate=directorate)
    wb = openpyxl.load_workbook(io.BytesIO(blank))
    ws = wb["Return"]
    col = {cell.value: i for i, cell in enumerate(ws[1])}
    by_name = {c.name: c for c in criteria}
    for row in ws.iter_rows(min_row=2):
        name = row[col["Criterion"]].value
        if name not in by_name:
            continue
        row[col["Score"]].value = value(by_name[name])
        row[col["Evidence"]].value = evidence
    for old, new in (rename or {}).items():
        ws.cell(row=1, column=col[old] + 1).value = new
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def bad_return(engine, directorate: str, round_label: str) -> bytes:
    """A filled template with a misspelt team and a score that is not on the scale."""
    wb = openpyxl.load_workbook(io.BytesIO(filled_return(engine, directorate, round_label)))
    ws = wb["Return"]
    col = {cell.value: i for i, cell in enumerate(ws[1])}
    ws.cell(row=2, column=col["Team"] + 1).value = "Nonexistent Team Of Nobody"
    ws.cell(row=3, column=col["Score"] + 1).value = "Maybe"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# Fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """The demo department, loaded once; tests that write take a copy."""
    path = tmp_path_factory.mktemp("pages") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    load_demo(engine)
    engine.dispose()
    return path


@pytest.fixture
def demo_url(demo_db, monkeypatch) -> str:
    url = f"sqlite:///{demo_db}"
    monkeypatch.setenv("KIM_DATABASE_URL", url)
    monkeypatch.delenv("KIM_ROLE", raising=False)
    return url


def private_copy(database: Path, tmp_path: Path, monkeypatch) -> str:
    """A copy of a module's database for one test that saves something, made the dashboard's
    (KIM_DATABASE_URL, no KIM_ROLE); its URL."""
    path = tmp_path / database.name
    shutil.copy(database, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("KIM_DATABASE_URL", url)
    monkeypatch.delenv("KIM_ROLE", raising=False)
    return url


@pytest.fixture
def writable_url(demo_db, tmp_path, monkeypatch) -> str:
    """A private copy of the demo database for a test that saves something."""
    return private_copy(demo_db, tmp_path, monkeypatch)


@pytest.fixture
def empty_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    monkeypatch.setenv("KIM_DATABASE_URL", url)
    monkeypatch.delenv("KIM_ROLE", raising=False)
    return url


def open_app(role: str | None = None, page: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if role:
        at.session_state["role"] = role
    at.run()
    if page:
        at.switch_page(PAGES[page].path)
        if query:
            at.query_params.update(query)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def unescape(markdown: str) -> str:
    """Text the pages escaped for Markdown, as a person reads it."""
    return re.sub(r"\\(.)", r"\1", markdown)


def count_returns(url: str) -> int:
    engine = make_engine(url)
    try:
        return len(return_service.returns(engine, actor=local_admin()))
    finally:
        engine.dispose()
