"""Upload a return: download the template, upload a workbook, see every problem, then confirm.

Nothing is saved until the person presses the confirm button; the checked return (an
``return_service.Preview``) waits in ``st.session_state`` between reruns. A file whose headers are not
recognised gets a column-mapping form.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from kim_metrics.services import admin as admin_service
from kim_metrics.services import common
from kim_metrics.services import returns as return_service
from kim_metrics.services import views as insights
from kim_metrics.domain.errors import KimError, ValidationError
from kim_metrics.reading.returns import FIELD_LABELS
from kim_metrics.domain.rounds import next_label
from kim_metrics.reports import registry
from kim_metrics.reports.files import slug
from kim_metrics.reports.template import write_template
from pages import _followup as followup
from pages import _shared as ui

CHECK_KEY = "upload_check"        # {"key": ..., "preview": Preview | None, "error": KimError | None}
MAPPINGS_KEY = "upload_mappings"  # file hash → {canonical field: header}
SAVED_KEY = "upload_saved"        # what the last save stored, for the confirmation
NOT_IN_FILE = "— not in the file —"
TYPES = ["xlsx", "xlsm", "xls", "ods", "csv"]
REPORT_LINES = 200                # problem lines shown on the page; the download holds them all


def current_quarter(today: date | None = None) -> str:
    today = today or date.today()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def round_options(labels: list[str]) -> list[str]:
    """The latest round first, then the one after it (a first return opens a round), then older."""
    if not labels:
        now = current_quarter()
        return [now, next_label(now)]
    newest = list(reversed(labels))
    return [newest[0], next_label(newest[0]), *newest[1:]]


def my_directorates(org: pd.DataFrame, email: str) -> list[str]:
    ims = org["information_managers"].fillna("").str.lower()
    return sorted(org.loc[ims.str.contains(email.lower(), regex=False), "directorate"].unique())


def template_bytes(engine, org: pd.DataFrame, round_label: str, directorate: str | None) -> bytes:
    criteria = admin_service.round_criteria(engine, round_label)
    rnd = admin_service.find_round(engine, round_label)
    return write_template(io.BytesIO(), criteria=criteria, teams=org, round_label=round_label,
                          directorate=directorate, deadline=rnd.deadline if rnd else None)


def check(engine, data: bytes, name: str, round_label: str, mapping: dict | None, user: str) -> dict:
    """Check a file with a progress bar; the result is kept between reruns."""
    result: dict = {"preview": None, "error": None}
    with st.status(f"Checking {name}", expanded=True) as status:
        bar = st.progress(0.0, text="Starting")
        try:
            result["preview"] = return_service.check_return(
                engine, data, name, round_label, mapping, uploader=user,
                progress=ui.progress_to(bar))
        except KimError as exc:
            result["error"] = exc
            status.update(label=f"{name}: problems found; nothing was saved", state="error",
                          expanded=False)
        else:
            status.update(label=f"{name}: checked, no problems", state="complete", expanded=False)
    return result


def problem_report(error: KimError, name: str) -> None:
    """The problems in full (grouped, wrapped) and the list to download and send back."""
    report = insights.problems_frame(error)
    count = insights.problem_count(error)
    st.error(f"**{count} problem{'s' if count != 1 else ''} found in {ui.md_escape(name)}; nothing "
             "was saved.** Fix each one in the file and upload it again.", icon=":material/error:")
    shown = report.head(REPORT_LINES).rename(columns=str.capitalize)
    # st.table wraps every message in full; a data grid would cut them at its column's edge.
    st.table(shown.style.hide(axis="index"))
    if len(report) > REPORT_LINES:
        st.caption(f"The first {REPORT_LINES} of {len(report)} lines; download the list for all.")
    stem = f"problems-{slug(Path(name).stem)}"
    cols = st.columns(len(registry.renderers("problems")) + 2)
    for col, r in zip(cols, registry.renderers("problems")):
        col.download_button(f"Problems ({r.label})", data=r.render(report), file_name=r.file_name(stem),
                            mime=r.content_type, icon=":material/download:", on_click="ignore",
                            key=f"upload_problems_{r.name}",
                            help="The list to send back to whoever filled the return.")


def replacement_notice(preview: return_service.Preview) -> None:
    """Before saving: which earlier returns this one replaces, by whom, when, how many scores."""
    if not preview.replaces:
        return
    lines = [f"- return {r.return_id}, **{ui.md_escape(r.file_name)}**, uploaded by "
             f"{ui.md_escape(r.uploader)} on {pd.Timestamp(r.uploaded_at):%d %B %Y at %H:%M}: "
             f"{r.scores} score{'s' if r.scores != 1 else ''} for {r.teams} team{'s' if r.teams != 1 else ''}"
             for r in preview.replaces]
    n = preview.replaced_scores
    st.warning(f"**Saving replaces {n} earlier score{'s' if n != 1 else ''}** for these teams in "
               f"{preview.round}, from:\n\n" + "\n".join(lines)
               + "\n\nThose scores stop counting (they stay in the audit trail).",
               icon=":material/swap_horiz:")


def mapping_form(data: bytes, name: str, error: ValidationError, file_hash: str) -> None:
    problem = insights.unknown_columns(error)
    try:
        headers = insights.file_headers(data, name, problem)
    except KimError:
        headers = []
    if not headers:
        return
    st.markdown("#### Match your columns")
    st.caption("The file's headers are not the template's. Tell us which of your columns holds "
               "each field, then check the file again. Team, Criterion and Score are needed.")
    guess = insights.guess_mapping(headers)
    choices = {}
    with st.form("upload_mapping_form", border=True):
        cols = st.columns(4)
        for i, field in enumerate(insights.MAPPABLE_FIELDS):
            options = [NOT_IN_FILE, *headers]
            label = FIELD_LABELS[field] + (" (needed)" if field in insights.REQUIRED_FIELDS else "")
            picked = cols[i % 4].selectbox(label, options,
                                           index=options.index(guess[field]) if guess.get(field) else 0,
                                           key=f"upload_map_{file_hash[:12]}_{field}")
            choices[field] = None if picked == NOT_IN_FILE else picked
        submitted = st.form_submit_button("Check again with these columns", type="primary")
    if submitted:
        mapping, messages = insights.mapping_from_choices(choices)
        if messages:
            for m in messages:
                st.error(ui.md_escape(m))
        else:
            st.session_state.setdefault(MAPPINGS_KEY, {})[file_hash] = mapping
            st.rerun()


def show_preview(preview: return_service.Preview) -> None:
    criteria = preview.criteria
    teams = preview.teams.sort_values(["directorate", "team"])
    table = insights.rag_matrix(teams, criteria).reset_index().rename(columns={"team": "Team"})
    table.insert(1, "Directorate", teams["directorate"].to_numpy())
    table.insert(2, "Score", teams["score"].to_numpy())
    table.insert(3, "RAG", teams["rag"].to_numpy())
    st.dataframe(ui.styled(table, ["RAG", *(c.name for c in criteria)], decimals={"Score": 1},
                           statuses=criteria.rag.statuses),
                 hide_index=True, width="stretch")
    flagged = preview.scores[preview.scores["unevidenced"].astype(bool)]
    if len(flagged):
        names = {c.id: c.name for c in criteria}
        st.warning(f"**{len(flagged)} unevidenced claim{'s' if len(flagged) != 1 else ''}.** "
                   "These scores have no evidence, so they will count as the lowest level. Add "
                   "evidence and upload again to have them counted.", icon=":material/report:")
        st.dataframe(pd.DataFrame({"Team": flagged["team"], "Criterion": flagged["criterion"].map(names),
                                   "Claimed": flagged["claimed_raw"], "Row": flagged["row"]}),
                     hide_index=True)


def _page(actor) -> None:
    # A function, so what the page holds (the uploaded file, the organisation) dies with the
    # run: Streamlit keeps a session's download functions until the session ends, and at a
    # script's top level they would keep every name the page set.
    st.title("Upload a return")
    engine = ui.engine()
    url = ui.db_url()
    labels = ui.round_labels(url)
    # An information manager's template holds only the teams they submit for.
    org = ui.organisation(url)
    org = org if actor.is_admin else org[org["team_id"].isin(actor.teams)]
    user = actor.email

    round_label = st.selectbox("Round this return is for", round_options(labels), key="upload_round",
                               help="The latest round first, then the next one: the first return for "
                                    "a round opens it.")
    followup.deadline_note(round_label)

    st.header("1. Download the template")
    if org.empty:
        st.info("No organisation is loaded yet, so there are no teams to put in a template. The KIM "
                "team loads the organisation workbook on the admin page. You can still upload a "
                "return: its teams will be added.", icon=":material/info:")
        ui.link("admin", "Load the organisation", icon=":material/settings:")
    else:
        directorates = sorted(org["directorate"].unique())
        mine = my_directorates(org, user)
        options = ["All directorates", *directorates]
        cols = st.columns([3, 2])   # room for the button's words at laptop widths
        chosen = cols[0].selectbox("Directorate", options,
                                   index=options.index(mine[0]) if mine else 0, key="upload_directorate")
        directorate = None if chosen == "All directorates" else chosen
        cols[1].download_button(
            "Download the template", data=lambda: template_bytes(engine, org, round_label, directorate),
            file_name=f"kim-return-{round_label}-{slug(directorate or 'all')}.xlsx", on_click="ignore",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/download:", help="Pre-filled with the teams and the seven criteria, with "
                                             "drop-down lists for scores and a guidance sheet.")

    st.header("2. Upload the filled workbook")
    uploaded = st.file_uploader("Return workbook (.xlsx, .xlsm, .xls, .ods or .csv)", type=TYPES,
                                key="upload_file", help="Macros never run. Nothing is saved until you "
                                                        "confirm.")
    if uploaded is None:
        st.session_state.pop(CHECK_KEY, None)
    else:
        data = uploaded.getvalue()
        digest = common.file_hash(data)
        mapping = st.session_state.get(MAPPINGS_KEY, {}).get(digest)
        key = (digest, uploaded.name, round_label, tuple(sorted((mapping or {}).items())))
        state = st.session_state.get(CHECK_KEY)
        if state is None or state["key"] != key:
            state = {"key": key, **check(engine, data, uploaded.name, round_label, mapping, user)}
            st.session_state[CHECK_KEY] = state
        error, preview = state["error"], state["preview"]
        saved = st.session_state.get(SAVED_KEY)
        if error is not None:
            problem_report(error, uploaded.name)
            if isinstance(error, ValidationError) and insights.unknown_columns(error):
                mapping_form(data, uploaded.name, error, digest)
        elif preview is not None:
            if saved and saved["file_hash"] == preview.file_hash and saved["round"] == preview.round:
                st.success(saved["message"], icon=":material/check_circle:")
            elif preview.same_file:
                same = preview.same_file
                st.info(f"This file is already saved for {preview.round} (return {same['return_id']}, "
                        f"uploaded by {ui.md_escape(same['uploader'])} on "
                        f"{pd.Timestamp(same['uploaded_at']):%d %B %Y at %H:%M}). It will not be saved "
                        "again.", icon=":material/info:")
            else:
                teams = preview.teams
                st.success(f"**No problems found.** {len(teams)} team{'s' if len(teams) != 1 else ''} "
                           f"and {len(preview.scores)} scores for {preview.round}. Check the scores "
                           "below; nothing is saved until you confirm.", icon=":material/check_circle:")
                if not preview.round_exists:
                    st.info(f"Round {preview.round} is not open yet: saving this return opens it with "
                            "the criteria in force now.", icon=":material/info:")
                show_preview(preview)
                replacement_notice(preview)
                if st.button(f"Confirm and save the return for {preview.round}", type="primary",
                             key="upload_confirm", icon=":material/save:"):
                    try:
                        bar = st.progress(0.0, text="Saving")
                        result = return_service.save_preview(engine, preview, uploader=user,
                                                             progress=ui.progress_to(bar))
                    except KimError as exc:
                        st.error(ui.md_escape(str(exc)))
                    else:
                        message = (f"**Saved** {ui.md_escape(uploaded.name)} as return "
                                   f"{result.return_id} for {result.round}: {result.teams} "
                                   f"team{'s' if result.teams != 1 else ''}, {result.scores} scores"
                                   + (f"; it replaces {result.superseded} earlier scores for the same "
                                      "teams" if result.superseded else "")
                                   + (f"; {result.new_teams} new teams were added" if result.new_teams else "")
                                   + (f"; round {result.round} was opened" if result.round_opened else "")
                                   + ("; it came after the round's deadline, so it is marked late"
                                      if result.late else "")
                                   + ". The league table now includes it.")
                        st.session_state[SAVED_KEY] = {"file_hash": preview.file_hash,
                                                       "round": result.round, "message": message}
                        st.session_state.pop(CHECK_KEY, None)
                        st.rerun()

    st.header("Earlier returns")
    earlier = return_service.returns(engine, actor=actor)
    if earlier.empty:
        st.caption("No returns yet.")
    else:
        view = earlier.rename(columns={
            "return_id": "Return", "round": "Round", "file_name": "File", "uploader": "Uploaded by",
            "uploaded_at": "Uploaded at", "layout": "Layout", "team_count": "Teams",
            "score_count": "Scores", "late": "Late", "current_scores": "Scores counting", "status": "Status"})
        st.dataframe(view, hide_index=True, width="stretch",
                     column_config={"Uploaded at": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm")})


ui.ensure_navigation()
_page(ui.require_page("upload"))
