"""Identity cannot be borrowed: sign-in claims and workbook emails are plain, verified addresses."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kim_metrics.domain.access import ADMIN, LOCAL_ADMIN_EMAIL, VIEWER
from kim_metrics.domain.errors import KimError, ValidationError
from kim_metrics.domain.identity import IdentityRefused, claimed_email, normalise_address
from kim_metrics.reading.organisation import parse_org
from kim_metrics.reading.reader import read_workbook
from kim_metrics.services import admin as admin_service
from kim_metrics.services import common
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.schema import ensure_schema
from tests.support.returns import write_xlsx

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytestmark = pytest.mark.xdist_group("pages")

KELVIN_LEAD = "\u212aIM.LEAD@dept.gov.uk"          # K written with the Kelvin sign
HOSTILE_CLAIMS = [
    " LOCAL-ADMIN ",
    "local-admin",
    "Local-Admin",
    KELVIN_LEAD,
    "kim.lead@dept.gov.uk\u200b",                  # a zero-width space after it
    "\uff4b\uff49\uff4d.lead@dept.gov.uk",          # full-width letters
    "kim.lead@d\u0435pt.gov.uk",                    # Cyrillic е in the domain
    "kim.lead@dept.gov.uk@evil.example",
    "![a](https://evil.example/p.png)@x.gov.uk",
    "kim.lead",
    "",
]


@pytest.mark.parametrize("claim", HOSTILE_CLAIMS)
def test_hostile_claims_are_refused(claim):
    with pytest.raises(IdentityRefused):
        claimed_email({"email": claim, "email_verified": True})


def test_kelvin_sign_does_not_become_the_kim_lead():
    # The attack: str.lower() turns the Kelvin sign into a plain k.
    assert KELVIN_LEAD.lower() == "kim.lead@dept.gov.uk"
    with pytest.raises(IdentityRefused, match="Unicode normalisation"):
        claimed_email({"email": KELVIN_LEAD})


def test_local_identity_is_reserved():
    with pytest.raises(IdentityRefused, match="reserved"):
        claimed_email({"email": " LOCAL-ADMIN "})


@pytest.mark.parametrize("verified", [False, "false", None, 0, "no"])
def test_an_unverified_address_is_refused_when_the_provider_says_so(verified):
    with pytest.raises(IdentityRefused, match="not verified"):
        claimed_email({"email": "kim.lead@dept.gov.uk", "email_verified": verified})


@pytest.mark.parametrize("claims", [{"email": "Kim.Lead@Dept.gov.uk"},
                                    {"email": " kim.lead@dept.gov.uk ", "email_verified": True},
                                    {"email": "kim.lead@dept.gov.uk", "email_verified": "true"}])
def test_a_plain_verified_address_is_accepted_in_lower_case(claims):
    assert claimed_email(claims) == "kim.lead@dept.gov.uk"


def test_no_email_claim_is_refused():
    with pytest.raises(IdentityRefused, match="email claim"):
        claimed_email({"sub": "12345", "email_verified": True})


def test_granting_a_role_to_a_look_alike_address_is_refused(engine):
    for email in (KELVIN_LEAD, "local-admin", "kim.lead@d\u0435pt.gov.uk"):
        with pytest.raises(KimError):
            admin_service.grant_role(engine, email, ADMIN, actor=LOCAL_ADMIN_EMAIL)
    assert admin_service.role_grants(engine).empty


def test_a_look_alike_spelling_of_the_local_identity_is_a_viewer(engine):
    assert common.resolve_actor(engine, "LOCAL-ADMIN").roles == frozenset({VIEWER})
    assert common.resolve_actor(engine, LOCAL_ADMIN_EMAIL).is_admin


# The organisation workbook --------------------------------------------------------------------

HEADERS = ["Group", "Directorate", "Team", "Director", "Information managers"]


def test_every_workbook_email_is_validated_with_a_located_message(tmp_path):
    rows = [["G1", "Policy", "Tax Policy", KELVIN_LEAD, "im@dept.gov.uk"],
            ["G1", "Policy", "Fiscal", "pat.lee@dept.gov.uk", "im@dept.gov.uk; a..b@dept.gov.uk"],
            ["G1", "Ops", "Estates", "![a](https://evil.example/p.png)@x.gov.uk", ""],
            ["G1", "Ops", "Fleet", "", "local-admin"],
            ["G1", "Web", "Sites", "web@d\u0435pt.gov.uk", "im@dept"]]
    with pytest.raises(ValidationError) as err:
        parse_org(read_workbook(write_xlsx(tmp_path / "org.xlsx", rows, HEADERS)))
    located = {(p.row, p.column) for p in err.value.problems}
    assert located == {(2, "Director"), (3, "Information managers"), (4, "Director"),
                       (5, "Information managers"), (6, "Director"), (6, "Information managers")}
    text = str(err.value)
    assert "org.xlsx" in text and "reserved" in text and "domain" in text


def test_workbook_emails_are_kept_in_lower_case(tmp_path):
    rows = [["G1", "Policy", "Tax Policy", "Pat.Lee@Dept.gov.uk", "IM@dept.gov.uk ; im2@dept.gov.uk"]]
    org = parse_org(read_workbook(write_xlsx(tmp_path / "org.xlsx", rows, HEADERS)))
    assert org.loc[0, "director"] == "pat.lee@dept.gov.uk"
    assert org.loc[0, "information_managers"] == ["im@dept.gov.uk", "im2@dept.gov.uk"]


def test_normalise_address_keeps_plain_addresses():
    assert normalise_address("  Jane.Smith@dept.gov.uk ") == "jane.smith@dept.gov.uk"


# The dashboard ----------------------------------------------------------------------------------

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-cookie-secret",
        "client_id": "kim-league", "client_secret": "not-secret",
        "server_metadata_url": "http://localhost:9/.well-known/openid-configuration"}


@pytest.fixture
def signed_in_db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'kim.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    admin_service.save_organisation(engine, pd.DataFrame({
        "team": ["Tax Policy"], "directorate": ["Policy"], "group": ["G1"],
        "director": ["pat.lee@dept.gov.uk"], "information_managers": [["im@dept.gov.uk"]]}))
    admin_service.grant_role(engine, "kim.lead@dept.gov.uk", ADMIN, actor=LOCAL_ADMIN_EMAIL)
    engine.dispose()
    monkeypatch.setenv("KIM_DATABASE_URL", url)
    monkeypatch.delenv("KIM_ROLE", raising=False)
    return url


def _signed_in(claims: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, **claims}
    at.run()
    return at


@pytest.mark.parametrize("claims", [{"email": " LOCAL-ADMIN "}, {"email": KELVIN_LEAD},
                                    {"email": "kim.lead@dept.gov.uk", "email_verified": False}])
def test_a_borrowed_identity_gets_no_page(signed_in_db, claims):
    at = _signed_in(claims)
    assert not at.exception, [e.value for e in at.exception]
    assert at.error, "a refused claim must say why"
    assert "kim_pages" not in at.session_state
    assert not at.dataframe and not at.metric and not at.table
    assert [b.label for b in at.button] == ["Sign out"]


def test_the_real_kim_lead_signs_in_as_admin(signed_in_db):
    at = _signed_in({"email": "KIM.LEAD@dept.gov.uk", "email_verified": True})
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["kim_role"] == ADMIN
