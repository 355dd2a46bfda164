"""Sign-in through a real OpenID Connect provider on loopback (oidc-provider-mock).

The dashboard gets an [auth] section pointing at the provider, a director signs in in
headless Chromium, lands on their directorate, and signs out again.
"""

from __future__ import annotations

import pytest

from kim_metrics.services import admin as admin_service
from kim_metrics.storage.engine import make_engine
from tests.support.browser import ARTIFACTS, IDLE, run_dashboard, shot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def provider():
    from oidc_provider_mock import run_server_in_thread
    with run_server_in_thread(port=0) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signed_in_server(e2e_database, provider, tmp_path_factory):
    secrets = tmp_path_factory.mktemp("auth") / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "an-e2e-test-secret-that-is-long-enough"\n'
        'client_id = "kim-league"\n'
        'client_secret = "kim-league-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')
    # The redirect URI needs the dashboard's own port, known only once it starts.
    template = secrets.read_text()
    with run_dashboard(e2e_database, log_name="e2e-signin-server",
                       extra_args=("--secrets.files", str(secrets))) as base:
        port = base.rsplit(":", 1)[1].strip("/")
        secrets.write_text(template.replace("{port}", port))
        yield base


def test_director_signs_in_lands_on_their_directorate_and_signs_out(browser, signed_in_server,
                                                                     e2e_database):
    engine = make_engine(e2e_database)
    org = admin_service.organisation(engine)
    engine.dispose()
    director = org.dropna(subset=["director"]).iloc[0]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(signed_in_server)
        page.wait_for_selector(IDLE)
        page.get_by_role("button", name="Sign in").wait_for()
        assert page.locator("[data-testid=stSidebarNav]").count() == 0   # no menu before sign-in
        shot(page, "e2e-signin-before")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("input[name=sub]")                       # the provider's form
        page.fill("input[name=sub]", director["director"])
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(signed_in_server + "**")
        page.wait_for_selector(IDLE)
        page.get_by_role("heading", name="My directorate").wait_for()
        assert director["director"] in page.locator("[data-testid=stSidebar]").inner_text()
        nav = page.locator("[data-testid=stSidebarNav]").inner_text()
        assert "Run the scheme" not in nav and "Upload a return" not in nav
        shot(page, "e2e-signin-director")
        page.get_by_role("button", name="Sign out").click()
        # Streamlit signs out at the provider too; this provider asks for a confirmation.
        page.get_by_role("button", name="End session").click()
        page.wait_for_url(signed_in_server + "**")
        page.get_by_role("button", name="Sign in").wait_for()
        assert page.locator("[data-testid=stSidebarNav]").count() == 0
        shot(page, "e2e-signin-after")
    finally:
        context.close()
    assert (ARTIFACTS / "e2e-signin-director.png").exists()
