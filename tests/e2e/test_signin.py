"""Sign-in through a real OpenID Connect provider on loopback (oidc-provider-mock).

The dashboard gets an [auth] section pointing at the provider, a director signs in in
headless Chromium, lands on their directorate, and signs out again. A viewer and a director
open every download their pages offer, and the files hold only what each may see.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from pypdf import PdfReader
from sqlalchemy import String, case, cast, select, update

from kim_metrics.services import admin as admin_service
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.models import Return, Score
from tests.support.browser import ARTIFACTS, IDLE, run_dashboard, shot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def provider():
    from oidc_provider_mock import run_server_in_thread
    with run_server_in_thread(port=0) as server:
        yield f"http://localhost:{server.server_port}"


MARK = "MARK-"


def _mark(column, team_id, what: str):
    """Text that says whose it is: 'MARK-<team id>-<what>-' in place of what was written."""
    return case((column == "", ""), else_=MARK + cast(team_id, String) + f"-{what}-")


@pytest.fixture(scope="module")
def marked_database(e2e_database, tmp_path_factory) -> str:
    """A copy of the demo whose evidence, links and comments each name their team, so a file
    can be checked for anything outside its reader's scope."""
    path = tmp_path_factory.mktemp("marked") / "kim.db"
    shutil.copy(make_engine(e2e_database).url.database, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(Score).values(evidence=_mark(Score.evidence, Score.team_id, "evidence"),
                                          evidence_link=_mark(Score.evidence_link, Score.team_id, "link"),
                                          comment=_mark(Score.comment, Score.team_id, "comment")))
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def signed_in_server(marked_database, provider, tmp_path_factory):
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
    with run_dashboard(marked_database, log_name="e2e-signin-server",
                       extra_args=("--secrets.files", str(secrets))) as base:
        port = base.rsplit(":", 1)[1].strip("/")
        secrets.write_text(template.replace("{port}", port))
        yield base


def test_director_signs_in_lands_on_their_directorate_and_signs_out(browser, signed_in_server,
                                                                     marked_database):
    engine = make_engine(marked_database)
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


# Downloads hold only what the person may see ----------------------------------------------------

def _sign_in(browser, base: str, email: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB",
                                  accept_downloads=True)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(base)
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("input[name=sub]")
    page.fill("input[name=sub]", email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(base + "**")
    page.wait_for_selector(IDLE)
    page.wait_for_selector("h1")
    return context, page


def _downloads(page, labels: list[str]) -> dict[str, bytes]:
    """Press each download button and keep what the browser receives."""
    files = {}
    page.wait_for_selector(IDLE)
    for label in labels:
        button = page.get_by_role("button", name=label, exact=True)
        with page.expect_download() as info:
            button.click()
        files[label] = Path(info.value.path()).read_bytes()
    return files


def _text(label: str, data: bytes) -> str:
    """Every piece of text a downloaded file holds."""
    if "Excel" in label:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        return "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    if "Word" in label:
        doc = Document(io.BytesIO(data))
        cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
        return "\n".join([p.text for p in doc.paragraphs] + cells)
    if "PDF" in label:
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    return data.decode("utf-8-sig")


def _marked_teams(text: str) -> set[int]:
    import re
    return {int(t) for t in re.findall(MARK + r"(\d+)-", text)}


def _uploaders(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = set(conn.scalars(select(Return.uploader).distinct()))
    engine.dispose()
    return {u for u in found if "@" in u}


def test_a_viewers_downloads_hold_no_evidence_notes_or_emails(browser, signed_in_server, marked_database):
    context, page = _sign_in(browser, signed_in_server, "someone.else@kim-demo.gov.uk")
    try:
        page.get_by_role("heading", name="KIM league table").wait_for()
        assert page.locator("[data-testid=stDownloadButton] button", has_text="Board pack").count() == 0
        files = _downloads(page, ["Download CSV", "Download Excel"])
    finally:
        context.close()
    uploaders = _uploaders(marked_database)
    assert uploaders, "the demo has returns with uploaders"
    for label, data in files.items():
        text = _text(label, data)
        assert "Tax" in text or len(text) > 1000, f"{label} is empty"
        assert MARK not in text, f"{label} holds evidence a viewer may not see"
        assert not [u for u in uploaders if u in text], f"{label} holds uploaders' emails"


def test_a_directors_downloads_hold_only_their_directorates(browser, signed_in_server, marked_database):
    engine = make_engine(marked_database)
    org = admin_service.organisation(engine)
    engine.dispose()
    director = org.dropna(subset=["director"])["director"].iloc[0]
    theirs = set(org.loc[org["director"] == director, "team_id"])
    context, page = _sign_in(browser, signed_in_server, director)
    try:
        page.get_by_role("heading", name="My directorate").wait_for()
        files = _downloads(page, ["Letter (Word)", "Letter (PDF)"])
        page.locator("[data-testid=stSidebarNav] a", has_text="League table").click()
        page.wait_for_selector(IDLE)
        page.get_by_role("heading", name="KIM league table").wait_for()
        files.update(_downloads(page, ["Download CSV", "Download Excel"]))
    finally:
        context.close()
    seen: set[int] = set()
    for label, data in files.items():
        marked = _marked_teams(_text(label, data))
        assert marked <= theirs, f"{label} holds evidence of teams {sorted(marked - theirs)[:5]}"
        seen |= marked
    # The check is live: the director's own evidence is in the Excel file.
    assert seen & theirs
