"""Run the scheme (the KIM team): open a round, load the organisation, edit the criteria,
and name the KIM team and the board."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from kim_metrics.services import admin as admin_service
from kim_metrics.services.documents import letters_zip
from kim_metrics.services import league as league_service
from kim_metrics.services import views as insights
from kim_metrics.domain.criteria import criteria_from_dict
from kim_metrics.domain.errors import KimError, ReadError, ValidationError
from kim_metrics.domain.rounds import next_label
from pages import _followup as followup
from pages import _shared as ui


def _page(actor) -> None:
    # A function, so what the page reads dies with the run: Streamlit keeps a session's
    # download functions and widget callbacks until the session ends, and at a script's top
    # level they would keep every name the page set.
    st.title("Run the scheme")
    engine = ui.engine()
    url = ui.db_url()
    user = actor.email
    labels = ui.round_labels(url)

    def show_problems(error: KimError, what: str) -> None:
        if isinstance(error, ValidationError):
            report = insights.problems_frame(error)
        elif isinstance(error, ReadError):
            report = insights.problems_frame([error.problem])
        else:
            st.error(ui.md_escape(str(error)), icon=":material/error:")
            return
        count = insights.problem_count(error)
        st.error(f"**{count} problem{'s' if count != 1 else ''} in the {what}; nothing "
                 "was saved.**", icon=":material/error:")
        st.dataframe(report.rename(columns=str.capitalize), hide_index=True, width="stretch",
                     column_config={"Message": st.column_config.TextColumn("Message", width="large")})

    rounds_tab, org_tab, criteria_tab, people_tab = st.tabs(["Rounds", "Organisation", "Criteria", "People"])

    # Rounds ------------------------------------------------------------------------------------
    with rounds_tab:
        st.header("Open a round")
        today = date.today()
        suggestion = next_label(labels[-1]) if labels else f"{today.year}-Q{(today.month - 1) // 3 + 1}"
        with st.form("admin_open_round"):
            label = st.text_input("Round label", value=suggestion,
                                  help="YYYY-QN for a quarter (2026-Q3) or YYYY-MM for a month (2026-09).")
            opened = st.form_submit_button("Open the round", type="primary")
        if opened:
            try:
                info, created = admin_service.open_round(engine, label, actor=user)
            except KimError as exc:
                st.error(ui.md_escape(str(exc)), icon=":material/error:")
            else:
                if created:
                    st.success(f"Round {info.label} is open. It uses the criteria in force now.",
                               icon=":material/check_circle:")
                else:
                    st.info(f"Round {info.label} was already open (since "
                            f"{info.opened_at:%d %B %Y}).", icon=":material/info:")
        rounds = league_service.rounds(engine)
        if rounds:
            st.dataframe(pd.DataFrame([{"Round": r.label, "Starts": r.start_date, "Opened": r.opened_at,
                                        "Opened by": r.opened_by} for r in reversed(rounds)]),
                         hide_index=True)
        else:
            st.caption("No rounds yet.")
        followup.round_calendar(actor)
        if labels:
            st.header("Letters to every director")
            cols = st.columns([1, 1, 2])
            letters_round = ui.round_picker(labels, key="admin_letters_round", container=cols[0])
            fmt = cols[1].radio("Format", ["pdf", "docx"], format_func={"pdf": "PDF", "docx": "Word"}.get,
                                horizontal=True, key="admin_letters_format")
            ui.built_download(
                f"letters-{letters_round}-{fmt}", "Build the letters", container=cols[2],
                build=lambda progress: letters_zip(engine, letters_round, fmt, actor=actor, progress=progress),
                label=f"Letters {letters_round} (zip)", file_name=f"kim-letters-{letters_round}-{fmt}.zip",
                mime="application/zip", icon=":material/mail:",
                help="One letter per directorate, ready to send to each director.")

    # Organisation ------------------------------------------------------------------------------
    with org_tab:
        st.header("Load the organisation workbook")
        st.caption("One row per team with the columns Group, Directorate, Team, Director (email) and "
                   "Information managers (emails separated by ; or ,). It is the source of truth for "
                   "which teams exist: teams missing from it leave the league but keep their history.")
        org_file = st.file_uploader("Organisation workbook", type=["xlsx", "xlsm", "xls", "ods", "csv"],
                                    key="admin_org_file")
        if org_file is not None and st.button("Load the organisation", type="primary", key="admin_org_load"):
            try:
                counts = admin_service.load_org(engine, org_file.getvalue(), org_file.name, actor=user)
            except KimError as exc:
                show_problems(exc, "organisation workbook")
            else:
                st.success(f"Loaded {counts['directorates']} directorates: {counts['teams_added']} teams "
                           f"added, {counts['teams_updated']} updated, {counts['teams_retired']} retired.",
                           icon=":material/check_circle:")
        org = admin_service.organisation(engine)
        with st.expander(f"The organisation now ({len(org)} teams)"):
            st.dataframe(org.drop(columns=["team_id", "active"]).rename(columns={
                "team": "Team", "directorate": "Directorate", "group": "Group", "director": "Director",
                "information_managers": "Information managers"}), hide_index=True, width="stretch")

    # Criteria ----------------------------------------------------------------------------------
    with criteria_tab:
        st.header("Criteria, weights, thresholds and guidance")
        criteria = admin_service.current_criteria(engine)
        st.caption("Edit a cell, then check and save. Changes apply to rounds opened from now on; "
                   "rounds already open keep their criteria. Thresholds are the lowest value on the "
                   "criterion's own scale for each status (levels by number, percent 0-100, yes/no as "
                   "1 or 0); leave one empty to skip that status. Step 1 is how to move up from the "
                   "lowest level.")
        frame = insights.criteria_editor_frame(criteria)
        config = {
            "id": st.column_config.TextColumn("Id", disabled=True),
            "name": st.column_config.TextColumn("Name", required=True),
            "description": st.column_config.TextColumn("Description"),
            "scale": st.column_config.TextColumn("Scale", disabled=True),
            "weight": st.column_config.NumberColumn("Weight", min_value=0.0, step=0.1, required=True),
        }
        for status in criteria.rag.levels[1:]:
            config[insights.threshold_column(status)] = st.column_config.NumberColumn(
                insights.threshold_column(status), min_value=0.0, max_value=100.0)
        edited = st.data_editor(frame, hide_index=True, width="stretch", num_rows="fixed",
                                column_config=config, key="admin_criteria_editor")
        st.markdown("**Team status thresholds** (lowest team score, 0-100, for each status)")
        team = st.data_editor(insights.team_thresholds_frame(criteria), hide_index=True,
                              num_rows="fixed", key="admin_team_thresholds",
                              column_config={"status": st.column_config.TextColumn("Status", disabled=True),
                                             "lowest team score": st.column_config.NumberColumn(
                                                 "Lowest team score", min_value=0.0, max_value=100.0)})
        if st.button("Check and save the criteria", type="primary", key="admin_criteria_save"):
            raw = insights.criteria_from_editor(criteria, edited, team)
            try:
                checked = criteria_from_dict(raw, file_name="criteria editor")
            except ValidationError as exc:
                show_problems(exc, "criteria")
            else:
                if checked == criteria:
                    st.info("Nothing changed.", icon=":material/info:")
                else:
                    try:
                        admin_service.load_criteria(engine, checked.to_toml(), actor=user, file_name="criteria editor")
                    except KimError as exc:
                        show_problems(exc, "criteria")
                    else:
                        st.success("Saved the criteria. They apply to rounds opened from now on.",
                                   icon=":material/check_circle:")
        with st.expander("The criteria file (TOML)"):
            st.code(criteria.to_toml(), language="toml")

    # People ------------------------------------------------------------------------------------
    with people_tab:
        st.header("People with a role")
        st.write("Directors and information managers come from the organisation workbook. Name the "
                 "KIM team (admin) and the Permanent Secretary and board (executive) here, by their "
                 "sign-in email. Everyone else who signs in sees the league table only.")
        everyone = admin_service.people_with_roles(engine, actor=actor)
        if everyone.empty:
            st.info("Nobody has a role yet: load the organisation workbook (directors and information "
                    "managers) or name the KIM team below.", icon=":material/info:")
        else:
            st.caption(f"{everyone['email'].nunique()} people with a role: where each role comes "
                       "from, and what it covers.")
            st.dataframe(everyone.rename(columns={"email": "Email", "role": "Role", "source": "From",
                                                  "scope": "Scope"}),
                         hide_index=True, width="stretch",
                         column_config={"Scope": st.column_config.TextColumn("Scope", width="large")})
        with st.form("admin_roles"):
            cols = st.columns([3, 1, 1])
            email = cols[0].text_input("Email", placeholder="name@department.gov.uk")
            role = cols[1].selectbox("Role", ["admin", "executive"],
                                     format_func={"admin": "KIM team (admin)", "executive": "Board (executive)"}.get)
            action = cols[2].radio("Change", ["Grant", "Revoke"])
            changed = st.form_submit_button("Save", type="primary")
        if changed:
            try:
                if action == "Grant":
                    done = admin_service.grant_role(engine, email, role, actor=actor)
                else:
                    done = admin_service.revoke_role(engine, email, role, actor=actor)
            except KimError as exc:
                st.error(ui.md_escape(str(exc)), icon=":material/error:")
            else:
                st.success(f"{ui.md_escape(email)}: {action.lower()}ed {role}." if done else "Nothing changed.",
                           icon=":material/check_circle:")


ui.ensure_navigation()
_page(ui.require_page("admin"))
