"""The running dashboard in headless Chromium: read the league, drill down, upload, scan with axe.

Streamlit's dataframe draws on a canvas, but its grid keeps an accessible <table role="grid">
in the DOM (header row and the visible rows' cells as text), which is what a screen reader
reads; the tests read the same table. Each test saves a screenshot under tests/artifacts/.
"""

from __future__ import annotations

import json
import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from kim_metrics.domain.access import local_admin
from kim_metrics.services import admin as admin_service
from kim_metrics.services import returns as return_service
from kim_metrics.services import scores as score_service
from kim_metrics.storage.engine import make_engine

from ..support.app import filled_return
from tests.support.browser import ARTIFACTS, IDLE, open_page, shot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

GRID = "[data-testid=stDataFrame] table[role=grid]"
STATUSES = {"Red", "Amber", "Green", "No return"}
PAGES = {"league": "", "directorate": "directorate", "team": "team", "upload": "upload", "admin": "admin"}


def grid_headers(page, n: int = 0) -> list[str]:
    return page.locator(GRID).nth(n).locator("[role=columnheader]").all_text_contents()


def grid_column(page, header: str, n: int = 0) -> list[str]:
    """The visible cells of a column, read from the grid's accessible table."""
    grid = page.locator(GRID).nth(n)
    # The grid fills its accessible table in after its first paint.
    grid.locator("[role=columnheader]").filter(has_text=re.compile(f"^{re.escape(header)}$")).wait_for(
        state="attached")
    index = grid_headers(page, n).index(header) + 1
    return grid.locator(f"[role=gridcell][aria-colindex='{index}']").all_text_contents()


def test_a_page_link_opened_first_runs_inside_the_navigation(page, server, e2e_database):
    """First in the file on purpose: the server's first request is a page's own URL.

    A pages/ folder makes Streamlit run such a page on its own until the entry point has
    called st.navigation; the pages send that run back through dashboard.py.
    """
    org = admin_service.organisation(make_engine(e2e_database))
    team = org.iloc[0]
    open_page(page, server, f"team?team={int(team['team_id'])}")
    page.locator("h2").first.wait_for()
    assert page.locator("h2").first.inner_text() == team["team"]
    nav = page.locator("[data-testid=stSidebarNav]").inner_text()
    assert "League table" in nav and "Run the scheme" in nav
    assert "shared" not in nav.lower()          # not the automatic pages/ menu
    shot(page, "e2e-direct-link")


def test_league_table_reads_as_a_table_with_status_words(page, server):
    open_page(page, server)
    page.wait_for_selector(GRID, state="attached")
    rag = grid_column(page, "RAG")
    headers = grid_headers(page)
    # Score and status beside the name, so they show without scrolling on a narrow page.
    assert headers[:6] == ["Rank", "Movement", "Name", "Score", "RAG", "Directorate"]
    # Short labels; the grid draws only the columns in view, and the last criteria of seven sit
    # beyond the right edge at this width.
    assert "Naming" in headers
    assert rag and set(rag) <= STATUSES
    assert set(grid_column(page, "Naming")) <= STATUSES
    ranks = [int(r) for r in grid_column(page, "Rank") if r]
    assert ranks == sorted(ranks)
    assert all(re.fullmatch(r"(▲|▼) \d+|–|new|", m) for m in grid_column(page, "Movement"))
    # The headline figures name their status in words.
    metrics = page.locator("[data-testid=stMetricLabel]").all_text_contents()
    assert any(m.endswith("Green") for m in metrics) and any("No return" in m for m in metrics)
    shot(page, "e2e-league-table")


def test_choosing_a_team_opens_its_detail(page, server):
    open_page(page, server)
    page.wait_for_selector(GRID, state="attached")
    name = grid_column(page, "Name")[1]
    table = page.locator("[data-testid=stDataFrame]").first.bounding_box()
    # The row-selection column is the grid's first; rows are 35 px high under a 35 px header.
    page.mouse.click(table["x"] + 15, table["y"] + 35 + 35 * 1 + 17)
    page.wait_for_url("**/team?team=*")
    page.wait_for_selector(IDLE)
    assert page.locator("h2").first.inner_text() == name
    page.get_by_text("Each criterion").wait_for()
    shot(page, "e2e-team-detail")


def test_team_link_shows_evidence_and_flags_unevidenced_claims(page, server, e2e_database):
    scores = score_service.scored_round(make_engine(e2e_database), "2026-Q3", actor=local_admin()).scores
    flagged = scores[scores["unevidenced"]].iloc[0]
    open_page(page, server, f"team?team={int(flagged['team_id'])}")
    page.wait_for_selector(GRID, state="attached")
    assert page.locator("h2").first.inner_text() == flagged["team"]
    # Word and icon, not colour only.
    page.get_by_text("Unevidenced claim.").first.wait_for()
    assert "⚠ Unevidenced" in grid_column(page, "Evidence")
    shot(page, "e2e-team-unevidenced")


def test_directorate_page_lists_what_to_do(page, server):
    open_page(page, server, "directorate")
    page.get_by_text("What each team must do next").wait_for()
    actions = page.locator("[data-testid=stTableStyledTable]").first
    actions.wait_for()
    headers = actions.locator("th").all_text_contents()
    assert "What to do" in headers and "Directorate score rises by" in headers
    assert actions.locator("tbody tr").count() > 0
    shot(page, "e2e-directorate")


@pytest.mark.parametrize("name", list(PAGES))
def test_accessibility_scan(page, server, name):
    open_page(page, server, PAGES[name])
    page.wait_for_timeout(500)   # let the grids and charts settle
    results = Axe().run(page)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(results.response, indent=2))
    serious = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]]}
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    shot(page, f"e2e-axe-{name}")
    assert serious == [], json.dumps(serious, indent=2)


def test_upload_through_the_browser_then_see_it_in_the_league(page, server, e2e_database, tmp_path):
    engine = make_engine(e2e_database)
    directorate = sorted(admin_service.organisation(engine)["directorate"].unique())[0]
    path = tmp_path / "e2e-return.xlsx"
    path.write_bytes(filled_return(engine, directorate, "2026-Q4", evidence="Checked in the browser test"))
    before = len(return_service.returns(engine, actor=local_admin()))

    open_page(page, server, "upload")
    page.get_by_role("combobox", name="Round this return is for").click()
    page.get_by_role("option", name="2026-Q4").click()
    page.wait_for_selector(IDLE)
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(path))
    page.get_by_text("No problems found.").wait_for()
    assert len(return_service.returns(engine, actor=local_admin())) == before          # checked, not saved
    shot(page, "e2e-upload-preview")
    page.get_by_role("button", name="Confirm and save the return for 2026-Q4").click()
    # The success message; the progress bar may still say "Saved" beside it.
    page.get_by_test_id("stAlertContentSuccess").get_by_text(re.compile(r"^Saved$")).wait_for()
    assert len(return_service.returns(engine, actor=local_admin())) == before + 1
    shot(page, "e2e-upload-saved")

    open_page(page, server)
    page.wait_for_selector(GRID, state="attached")
    page.get_by_text("League of teams, 2026-Q4").wait_for()
    ranked = [d for d, r in zip(grid_column(page, "Directorate"), grid_column(page, "Rank")) if r]
    assert ranked and set(ranked) == {directorate}
    assert set(grid_column(page, "RAG")[:len(ranked)]) == {"Green"}
    shot(page, "e2e-league-after-upload")
