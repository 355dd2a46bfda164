"""The improvement loop in the browser: adopting an action on the directorate page, and the
KIM team's verification queue (verify in bulk, challenge with a note, comment)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kim_metrics.domain.access import local_admin
from kim_metrics.domain.scoring import CHALLENGED, VERIFIED
from kim_metrics.services import actions as action_service
from kim_metrics.services import review as review_service
from kim_metrics.services import scores as score_service
from kim_metrics.services.demo import DEMO_ROUNDS
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.models import Score
from tests.support.browser import IDLE, open_page, shot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ROW_PX = 35          # a grid row's height, under a header of the same height
OWNER = "owner.browser@kim-demo.gov.uk"


def _click_row(page, grid, index: int) -> None:
    """Tick a row's selection box: the grid's first column, ``index`` rows below the header."""
    grid.wait_for(state="visible")
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + ROW_PX * (index + 1) + ROW_PX // 2)
    page.wait_for_selector(IDLE)


def test_a_director_adopts_an_action_on_the_directorate_page(page, server, e2e_database):
    engine = make_engine(e2e_database)
    # The demo's latest round: other tests of the session may have opened a later one.
    teams = score_service.scored_round(engine, DEMO_ROUNDS[-1], actor=local_admin()).teams
    directorate = teams[teams["returned"]].groupby("directorate")["score"].mean().idxmin()
    open_page(page, server, f"directorate?directorate={directorate}&round={DEMO_ROUNDS[-1]}")
    page.get_by_text("Adopt an action").click()
    page.get_by_label("Owner (email)").fill(OWNER)
    page.get_by_label("Note").fill("Agreed in the browser")
    page.get_by_role("button", name=re.compile("Adopt")).click()
    page.get_by_text("adopted").first.wait_for()
    shot(page, "e2e-adopt-action")
    adopted = action_service.list_actions(engine, actor=local_admin())
    mine = adopted[adopted["owner"] == OWNER]
    assert len(mine) == 1
    assert (mine.iloc[0]["directorate"], mine.iloc[0]["status"]) == (directorate, "open")


def test_the_queue_verifies_in_bulk_and_challenges_with_a_note(page, server, e2e_database):
    engine = make_engine(e2e_database)
    items = review_service.verification_queue(engine, actor=local_admin()).items
    evidenced = [i for i in range(min(len(items), 8)) if not items.iloc[i]["unevidenced"]]
    assert len(evidenced) >= 2, "the demo's queue should start with evidenced claims"
    first, second = evidenced[:2]
    open_page(page, server, "queue")
    grid = page.locator("[data-testid=stDataFrame]").first
    grid.wait_for()
    _click_row(page, grid, first)
    _click_row(page, grid, second)
    page.get_by_role("button", name="Verify 2 scores").click()
    page.get_by_text("Verified 2 scores.").wait_for()
    ids = [int(items.iloc[i]["score_id"]) for i in (first, second)]
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(Score.id, Score.review_status).where(Score.id.in_(ids))).all())
    assert set(statuses.values()) == {VERIFIED}, statuses

    # The verified rows have left the queue (it shows self-declared claims); pick the next row
    # and read which claim it is from the heading the page draws for it.
    grid = page.locator("[data-testid=stDataFrame]").first
    _click_row(page, grid, 0)
    heading = page.locator("h3").filter(has_text=":").first.inner_text().strip()
    items = review_service.verification_queue(engine, actor=local_admin()).items
    chosen = items[(items["team"] + ": " + items["criterion_name"]) == heading]
    assert len(chosen) == 1, heading
    page.get_by_label("Why (the team reads this)").fill("The link goes to an empty folder.")
    page.get_by_role("button", name=re.compile("Challenge this score")).click()
    page.get_by_text(f"Challenged {heading}.").wait_for()
    shot(page, "e2e-queue")
    sid = int(chosen.iloc[0]["score_id"])
    with engine.connect() as conn:
        status = conn.execute(select(Score.review_status).where(Score.id == sid)).scalar_one()
    assert status == CHALLENGED
