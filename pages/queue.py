"""Verification queue (KIM team): self-declared scores to check, highest impact first.

Filter by round, directorate, criterion and review status; pick rows, then verify them all
at once or challenge one with a note. Each score's comment thread is shown for the row
picked, so the KIM team can ask and the team answer without a new return. The order and
the words of "impact" are the core's (``domain.queue``, ``services.review``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kim_metrics.domain.errors import KimError
from kim_metrics.domain.scoring import CHALLENGED, SELF_DECLARED, VERIFIED
from kim_metrics.services import comments as comment_service
from kim_metrics.services import review as review_service
from pages import _shared as ui

ROWS_KEY = "queue_rows"
DONE_KEY = "queue_done"


def _page(actor) -> None:
    # A function, so what the page reads dies with the run: Streamlit keeps a session's
    # download functions and widget callbacks until the session ends, and at a script's top
    # level they would keep every name the page set.
    st.title("Verification queue")
    st.caption("Scores to check, highest impact first: claims that move a team across a status "
               "boundary, then Green claims, then the points each claim adds to its team's score.")
    url = ui.db_url()
    labels = ui.round_labels(url)
    if not labels:
        ui.no_rounds_notice()
        st.stop()

    top = [*st.columns([1, 2]), *st.columns(2)]
    round_label = ui.round_picker(labels, key="queue_round", container=top[0])
    criteria = ui.league(url, round_label, "team").criteria
    places = ui.league_places(url, round_label)
    directorates = top[1].multiselect("Directorates", sorted(places["directorate"].dropna().unique()),
                                      key="queue_directorates", placeholder="All directorates")
    names = {c.id: c.name for c in criteria}
    shorts = {c.name: c.short or c.name for c in criteria}
    chosen_criteria = top[2].multiselect("Criteria", list(names), format_func=names.get,
                                         key="queue_criteria", placeholder="All criteria")
    statuses = top[3].multiselect("Review status", [SELF_DECLARED, CHALLENGED, VERIFIED],
                                  default=[SELF_DECLARED], key="queue_statuses",
                                  placeholder="Any status")

    done = st.session_state.pop(DONE_KEY, None)
    if done:
        st.success(done, icon=":material/check_circle:")

    queue = review_service.verification_queue(ui.engine(), round_label, actor=actor,
                                              directorates=directorates, criteria_ids=chosen_criteria,
                                              statuses=statuses)
    items = queue.items
    if items.empty:
        st.info("Nothing to check with these filters.", icon=":material/task_alt:")
        st.stop()

    st.write(f"{len(items)} score{'s' if len(items) != 1 else ''} for {queue.round}.")
    view = pd.DataFrame({
        "Team": items["team"], "Criterion": items["criterion_name"].map(shorts),
        "Claimed": items["claimed_raw"], "Claim": items["claimed_rag"], "Impact": items["impact"],
        "Review": items["review_status"], "Directorate": items["directorate"],
        "Evidence": items["evidence"].fillna(""), "Comments": items["comments"]})
    event = st.dataframe(
        ui.styled(view, ["Claim"], statuses=criteria.rag.statuses), hide_index=True, width="stretch",
        on_select="rerun", selection_mode="multi-row", key=ROWS_KEY,
        column_config={"Impact": st.column_config.TextColumn("Impact", width="large"),
                       "Evidence": st.column_config.TextColumn("Evidence", width="medium"),
                       "Comments": st.column_config.NumberColumn("Comments", width="small")})
    picked = items.iloc[[r for r in event.selection.rows if r < len(items)]]
    if picked.empty:
        st.caption("Pick rows (the boxes on the left) to verify them, or one row to challenge it "
                   "and read its comments.")
        st.stop()

    def finish(message: str) -> None:
        st.session_state[DONE_KEY] = message
        st.session_state.pop(ROWS_KEY, None)   # the rows picked are done with
        st.rerun()

    ids = picked["score_id"].astype(int).tolist()
    if st.button(f"Verify {len(ids)} score{'s' if len(ids) != 1 else ''}", type="primary",
                 key="queue_verify", icon=":material/verified:"):
        try:
            review_service.review_scores(ui.engine(), ids, status=VERIFIED, actor=actor)
        except KimError as exc:
            st.error(ui.md_escape(str(exc)), icon=":material/error:")
        else:
            finish(f"Verified {len(ids)} score{'s' if len(ids) != 1 else ''}.")

    if len(picked) != 1:
        st.caption("Pick one row to challenge it or read its comments.")
        st.stop()

    row = picked.iloc[0]
    sid = int(row["score_id"])
    criterion = criteria.get(row["criterion"])
    st.subheader(f"{row['team']}: {row['criterion_name']}", anchor=False)
    left, right = st.columns(2)
    with left:
        st.markdown("**Evidence**")
        st.text(row["evidence"] or "No evidence text given.")
        if row["evidence_link"]:
            st.text(row["evidence_link"])
        with st.form("queue_challenge_form"):
            if criterion.challenge_values() is None:
                value = st.number_input("Count it at (%)", 0.0, 100.0, step=1.0, key="queue_challenge_value")
            else:
                value = st.selectbox("Count it at", list(range(int(criterion.top) + 1)),
                                     format_func=criterion.label, key="queue_challenge_value")
            note = st.text_area("Why (the team reads this)", key="queue_challenge_note")
            if st.form_submit_button("Challenge this score", icon=":material/gavel:"):
                try:
                    review_service.review_score(ui.engine(), sid, status=CHALLENGED, actor=actor,
                                                value=float(value), note=note)
                except KimError as exc:
                    st.error(ui.md_escape(str(exc)), icon=":material/error:")
                else:
                    finish(f"Challenged {row['team']}: {row['criterion_name']}.")
    with right:
        st.markdown("**Comments**")
        thread = comment_service.threads(ui.engine(), [sid], actor=actor)
        if thread.empty:
            st.caption("No comments yet.")
        for c in thread.itertuples(index=False):
            st.caption(f"{ui.md_escape(c.author)} · {pd.Timestamp(c.written_at):%d %b %Y %H:%M}")
            st.text(c.body)
        with st.form("queue_comment_form", clear_on_submit=True):
            body = st.text_area("Add a comment", key="queue_comment_body")
            if st.form_submit_button("Send the comment", icon=":material/send:"):
                try:
                    comment_service.add_comment(ui.engine(), sid, body, actor=actor)
                except KimError as exc:
                    st.error(ui.md_escape(str(exc)), icon=":material/error:")
                else:
                    st.session_state[DONE_KEY] = "Comment sent."
                    st.rerun()


ui.ensure_navigation()
_page(ui.require_page("queue"))
