"""The IMA page's ratings grid in headless Chromium: every sub-area × assessment cell carries
its rating's word and is filled with that rating's colour, with readable text on it."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from kim_metrics.domain.statuses import contrast_ratio
from kim_metrics.services import ima
from kim_metrics.storage.engine import make_engine

from tests.support.browser import open_page, shot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

GRID = "[data-testid=stTable] table"


def _hex(css: str) -> str:
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return f"#{r:02X}{g:02X}{b:02X}"


def test_ratings_grid_shows_word_and_colour(page, server, e2e_database):
    rec = ima.record(make_engine(e2e_database))
    expected = ima.ratings_grid(rec)
    statuses = rec.framework.statuses
    open_page(page, server, "ima")
    assert page.locator("h1").first.inner_text() == "Information Management Assessment"
    grid = page.locator(GRID).first
    grid.wait_for()
    headers = [h.strip() for h in grid.locator("thead th").all_inner_texts()]
    assert headers[-len(rec.names):] == rec.names and "Sub-area" in headers
    rows = grid.locator("tbody tr")
    assert rows.count() == len(expected) == 10
    for i, want in enumerate(expected.itertuples(index=False)):
        cells = rows.nth(i).locator("td")
        texts = [t.strip() for t in cells.all_inner_texts()]
        assert texts[-len(rec.names) - 1] == want[1]                     # the sub-area
        for j, name in enumerate(rec.names):
            cell = cells.nth(len(texts) - len(rec.names) + j)
            word = want[2 + j]
            assert texts[len(texts) - len(rec.names) + j] == word
            style = statuses.style(word)
            background = _hex(cell.evaluate("c => getComputedStyle(c).backgroundColor"))
            colour = _hex(cell.evaluate("c => getComputedStyle(c).color"))
            assert background == style.background.upper(), (want[1], name, word)
            assert contrast_ratio(colour, background) >= 4.5
    shot(page, "e2e-ima-grid")


def test_ima_page_has_no_serious_accessibility_problems(page, server):
    open_page(page, server, "ima")
    page.locator(GRID).first.wait_for()
    page.wait_for_timeout(500)   # let the action plan's grid settle
    results = Axe().run(page)
    serious = [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]}
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
