"""No markup from data: an organisation of hostile names, drawn in Chromium, makes no element and
no request that came from the data.

The names are written straight to the database, as a restored backup or an older organisation
check may have let them in. Every request the browser makes to anywhere but the dashboard is
stopped and recorded, so nothing leaves this machine.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from kim_metrics.domain.access import local_admin
from kim_metrics.services import admin as admin_service
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.models import Directorate, Score, Team
from tests.support.browser import IDLE, run_dashboard, shot
from tests.support.hostile_demo import ROUND, build_named_db

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

EVIL = "evil.example"
LINK_TEAM = f'<a href="https://{EVIL}/team">CLICK</a>'
IMAGE_TEAM = f'<img src="https://{EVIL}/team.png" onerror="window.pwned=1">'
MARKDOWN_DIRECTORATE = f"**Bold** [link](https://{EVIL}/d) ![x](https://{EVIL}/d.png)"
HTML_DIRECTORATE = f'<b>Bold</b><a href="https://{EVIL}/d2">go</a>'
DIRECTOR = f"![a](https://{EVIL}/p.png)@x.gov.uk"
EVIDENCE = f'<script>window.pwned=1</script>![e](https://{EVIL}/e.png) <a href="https://{EVIL}/e">e</a>'


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory) -> str:
    engine = build_named_db(tmp_path_factory.mktemp("hostile-names"), [MARKDOWN_DIRECTORATE, HTML_DIRECTORATE])
    with engine.begin() as conn:
        conn.execute(update(Team).where(Team.name == "Team 1").values(name=LINK_TEAM))
        conn.execute(update(Team).where(Team.name == "Team 2").values(name=IMAGE_TEAM))
        conn.execute(update(Directorate).values(director_email=DIRECTOR))
        conn.execute(update(Score).values(evidence=EVIDENCE, comment=EVIDENCE))
    admin_service.rebuild(engine, actor=local_admin())
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def hostile_server(hostile_url):
    with run_dashboard(hostile_url, log_name="e2e-hostile-names") as base:
        yield base


def _watch(page, base: str) -> list[str]:
    """Stop every request that is not for the dashboard; the list of what was stopped."""
    stopped: list[str] = []

    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith(base.replace("127.0.0.1", "localhost")) \
                or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            stopped.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    return stopped


def _nothing_from_the_data(page, where: str) -> None:
    for selector in (f'img[src*="{EVIL}"]', f'[src*="{EVIL}"]'):
        assert page.locator(selector).count() == 0, f"{where}: {selector}"
    # No link leads off the dashboard, except the team page's own "Open the evidence link"
    # button, offered for an http(s) evidence link a person typed and opened only by a click.
    # (The dashboard's own links may carry a hostile name percent-encoded in their query.)
    links = page.evaluate("""(evil) => [...document.querySelectorAll('[href]')]
        .filter(a => {
            // An href the browser cannot resolve counts as leading off if it names the host.
            try { return new URL(a.getAttribute('href'), document.baseURI).hostname.includes(evil); }
            catch (e) { return a.getAttribute('href').includes(evil); }
        })
        .map(a => {
            const button = a.closest('[data-testid=stLinkButton]');
            return {button: button !== null, text: (button || a).innerText.trim(), href: a.getAttribute('href')};
        })""", EVIL)
    assert all(x["button"] and x["text"].endswith("Open the evidence link") and x["href"].startswith("https://")
               for x in links), f"{where}: {links}"
    assert page.evaluate("() => window.pwned === undefined"), f"{where}: a script from the data ran"
    # Plotly draws <a> and <b> from its label text; only escaped text may reach its SVG.
    assert page.locator("svg a").count() == 0, f"{where}: a link in a chart"


def test_hostile_names_draw_as_text_and_fetch_nothing(browser, hostile_server, hostile_url):
    engine = make_engine(hostile_url)
    org = admin_service.organisation(engine)
    engine.dispose()
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="en-GB")
    context.set_default_timeout(60_000)
    page = context.new_page()
    stopped = _watch(page, hostile_server)
    try:
        page.goto(hostile_server)
        page.wait_for_selector(IDLE)
        page.wait_for_selector("h1")
        page.wait_for_selector(IDLE)
        page.get_by_role("tab", name="Heatmap", exact=False).click()
        chart = page.locator(".js-plotly-plot >> visible=true").first
        chart.locator("g.yaxislayer-above text").first.wait_for()       # plotly draws its labels after the frame
        heat = chart.inner_text()
        assert "CLICK" in heat and "<a href" in heat    # the name, as typed, in the chart
        _nothing_from_the_data(page, "league")
        shot(page, "e2e-hostile-league")
        for row in org.itertuples():
            page.goto(f"{hostile_server}team?team={row.team_id}")
            page.wait_for_selector(IDLE)
            page.wait_for_selector("h2")
            page.get_by_text("Each criterion").wait_for()
            page.wait_for_selector(IDLE)
            # The name is drawn as text (markdown's escapes aside), never as a tag.
            assert "evil" in page.locator("h2").first.inner_text()
            _nothing_from_the_data(page, f"team {row.team_id}")
        for directorate in org["directorate"].unique():
            page.goto(f"{hostile_server}directorate")
            page.wait_for_selector(IDLE)
            page.wait_for_selector("h1")
            _nothing_from_the_data(page, f"directorate {directorate}")
        shot(page, "e2e-hostile-directorate")
    finally:
        context.close()
    assert not [u for u in stopped if EVIL in u], stopped
