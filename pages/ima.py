"""Information Management Assessment: the department's ratings over time, any two assessments
compared, the league's evidence for each sub-area, the recommendations and their action plan,
and the next steps. The KIM team updates actions and signs off their closure; executives and
directors read. Recommendations, actions and commentary are typed by people, so they are
shown as table cells or escaped, never as Markdown or HTML.
"""

from __future__ import annotations

import streamlit as st

from kim_metrics.domain.access import ADMIN
from kim_metrics.domain.errors import KimError, ValidationError
from kim_metrics.domain.ima import ACTION_LABELS, ACTION_STATUS_SET, CLOSED, DELIVERED, NOT_STARTED, IN_PROGRESS
from kim_metrics.domain.statuses import KNOWN, StatusSet
from kim_metrics.services import ima
from kim_metrics.services.views import problems_frame
from pages import _shared as ui

@st.cache_data(show_spinner=False, max_entries=ui.CACHE_ENTRIES)
def _page_data(url: str, version: int, who, first: str | None, second: str | None) -> ima.ImaPage:
    return ima.page(ui.engine(), who, first, second)


def page_data(url: str, who, first: str | None, second: str | None) -> ima.ImaPage:
    """Everything the page draws, cached until the data changes."""
    return _page_data(url, ui.data_version(url), who, first, second)


def css(statuses: StatusSet):
    def cell(value: object) -> str:
        style = statuses.style(value)
        return f"background-color: {style.background}; color: {style.text}; font-weight: 600" if style else ""
    return cell


def _page(actor) -> None:
    # A function, so what the page reads dies with the run: Streamlit keeps a session's
    # download functions and widget callbacks until the session ends, and at a script's top
    # level they would keep every name the page set.
    st.title("Information Management Assessment")
    url = ui.db_url()
    # Local mode may preview another role's view; editing follows the role shown.
    editing = actor.is_admin and ui.current_role(actor)[0] == ADMIN
    first, second = st.session_state.get("ima_first"), st.session_state.get("ima_second")
    try:
        data = page_data(url, actor, first, second)
    except KimError as exc:
        st.error(str(exc))
        st.stop()
    fw = data.record.framework
    st.caption(f"{fw.name}, rated by {fw.assessor} on {len(fw.sub_areas)} sub-areas in {len(fw.areas)} "
               f"areas. Ratings, worst first: {', '.join(r.name for r in fw.ratings)}.")

    if editing:
        with st.expander("Load assessments and actions from a workbook (KIM team)",
                         expanded=not data.record.assessments):
            upload = st.file_uploader("IMA workbook", type=["xlsx", "xlsm", "xls", "ods", "csv"], key="ima_file",
                                      help="A Ratings sheet (Assessment, Kind, Date, Area, Sub-area, Rating, "
                                           "Situation, Progress) and an Actions sheet; see the README.")
            if upload is not None and st.button("Check and load", type="primary", key="ima_load"):
                try:
                    saved = ima.load_workbook(ui.engine(), upload.getvalue(), upload.name, actor=actor)
                except ValidationError as exc:
                    st.error(f"{len(exc.problems)} problem(s) found; nothing was saved.")
                    st.dataframe(problems_frame(exc), hide_index=True, width="stretch")
                except KimError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Loaded {saved.ratings} ratings, {saved.recommendations} recommendations "
                               f"and {saved.actions} actions.")
                    st.rerun()

    if not data.record.assessments:
        st.info("No assessment is loaded yet. The KIM team loads a workbook of ratings and actions "
                "(`kim ima load FILE`; try data/samples/demo-ima.xlsx), or `kim demo` loads the demo "
                "department's.", icon=":material/info:")
        st.stop()

    st.subheader("Ratings over time")
    st.table(data.grid.style.map(css(fw.statuses), subset=data.record.names).format(na_rep="Not rated"))

    if not data.evidence.empty:
        st.subheader("Evidence from the KIM league table")
        st.caption("The department's status on the league criteria that evidence each sub-area, in the "
                   "latest round, and the department mean (0-100) round by round.")
        st.dataframe(data.evidence.style.map(css(KNOWN), subset=["Status"]), hide_index=True, width="stretch")

    if data.compared:
        st.subheader("Compare two assessments")
        names = data.record.names
        cols = st.columns(2)
        cols[0].selectbox("A (earlier)", names, index=names.index(data.compared[0]), key="ima_first")
        cols[1].selectbox("B (later)", names, index=names.index(data.compared[1]), key="ima_second")
        rated = [c for c in data.comparison.columns if c.startswith(("A: ", "B: "))]
        st.table(data.comparison.style.map(css(fw.statuses), subset=rated))

    st.subheader("Next steps")
    if data.next_steps.empty:
        st.write("No open recommendation is flagged as a next step.")
    for r in data.next_steps.itertuples(index=False):
        st.markdown(f"- {ui.md_escape(r.recommendation)}  \n  *{ui.md_escape(r.area)}; made at "
                    f"{ui.md_escape(r.assessment)}; {r.delivered} of {r.actions} actions delivered*")

    st.subheader("Recommendations and action plan")
    shown = st.multiselect("Status", list(ACTION_LABELS.values()), key="ima_status",
                           placeholder="Every status")
    plan = data.plan[data.plan["Status"].isin(shown)] if shown else data.plan
    st.dataframe(plan.style.map(css(ACTION_STATUS_SET), subset=["Status"]), hide_index=True, width="stretch",
                 column_config={"Recommendation": st.column_config.TextColumn(width="large"),
                                "Action": st.column_config.TextColumn(width="large"),
                                "Commentary": st.column_config.TextColumn(width="large")})
    downloads = st.columns(3)
    downloads[0].download_button("Action plan (Excel)", data=lambda: ima.action_plan_xlsx(ui.engine()),
                                 file_name="ima-action-plan.xlsx", on_click="ignore", icon=":material/download:",
                                 mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    latest = data.record.names[-1]
    # Short words on the buttons (they share a laptop's width); the help names the assessment.
    downloads[1].download_button("Report (Word)", data=lambda: ima.report(ui.engine(), latest, "docx"),
                                 file_name=f"ima-report-{latest}.docx", on_click="ignore",
                                 help=f"The report of {latest}, the latest assessment.",
                                 icon=":material/description:",
                                 mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    downloads[2].download_button("Report (PDF)", data=lambda: ima.report(ui.engine(), latest, "pdf"),
                                 file_name=f"ima-report-{latest}.pdf", on_click="ignore",
                                 help=f"The report of {latest}, the latest assessment.",
                                 icon=":material/picture_as_pdf:", mime="application/pdf")

    if editing and not data.plan.empty:
        st.subheader("Update an action (KIM team)")
        labels = {int(r.Id): f"#{r.Id} {r.Action[:80]} ({r.Status})" for r in data.plan.itertuples(index=False)}
        chosen = st.selectbox("Action", list(labels), format_func=labels.get, key="ima_action")
        row = data.plan[data.plan["Id"] == chosen].iloc[0]
        status = next(s for s, label in ACTION_LABELS.items() if label == row["Status"])
        choices = [NOT_STARTED, IN_PROGRESS, DELIVERED] + ([CLOSED] if status == CLOSED else [])
        with st.form(key=f"ima_edit_{chosen}", border=True):
            new_status = st.selectbox("Status", choices, index=choices.index(status), format_func=ACTION_LABELS.get,
                                      help="Closing is a sign-off: mark the action delivered, then sign it off.")
            commentary = st.text_area("Commentary", value=row["Commentary"])
            saved = st.form_submit_button("Save")
        if status == DELIVERED:
            signed = st.button("Sign off closure", key=f"ima_sign_{chosen}", icon=":material/verified:",
                               help="Records that the KIM team agrees the action was delivered.")
        else:
            signed = False
            if status == CLOSED:
                st.caption(f"Closure signed off by {ui.md_escape(row['Signed off by'])}.")
        if saved or signed:
            try:
                if signed:
                    ima.sign_off(ui.engine(), chosen, actor=actor)
                else:
                    ima.update_action(ui.engine(), chosen, actor=actor, status=new_status, commentary=commentary)
            except KimError as exc:
                st.error(str(exc))
            else:
                st.rerun()


ui.ensure_navigation()
_page(ui.require_page("ima"))
