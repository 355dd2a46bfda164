"""The dashboard's pages through Streamlit's AppTest, against a real demo database.

AppTest in Streamlit 1.67 drives ``st.file_uploader`` (``set_value``), dataframe row
selection (through session state) and ``st.data_editor`` edits (through session state),
so the upload, drill-down and criteria-editing paths are covered here; tests/e2e covers the
same paths in a real browser.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kim_metrics.domain.access import local_admin
from kim_metrics.services import admin as admin_service
from kim_metrics.services import audit as audit_service
from kim_metrics.services import common
from kim_metrics.services import league as league_service
from kim_metrics.services import returns as return_service
from kim_metrics.services import scores as score_service
from kim_metrics.domain.criteria import NO_RETURN
from kim_metrics.storage.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from dashboard import PAGES, ROLES  # noqa: E402  (the app's own table of roles and pages)

pytestmark = pytest.mark.xdist_group("pages")
from .support.app import (TIMEOUT, XLSX, bad_return, count_returns, demo_db, demo_url,  # noqa: F401,E402
                          empty_url, filled_return, open_app, top_value, unescape, writable_url)


# Navigation and roles -----------------------------------------------------------------------

TITLES = {"league": "KIM league table", "directorate": "My directorate", "team": "Team detail",
          "upload": "Upload a return", "admin": "Run the scheme", "audit": "Audit trail",
          "ima": "Information Management Assessment", "queue": "Verification queue"}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_page_renders_for_each_role(demo_url, role):
    at = open_app(role)
    assert at.title[0].value == TITLES[ROLES[role].default]       # landed on the role's page
    for key in ROLES[role].pages:
        at.switch_page(PAGES[key].path).run()
        assert not at.exception, (role, key, [e.value for e in at.exception])
        assert at.title[0].value == TITLES[key]
        assert not at.error, (role, key, [e.value for e in at.error])


def test_role_table_lands_each_person_on_their_page():
    assert ROLES["executive"].default == "league"
    assert ROLES["director"].default == "directorate"
    assert ROLES["information_manager"].default == "upload"
    assert ROLES["admin"].default == "league" and set(ROLES["admin"].pages) == set(PAGES)
    for spec in ROLES.values():
        assert spec.default in spec.pages
        assert "admin" not in spec.pages or spec is ROLES["admin"]


def test_role_from_environment(demo_url, monkeypatch):
    monkeypatch.setenv("KIM_ROLE", "director")
    at = open_app()
    assert at.title[0].value == "My directorate"


def test_a_page_outside_the_role_is_not_offered(demo_url):
    at = open_app("executive")
    # The page is not registered for the role, so Streamlit cannot find it to switch to.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGES["admin"].path).run()


@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_page_runs_on_its_own(demo_url, page):
    """A page given to AppTest directly (no dashboard.py) still renders, links left out."""
    at = AppTest.from_file(str(ROOT / PAGES[page].path), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == TITLES[page]


def test_unknown_role_is_named_and_shows_the_league_only(demo_url):
    at = open_app("wizard")
    assert "'wizard' is not a role" in at.warning[0].value
    assert at.title[0].value == "KIM league table"


# League table -------------------------------------------------------------------------------

def league_rows(at) -> pd.DataFrame:
    """Every row of the league table, page by page, as a person would read them."""
    pages = at.selectbox(key="league_page")
    shown = []
    for page in pages.options:
        at.selectbox(key="league_page").set_value(pages.options.index(page)).run()
        assert not at.exception, [e.value for e in at.exception]
        shown.append(at.dataframe[0].value)
    at.selectbox(key="league_page").set_value(0).run()
    return pd.concat(shown, ignore_index=True)


def test_league_lists_demo_teams_in_score_order_with_shared_ranks(demo_url):
    at = open_app("executive")
    expected = league_service.league(make_engine(demo_url)).table
    assert len(expected) == 120
    first = at.dataframe[0].value
    assert first["Name"].tolist() == expected["name"].tolist()[:100], "the first page, 100 rows"
    table = league_rows(at)
    assert len(table) == len(expected) == 120
    assert table["Name"].tolist() == expected["name"].tolist()
    ranked = table[table["Rank"].notna()]
    scores = ranked["Score"].tolist()
    assert scores == sorted(scores, reverse=True)
    # Competition ranking: each rank is one more than the number of better scores.
    for score, rank in zip(ranked["Score"], ranked["Rank"]):
        assert rank == 1 + (ranked["Score"] > score).sum()
    assert ranked["Rank"].duplicated().any(), "the demo has ties, and they share a rank"
    unranked = table[table["Rank"].isna()]
    assert (unranked["RAG"] == NO_RETURN).all() and len(unranked) > 0
    assert set(table["RAG"]) <= {"Red", "Amber", "Green", NO_RETURN}
    assert set(table["Movement"].dropna()) - {"", "–", "new"} <= {
        m for m in table["Movement"] if m[:1] in ("▲", "▼")}


def test_league_headline_figures_match_the_trend(demo_url):
    at = open_app("executive")
    trend = league_service.trend(make_engine(demo_url)).set_index("round")
    now, before = trend.iloc[-1], trend.iloc[-2]
    metrics = {m.label: m for m in at.metric}
    green = next(m for label, m in metrics.items() if label.endswith("Green"))
    assert green.value == str(int(now["Green"]))
    assert green.delta.startswith(f"{int(now['Green'] - before['Green']):+d}")
    no_return = next(m for label, m in metrics.items() if "No return" in label)
    assert no_return.value == str(int(now[NO_RETURN]))


def test_league_levels_and_filters(demo_url):
    at = open_app("executive")
    at.radio(key="league_level").set_value("Directorates").run()
    assert len(at.dataframe[0].value) == 16
    at.radio(key="league_level").set_value("Groups").run()
    assert len(at.dataframe[0].value) == 4
    at.radio(key="league_level").set_value("Teams").run()
    group = at.multiselect(key="league_groups").options[0]
    at.multiselect(key="league_groups").select(group).run()
    table = at.dataframe[0].value
    engine = make_engine(demo_url)
    in_group = league_service.league(engine).table.query("group == @group")
    assert table["Name"].tolist() == in_group["name"].tolist()


def test_league_older_round(demo_url):
    at = open_app("executive")
    at.selectbox(key="league_round").set_value("2025-Q4").run()
    assert not at.exception
    assert "2025-Q4" in at.header[0].value
    # The first round has nothing to compare with.
    assert set(at.dataframe[0].value["Movement"]) <= {"new", ""}


def test_league_second_page_shows_the_next_teams_in_order(demo_url):
    at = open_app("executive")
    expected = league_service.league(make_engine(demo_url)).table
    pages = at.selectbox(key="league_page")
    assert pages.value == 0 and pages.options == ["Rows 1–100 of 120", "Rows 101–120 of 120"]
    at.selectbox(key="league_page").set_value(1).run()
    table = at.dataframe[0].value
    assert table["Name"].tolist() == expected["name"].tolist()[100:]
    # Ranks are the whole league's: the second page goes on from the first.
    assert (table["Rank"].astype(float).fillna(-1).tolist()
            == expected["rank"].astype(float).fillna(-1).tolist()[100:])
    assert any("rows 101–120 of 120" in c.value for c in at.caption)
    # A row chosen on the second page opens that team, not the one at the same place on the first.
    third = table["Name"].iloc[2]
    at.session_state["league_table_rows"] = {"selection": {"rows": [2], "columns": []}}
    at.run()
    assert at.title[0].value == "Team detail"
    assert unescape(at.header[0].value) == third


def test_league_filters_start_again_at_the_first_page(demo_url):
    at = open_app("executive")
    at.selectbox(key="league_page").set_value(1).run()
    at.radio(key="league_level").set_value("Directorates").run()
    assert len(at.dataframe[0].value) == 16
    at.radio(key="league_level").set_value("Teams").run()
    assert at.selectbox(key="league_page").value == 0
    assert len(at.dataframe[0].value) == 100


def test_choosing_a_team_row_opens_its_detail(demo_url):
    at = open_app("executive")
    third = at.dataframe[0].value["Name"].iloc[2]
    at.session_state["league_table_rows"] = {"selection": {"rows": [2], "columns": []}}
    at.run()
    assert at.title[0].value == "Team detail"
    assert unescape(at.header[0].value) == third
    assert at.query_params["team"]


def test_choosing_a_directorate_row_opens_its_page(demo_url):
    at = open_app("executive")
    at.radio(key="league_level").set_value("Directorates").run()
    first = at.dataframe[0].value["Name"].iloc[0]
    at.session_state["league_table_rows"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert at.title[0].value == "My directorate"
    assert at.selectbox(key="directorate_choice").value == first


def test_league_links_to_team_pages(demo_url):
    at = open_app("executive")
    table = at.dataframe[0].value
    assert table["Details"].str.fullmatch(r"team\?team=\d+&round=\d{4}-Q\d").all()


# Directorate --------------------------------------------------------------------------------

def _non_green_directorate(url: str) -> str:
    teams = score_service.scored_round(make_engine(url), actor=local_admin()).teams
    worst = teams[teams["returned"]].groupby("directorate")["score"].mean().idxmin()
    return worst


def test_directorate_lists_actions_for_non_green_teams(demo_url):
    directorate = _non_green_directorate(demo_url)
    at = open_app("director", "directorate", {"directorate": directorate})
    assert at.selectbox(key="directorate_choice").value == directorate
    actions = at.table[0].value
    assert len(actions) > 0
    assert {"Team", "Criterion", "What to do", "Directorate score rises by"} <= set(actions.columns)
    gains = actions["Directorate score rises by"].astype(float).tolist()
    assert gains == sorted(gains, reverse=True)
    assert (actions["Status now"] != "Green").all()
    teams = at.dataframe[0].value
    assert set(actions["Team"]) <= set(teams["Team"])
    assert (teams.loc[teams["Team"].isin(actions["Team"]), "RAG"] != "Green").any() or \
        (teams.drop(columns=["Team", "Score", "RAG", "Details"]) != "Green").any().any()
    labels = [m.label for m in at.metric]
    assert "Rank among directorates" in labels
    assert " of 16" in next(m.value for m in at.metric if m.label == "Rank among directorates")


def test_directorate_defaults_to_the_directors_own(demo_url):
    org = admin_service.organisation(make_engine(demo_url))
    row = org.dropna(subset=["director"]).iloc[-1]
    at = signed_in(APP, row["director"])
    at.run()
    assert at.selectbox(key="directorate_choice").value == row["directorate"]


# Team detail --------------------------------------------------------------------------------

def test_team_page_by_link_marks_unevidenced_claims(demo_url):
    scores = score_service.scored_round(make_engine(demo_url), actor=local_admin()).scores
    flagged = scores[scores["unevidenced"]].iloc[0]
    at = open_app("executive", "team", {"team": str(int(flagged["team_id"]))})
    assert unescape(at.header[0].value) == flagged["team"]
    warnings = [w.value for w in at.warning]
    assert any("Unevidenced claim" in w for w in warnings)
    overview = at.dataframe[0].value
    assert (overview["Evidence"] == "⚠ Unevidenced").any()
    assert set(overview["RAG"]) <= {"Red", "Amber", "Green", NO_RETURN}


def test_team_page_unknown_team_says_so(demo_url):
    at = open_app("executive", "team", {"team": "999999"})
    assert "no current team" in at.error[0].value


def test_evidence_is_shown_as_plain_text(writable_url):
    engine = make_engine(writable_url)
    directorate = admin_service.organisation(engine)["directorate"].iloc[0]
    evidence = "**not bold** <script>alert('x')</script> [link](javascript:alert(1))"
    data = filled_return(engine, directorate, "2026-Q3", evidence=evidence)
    preview = return_service.check_return(engine, data, "evil.xlsx", "2026-Q3")
    return_service.save_preview(engine, preview, uploader="local-admin")
    team_id = int(preview.teams["team_id"].iloc[0])
    at = open_app("executive", "team", {"team": str(team_id)})
    assert evidence in [t.value for t in at.text]
    assert not any("<script>" in m.value for m in at.markdown)


# Upload -------------------------------------------------------------------------------------

def test_bad_workbook_shows_the_report_and_saves_nothing(writable_url):
    engine = make_engine(writable_url)
    directorate = admin_service.organisation(engine)["directorate"].iloc[0]
    before = count_returns(writable_url)
    at = open_app("information_manager")
    at.file_uploader(key="upload_file").set_value(("bad.xlsx", bad_return(engine, directorate, "2026-Q3"), XLSX))
    at.run()
    assert not at.exception
    assert "problem" in at.error[0].value and "nothing was saved" in at.error[0].value
    report = at.table[0].value
    assert list(report.columns) == ["Sheet", "Rows", "Column", "Message"]
    assert any("Nonexistent Team Of Nobody" in m for m in report["Message"])
    assert any("Maybe" in m for m in report["Message"])
    assert (report["Rows"] != "").sum() >= 2           # each cell problem names its row
    assert not [b for b in at.button if b.key == "upload_confirm"]
    assert count_returns(writable_url) == before


def test_good_workbook_saves_only_after_confirmation(writable_url):
    engine = make_engine(writable_url)
    directorate = admin_service.organisation(engine)["directorate"].iloc[0]
    data = filled_return(engine, directorate, "2026-Q4")
    before = count_returns(writable_url)
    at = open_app("information_manager")
    at.selectbox(key="upload_round").set_value("2026-Q4").run()
    at.file_uploader(key="upload_file").set_value(("good.xlsx", data, XLSX))
    at.run()
    assert not at.exception
    assert "No problems found" in at.success[0].value
    assert any("not open yet" in i.value for i in at.info)
    preview = at.dataframe[0].value
    assert set(preview["RAG"]) == {"Green"} and (preview["Score"] == 100).all()
    assert count_returns(writable_url) == before            # checked, not saved
    at.run()                                                # a rerun keeps the preview, saves nothing
    assert count_returns(writable_url) == before
    at.button(key="upload_confirm").click().run()
    assert not at.exception
    assert count_returns(writable_url) == before + 1
    assert "Saved" in at.success[0].value and "2026-Q4" in at.success[0].value
    earlier = at.dataframe[-1].value
    assert earlier["File"].iloc[0] == "good.xlsx"
    at.run()                                                # the same file again: not saved twice
    assert count_returns(writable_url) == before + 1
    assert not [b for b in at.button if b.key == "upload_confirm"]
    # The league now shows the new round, with the directorate's teams on top.
    at.switch_page(PAGES["league"].path).run()
    assert at.selectbox(key="league_round").value == "2026-Q4"
    table = at.dataframe[0].value
    assert set(table.loc[table["Rank"] == 1, "Directorate"]) == {directorate}


def test_same_file_twice_is_not_saved_again(writable_url):
    engine = make_engine(writable_url)
    directorate = admin_service.organisation(engine)["directorate"].iloc[0]
    data = filled_return(engine, directorate, "2026-Q3")
    return_service.save_preview(engine, return_service.check_return(engine, data, "first.xlsx", "2026-Q3"), uploader="local-admin")
    before = count_returns(writable_url)
    at = open_app("information_manager")
    at.file_uploader(key="upload_file").set_value(("again.xlsx", data, XLSX))
    at.run()
    assert any("already saved" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "upload_confirm"]
    assert count_returns(writable_url) == before


def test_unknown_headers_offer_column_mapping(writable_url):
    engine = make_engine(writable_url)
    directorate = admin_service.organisation(engine)["directorate"].iloc[0]
    data = filled_return(engine, directorate, "2026-Q3",
                         rename={"Team": "Org unit", "Criterion": "Measure name", "Score": "Self rating"})
    at = open_app("information_manager")
    at.file_uploader(key="upload_file").set_value(("odd.xlsx", data, XLSX))
    at.run()
    assert "Could not find the columns" in at.table[0].value["Message"].iloc[0]
    boxes = {b.label: b for b in at.selectbox if b.key and b.key.startswith("upload_map_")}
    assert "Org unit" in boxes["Team (needed)"].options
    boxes["Team (needed)"].set_value("Org unit")
    boxes["Criterion (needed)"].set_value("Measure name")
    boxes["Score (needed)"].set_value("Self rating")
    at.button[[b.label for b in at.button].index("Check again with these columns")].click().run()
    assert not at.exception
    assert "No problems found" in at.success[0].value
    assert [b for b in at.button if b.key == "upload_confirm"]


def test_upload_page_offers_the_template(demo_url):
    at = open_app("information_manager")
    button = at.get("download_button")[0]
    assert "template" in button.proto.label.lower()


# Admin --------------------------------------------------------------------------------------

def test_admin_opens_a_round(writable_url):
    at = open_app("admin", "admin")
    at.text_input[0].set_value("2027-Q1")
    at.button[[b.label for b in at.button].index("Open the round")].click().run()
    assert "2027-Q1 is open" in at.success[0].value
    assert "2027-Q1" in [r.label for r in league_service.rounds(make_engine(writable_url))]


def test_admin_bad_round_label_is_explained(writable_url):
    at = open_app("admin", "admin")
    at.text_input[0].set_value("next spring")
    at.button[[b.label for b in at.button].index("Open the round")].click().run()
    assert "not a round label" in at.error[0].value


def test_admin_edits_criteria_through_the_editor(writable_url):
    at = open_app("admin", "admin")
    at.session_state["admin_criteria_editor"] = {
        "edited_rows": {0: {"weight": 3.0}}, "added_rows": [], "deleted_rows": []}
    at.button(key="admin_criteria_save").click().run()
    assert not at.exception
    assert "Saved the criteria" in at.success[0].value
    assert admin_service.current_criteria(make_engine(writable_url)).criteria[0].weight == 3.0


def test_admin_invalid_criteria_are_reported_not_saved(writable_url):
    before = admin_service.current_criteria(make_engine(writable_url))
    at = open_app("admin", "admin")
    at.session_state["admin_criteria_editor"] = {
        "edited_rows": {0: {"Green from": 1.0}}, "added_rows": [], "deleted_rows": []}
    at.button(key="admin_criteria_save").click().run()
    assert "nothing was saved" in at.error[0].value
    assert any("rise" in m for d in at.dataframe if "Message" in d.value.columns for m in d.value["Message"])
    assert admin_service.current_criteria(make_engine(writable_url)) == before


def test_admin_loads_the_organisation_workbook(writable_url):
    org = admin_service.organisation(make_engine(writable_url))
    frame = pd.DataFrame({"Group": org["group"], "Directorate": org["directorate"], "Team": org["team"],
                          "Director": org["director"], "Information managers": org["information_managers"]})
    at = open_app("admin", "admin")
    at.file_uploader(key="admin_org_file").set_value(("org.csv", frame.to_csv(index=False).encode(), "text/csv"))
    at.run()
    at.button(key="admin_org_load").click().run()
    assert not at.exception
    assert "teams added" in at.success[0].value


def test_admin_bad_organisation_workbook_shows_report(writable_url):
    at = open_app("admin", "admin")
    at.file_uploader(key="admin_org_file").set_value(("org.csv", b"Colour,Size\nred,big\n", "text/csv"))
    at.run()
    at.button(key="admin_org_load").click().run()
    assert "nothing was saved" in at.error[0].value


# First run ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", sorted(ROLES))
def test_empty_database_explains_how_to_load_data(empty_url, role):
    at = open_app(role)
    for key in ROLES[role].pages:
        at.switch_page(PAGES[key].path).run()
        assert not at.exception, (role, key, [e.value for e in at.exception])
        assert not at.error, (role, key)
    at.switch_page(PAGES["league"].path).run()
    assert any("kim demo" in i.value for i in at.info)
    if "upload" in ROLES[role].pages:
        assert any("upload" in str(link.proto.page) for link in at.get("page_link"))


# Sign-in, roles and scopes ------------------------------------------------------------------

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-cookie-secret",
        "client_id": "kim-league", "client_secret": "not-secret",
        "server_metadata_url": "http://localhost:9/.well-known/openid-configuration"}


def people(url: str) -> dict[str, str]:
    """An email for each role in the demo department."""
    engine = make_engine(url)
    try:
        org = admin_service.organisation(engine)
        admin_service.grant_role(engine, "perm.sec@kim-demo.gov.uk", "executive", actor="local-admin")
        admin_service.grant_role(engine, "kim.lead@kim-demo.gov.uk", "admin", actor="local-admin")
    finally:
        engine.dispose()
    im = org["information_managers"].str.split(";").str[0].str.strip()
    return {"admin": "kim.lead@kim-demo.gov.uk", "executive": "perm.sec@kim-demo.gov.uk",
            "director": org["director"].iloc[0], "information_manager": im.iloc[0],
            "viewer": "someone.else@kim-demo.gov.uk"}


def signed_in(path: str, email: str | None) -> AppTest:
    at = AppTest.from_file(path, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": email is not None, **({"email": email} if email else {})}
    return at


@pytest.mark.parametrize("role", ["admin", "executive", "director", "information_manager", "viewer"])
def test_signed_in_navigation_holds_exactly_the_roles_pages(writable_url, role):
    email = people(writable_url)[role]
    at = signed_in(APP, email)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert list(at.session_state["kim_pages"]) == list(ROLES[role].pages)
    assert at.title[0].value == TITLES[ROLES[role].default]
    assert any(email in c.value for c in at.sidebar.caption)
    assert not any("Local mode" in i.value for i in at.info)


def test_nobody_signed_in_sees_only_the_sign_in_page(demo_url):
    at = signed_in(APP, None)
    at.run()
    assert not at.exception
    assert at.title[0].value == "KIM League"
    assert [b.label for b in at.button] == ["Sign in"]
    assert "kim_pages" not in at.session_state
    assert not at.dataframe and not at.metric


@pytest.mark.parametrize(("role", "page"), [("viewer", "directorate"), ("viewer", "team"),
                                            ("executive", "admin"), ("director", "upload"),
                                            ("information_manager", "audit"), ("viewer", "upload")])
def test_forbidden_page_opened_directly_shows_a_refusal_not_data(writable_url, role, page):
    at = signed_in(str(ROOT / PAGES[page].path), people(writable_url)[role])
    at.run()
    assert not at.exception
    assert "do not have access" in at.error[0].value
    assert not at.dataframe and not at.metric and not at.table


def test_director_sees_only_their_directorate(writable_url):
    email = people(writable_url)["director"]
    engine = make_engine(writable_url)
    org = admin_service.organisation(engine)
    engine.dispose()
    mine = sorted(org.loc[org["director"] == email, "directorate"].unique())
    at = signed_in(APP, email)
    at.run()
    assert at.title[0].value == "My directorate"
    assert at.selectbox(key="directorate_choice").options == mine
    at.switch_page(PAGES["team"].path).run()
    team_options = at.selectbox(key="team_choice").options
    allowed = {f"{r.team} — {r.directorate}" for r in org[org["directorate"].isin(mine)].itertuples()}
    assert set(team_options) == allowed


def test_local_mode_says_so(demo_url):
    at = open_app()
    assert any("Local mode" in i.value for i in at.info)


def test_kim_team_challenges_a_score_and_the_team_sees_it(writable_url):
    engine = make_engine(writable_url)
    scores = score_service.scored_round(engine, actor=local_admin()).scores
    engine.dispose()
    target = scores[(scores["criterion"] == "naming") & (scores["claimed"] == 3) & scores["evidenced"]].iloc[0]
    at = open_app("admin", "team", {"team": str(int(target["team_id"]))})
    sid = int(target["score_id"])
    at.radio(key=f"verdict_{sid}").set_value("Challenge")
    at.selectbox(key=f"value_{sid}").set_value(1)
    at.text_area(key=f"note_{sid}").input("Only the shared drive follows the convention")
    at.button(key=f"FormSubmitter:review_{sid}-Save the review").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    engine = make_engine(writable_url)
    after = score_service.scored_round(engine, actor=local_admin()).scores.set_index("score_id").loc[sid]
    engine.dispose()
    assert after["review_status"] == "challenged" and after["counted"] == 1
    # The team's page (an executive can read it, cannot review) shows the reviewer's note.
    view = open_app("executive", "team", {"team": str(int(target["team_id"]))})
    assert "Only the shared drive follows the convention" in [t.value for t in view.text]
    assert not [r for r in view.radio if str(r.key).startswith("verdict_")]
    league = open_app("executive")
    assert any("1 challenged" in c.value for c in league.caption)


def test_kim_team_names_an_executive(writable_url):
    at = open_app("admin", "admin")
    form_email = next(t for t in at.text_input if t.label == "Email")
    form_email.input("Perm.Sec@kim-demo.gov.uk")
    next(s for s in at.selectbox if s.label == "Role").set_value("executive")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception and not at.error
    engine = make_engine(writable_url)
    try:
        assert common.resolve_actor(engine, "perm.sec@kim-demo.gov.uk").role == "executive"
        assert audit_service.audit_trail(engine, action="role granted", reader=local_admin())["target"].tolist() == ["perm.sec@kim-demo.gov.uk"]
    finally:
        engine.dispose()


def test_letter_and_board_pack_are_offered_as_downloads(demo_url):
    directorate = open_app("admin", "directorate")
    labels = [b.label for b in directorate.get("download_button")]
    assert "Letter (Word)" in labels and "Letter (PDF)" in labels
    league = open_app("executive")
    # Built on request with a progress bar, then offered.
    assert "Board pack (PDF)" not in [b.label for b in league.get("download_button")]
    next(b for b in league.button if b.label == "Board pack").click().run()
    assert not league.exception and not league.error
    assert "Board pack (PDF)" in [b.label for b in league.get("download_button")]
