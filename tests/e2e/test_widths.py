"""Every page at laptop widths (1024, 1280, 1440 px) in headless Chromium: nothing cut to
"…", nothing fetched from outside the machine, no failed request, and deep links that open
the page they name. Screenshots go to tests/artifacts/width-<px>-<page>.png."""

from __future__ import annotations

import re

import pytest

from kim_metrics.services import admin as admin_service
from kim_metrics.storage.engine import make_engine

from tests.support.browser import ARTIFACTS, IDLE

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

WIDTHS = (1024, 1280, 1440)
PAGES = {"league": "", "directorate": "directorate", "team": "team", "upload": "upload",
         "queue": "queue", "admin": "admin", "audit": "audit", "ima": "ima"}
TITLES = {"league": "KIM league table", "directorate": "My directorate", "team": "Team detail",
          "upload": "Upload a return", "queue": "Verification queue", "admin": "Run the scheme",
          "audit": "Audit trail", "ima": "Information Management Assessment"}

# Text Streamlit cuts with an ellipsis when it does not fit: buttons, metrics, widget labels,
# tabs and headings. An element is cut when its text overflows the box it is clipped to.
CUT_TEXT = """() => {
  const sel = ['button', '[data-testid=stMetricLabel]', '[data-testid=stMetricValue]',
               '[data-testid=stMetricDelta]', '[data-testid=stWidgetLabel]', 'h1', 'h2', 'h3',
               '[data-baseweb=tab]', '[data-testid=stCaptionContainer]'];
  const cut = [];
  for (const el of document.querySelectorAll(sel.join(','))) {
    if (!el.offsetParent) continue;                       // not shown
    for (const node of [el, ...el.querySelectorAll('*')]) {
      const style = getComputedStyle(node);
      const clipped = style.textOverflow === 'ellipsis' || style.overflow === 'hidden';
      if (clipped && node.scrollWidth > node.clientWidth + 1 && node.innerText.trim()) {
        cut.push(node.innerText.trim().slice(0, 60));
        break;
      }
    }
    if (el.innerText && el.innerText.trim().endsWith('…')) cut.push(el.innerText.trim().slice(0, 60));
  }
  return [...new Set(cut)];
}"""


# Opened at a page's own address (/directorate), Streamlit's frontend first looks for its
# server under that path (/directorate/_stcore/health and host-config), gets 404 and then
# finds it at the root. That probe is Streamlit's, on this machine; anything else fails the test.
BASE_PROBE = re.compile(r"/[a-z]+/_stcore/(health|host-config) 404$")
PROBE_CONSOLE = "Failed to load resource: the server responded with a status of 404 (Not Found)"


@pytest.fixture
def watched(browser, server):
    """A page whose every request, failure and console error is kept for the test to judge."""
    seen = {"outside": [], "failed": [], "console": []}

    def make(width: int):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
        context.set_default_timeout(90_000)   # a loaded machine draws slowly; no assertion is timed
        pg = context.new_page()
        pg.on("request", lambda r: None if r.url.startswith((server, "data:", "blob:"))
              else seen["outside"].append(r.url))
        pg.on("requestfailed", lambda r: seen["failed"].append(f"{r.url} {r.failure}"))
        pg.on("response", lambda r: seen["failed"].append(f"{r.url} {r.status}") if r.status >= 400 else None)
        pg.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
        return context, pg
    return make, seen


# Streamlit draws a grey placeholder for an element whose code has loaded but not drawn.
DRAWN = "() => !document.querySelector('[data-testid^=stSkeleton]')"


def _open(pg, server: str, path: str) -> None:
    pg.goto(server + path)
    pg.wait_for_selector(IDLE)
    pg.wait_for_selector("h1")
    pg.wait_for_function(DRAWN)
    pg.wait_for_timeout(400)      # grids and charts settle


def _shot(pg, name: str) -> None:
    """The whole page once drawn: grow the window to the page's height, wait for every
    element to be drawn again, then save it (conftest's ``shot`` does not wait)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = pg.viewport_size
    height = pg.evaluate("() => document.querySelector('[data-testid=stMain]')?.scrollHeight || 0")
    if height > size["height"]:
        pg.set_viewport_size({"width": size["width"], "height": min(height + 40, 6000)})
    pg.wait_for_function(DRAWN)
    pg.wait_for_timeout(500)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    pg.set_viewport_size(size)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_and_fetches_nothing_from_outside(watched, server, width):
    make, seen = watched
    context, pg = make(width)
    cut: dict[str, list[str]] = {}
    try:
        for name, path in PAGES.items():
            _open(pg, server, path)
            assert pg.locator("h1").first.inner_text() == TITLES[name]
            found = pg.evaluate(CUT_TEXT)
            if found:
                cut[name] = found
            _shot(pg, f"width-{width}-{name}")
    finally:
        context.close()
    assert cut == {}, f"text cut short at {width} px: {cut}"
    assert seen["outside"] == [], seen["outside"]
    failed = [f for f in seen["failed"] if not BASE_PROBE.search(f)]
    assert failed == [], failed
    probes = len(seen["failed"]) - len(failed)
    # One console line per probe, and no other error.
    assert [c for c in seen["console"] if c != PROBE_CONSOLE] == [], seen["console"]
    assert seen["console"].count(PROBE_CONSOLE) <= probes


def test_deep_links_open_the_page_they_name(watched, server, e2e_database):
    make, seen = watched
    engine = make_engine(e2e_database)
    org = admin_service.organisation(engine)
    engine.dispose()
    team = org.iloc[10]
    context, pg = make(1280)
    try:
        # A root address with a team opens the team page, and the address names it.
        _open(pg, server, f"?team={int(team['team_id'])}")
        assert pg.locator("h1").first.inner_text() == "Team detail"
        assert pg.locator("h2").first.inner_text() == team["team"]
        pg.wait_for_url(f"**/team?*team={int(team['team_id'])}*")
        # A directorate address opens that directorate in the round named.
        directorate = sorted(org["directorate"].unique())[3]
        _open(pg, server, f"directorate?directorate={directorate.replace(' ', '+')}&round=2026-Q2")
        assert pg.locator("h1").first.inner_text() == "My directorate"
        pg.get_by_text("Teams × criteria, 2026-Q2").wait_for()              # the round named
        shown = pg.locator("[data-testid=stSelectbox]").evaluate_all(
            "els => els.map(e => e.textContent + ' ' + [...e.querySelectorAll('input')]"
            ".map(i => i.value + ' ' + (i.getAttribute('aria-label') || '')).join(' '))")
        assert any(directorate in text for text in shown), shown
        assert "round=2026-Q2" in pg.url
        _shot(pg, "deep-link-directorate")
    finally:
        context.close()
    assert [f for f in seen["failed"] if not BASE_PROBE.search(f)] == [], seen["failed"]
    (ARTIFACTS / "deep-links.txt").write_text("ok\n")
