"""Team detail: each criterion's claim, what counted, the evidence and the team's history.

Reached from the league table or directorate page, or by a link: ``team?team=<team_id>``.
Evidence, links, comments and notes are typed by teams and reviewers, so they are shown as
plain text (st.text, st.dataframe), never as HTML or Markdown.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kim_metrics.services import comments as comment_service
from kim_metrics.services import review as review_service
from kim_metrics.services import views as insights
from kim_metrics.domain.access import visible_org
from kim_metrics.domain.errors import KimError
from kim_metrics.domain.criteria import NO_RETURN
from kim_metrics.domain.scoring import CHALLENGED, VERIFIED
from pages import _actions as tracked
from pages import _shared as ui

CHOICE_KEY = "team_choice"


def _page(actor) -> None:
    # A function, so what the page reads dies with the run: Streamlit keeps a session's
    # download functions and widget callbacks until the session ends, and at a script's top
    # level they would keep every name the page set.
    st.title("Team detail")
    url = ui.db_url()
    labels = ui.round_labels(url)
    org = visible_org(actor, ui.organisation(url))
    if not labels or org.empty:
        ui.no_rounds_notice()
        st.stop()

    team_names = {int(r.team_id): f"{r.team} — {r.directorate}" for r in org.itertuples()}
    asked = st.query_params.get("team")
    try:
        asked_id = int(asked) if asked is not None else None
    except ValueError:
        asked_id = None
    if asked is not None and asked_id not in team_names:
        st.error(f"There is no current team with id {ui.md_escape(asked)}. Choose a team below.")
    else:
        # An address opened (or another page's link) chooses the team; the person may then
        # pick another, and the address follows them (below).
        ui.from_address("team", CHOICE_KEY, team_names, convert=int)
    if st.session_state.get(CHOICE_KEY) not in team_names:
        st.session_state[CHOICE_KEY] = next(iter(team_names))

    top = st.columns([3, 1])
    team_id = top[0].selectbox("Team", list(team_names), format_func=team_names.get, key=CHOICE_KEY)
    round_label = ui.round_picker(labels, key="team_round", container=top[1], linked=True)
    ui.to_address("team", CHOICE_KEY, team_id)

    detail = ui.team_detail(url, team_id, round_label, actor)
    statuses = ui.league(url, round_label, "team").criteria.rag.statuses   # the round's, for colours
    league = ui.league(url, round_label, "team").table
    row = league[league["team_id"] == team_id]

    st.header(ui.md_escape(detail.team), anchor=False)
    st.caption(f"{ui.md_escape(detail.directorate)} · {ui.md_escape(detail.group)}")
    ui.link("directorate", f"Back to {ui.md_escape(detail.directorate)}", icon=":material/arrow_back:",
            query_params={"directorate": detail.directorate, "round": round_label})
    cols = [*st.columns(2), *st.columns(2)]   # two by two: the status and rank read in full
    cols[0].metric("Score", ui.score_text(detail.score), help="Weighted score, 0-100.")
    cols[1].metric("Status", ui.status_word(detail.rag, statuses))
    if len(row) and not pd.isna(row.iloc[0]["rank"]):
        r = row.iloc[0]
        cols[2].metric("Rank", f"{int(r['rank'])} of {int(league['rank'].notna().sum())}",
                       delta=None if r["movement_label"] in ("", "–", "new") else r["movement_label"],
                       delta_color="off", delta_arrow="off",
                       help="Places up (▲) or down (▼) since the last round.")
    else:
        cols[2].metric("Rank", "unranked", help="A team without a return is not ranked.")
    flagged = int(detail.criteria["unevidenced"].sum())
    cols[3].metric("Unevidenced claims", flagged,
                   help="Claims above the lowest level with no evidence count as the lowest level.")

    if detail.rag == NO_RETURN:
        st.warning(f"**No return** from this team for {round_label}.", icon=":material/warning:")
    else:
        # Overview: one row per criterion, words in every cell.
        overview = pd.DataFrame({
            "Criterion": detail.criteria["name"],
            "Claimed": detail.criteria["claimed"],
            "Counted": detail.criteria["counted"],
            "RAG": detail.criteria["rag"],
            "Evidence": detail.criteria["unevidenced"].map({True: "⚠ Unevidenced", False: "Given"}),
            "Review": detail.criteria["review_status"].replace("", "—"),
        })
        overview.loc[~detail.criteria["evidenced"] & ~detail.criteria["unevidenced"], "Evidence"] = "None needed"
        st.subheader(f"Scores for {round_label}")
        st.dataframe(ui.styled(overview, ["RAG"], statuses=statuses), hide_index=True, width="stretch", column_config={
            "Criterion": st.column_config.TextColumn("Criterion", width="large"),
            "Claimed": st.column_config.TextColumn("Claimed", width="small"),
            "Counted": st.column_config.TextColumn("Counted", width="small"),
            "RAG": st.column_config.TextColumn("RAG", width="small"),
            "Evidence": st.column_config.TextColumn("Evidence", width="small"),
            "Review": st.column_config.TextColumn("Review", width="small")})

    history = detail.scores_history
    criteria = ui.league(url, round_label, "team").criteria
    # Local mode may preview another role's view; the review form follows the role shown.
    can_review = actor.is_admin and ui.current_role(actor)[0] == "admin"

    def review_form(c) -> None:
        """The KIM team's verdict on one score: verify it, or challenge it at a lower value."""
        criterion = criteria.get(c.criterion)
        with st.expander("Review this score (KIM team)"):
            with st.form(key=f"review_{c.score_id}", border=False):
                # No default: a verdict saved without a choice would be a verdict nobody gave.
                verdict = st.radio("Verdict", ["Verify", "Challenge"], horizontal=True, index=None,
                                   key=f"verdict_{c.score_id}")
                if criterion.challenge_values() is None:
                    value = st.number_input("If challenged, count it at (%)", 0.0, 100.0, step=1.0,
                                            key=f"value_{c.score_id}")
                else:
                    value = st.selectbox("If challenged, count it at", list(range(int(criterion.top) + 1)),
                                         format_func=criterion.label, key=f"value_{c.score_id}")
                note = st.text_area("Note for the team", key=f"note_{c.score_id}",
                                    help="The team reads this on its page; say what evidence is missing.")
                if st.form_submit_button("Save the review"):
                    if verdict is None:
                        st.error("Choose Verify or Challenge, then save the review.")
                        return
                    status = VERIFIED if verdict == "Verify" else CHALLENGED
                    try:
                        review_service.review_score(ui.engine(), c.score_id, status=status, actor=actor,
                                         value=float(value) if status == CHALLENGED else None, note=note)
                    except KimError as exc:
                        st.error(str(exc))
                    else:
                        st.success(f"Saved: {criterion.name} {status}.")
                        st.rerun()

    def comment_thread(c, thread: pd.DataFrame) -> None:
        """A score's comments, and a reply box for those who may write in the thread."""
        mine = thread[thread["score_id"] == c.score_id]
        may_write = actor.may_comment_on(team_id, detail.directorate)
        if mine.empty and not may_write:
            return
        with st.expander(f"Comments ({len(mine)})", expanded=not mine.empty):
            for m in mine.itertuples(index=False):
                st.caption(f"{ui.md_escape(m.author)} · {pd.Timestamp(m.written_at):%d %b %Y %H:%M}")
                st.text(m.body)
            if may_write:
                with st.form(key=f"comment_{c.score_id}", clear_on_submit=True, border=False):
                    body = st.text_area("Reply", key=f"comment_body_{c.score_id}",
                                        help="The KIM team reads this; no new return is needed.")
                    if st.form_submit_button("Send the reply"):
                        try:
                            comment_service.add_comment(ui.engine(), c.score_id, body, actor=actor)
                        except KimError as exc:
                            st.error(ui.md_escape(str(exc)))
                        else:
                            st.rerun()

    score_ids = [int(s) for s in detail.criteria["score_id"].dropna()]
    threads = comment_service.threads(ui.engine(), score_ids, actor=actor)
    tracked.committed_actions(actor, team_id=team_id, heading="Actions")

    st.subheader("Each criterion")
    for c in detail.criteria.itertuples(index=False):
        with st.container(border=True):
            st.markdown(f"#### {ui.md_escape(c.name)}")
            if c.rag == NO_RETURN:
                st.caption("No score for this round.")
            else:
                st.markdown(f"**Claimed:** {ui.md_escape(c.claimed or '—')} &nbsp;·&nbsp; "
                            f"**Counted:** {ui.md_escape(c.counted or '—')} &nbsp;·&nbsp; "
                            f"**Status:** {ui.status_word(c.rag, statuses)}")
                if c.unevidenced:
                    st.warning(f"**Unevidenced claim.** The team claimed '{ui.md_escape(c.claimed)}' "
                               f"but gave no evidence, so it counts as '{ui.md_escape(c.counted)}'.",
                               icon=":material/report:")
                st.markdown("**Evidence**")
                st.text(c.evidence or "No evidence text given.")
                if c.evidence_link:
                    st.markdown("**Evidence link**")
                    st.text(c.evidence_link)
                    safe = insights.safe_link(c.evidence_link)
                    if safe:
                        st.link_button("Open the evidence link", safe, icon=":material/open_in_new:")
                if c.comment:
                    st.markdown("**Team's comment**")
                    st.text(c.comment)
                if c.review_status in (CHALLENGED, VERIFIED):
                    st.markdown(f"**Reviewer's note** ({c.review_status}"
                                + (f" by {ui.md_escape(c.reviewer)}" if c.reviewer else "") + ")")
                    st.text(c.review_note or "No note.")
                if c.score_id is not None and not pd.isna(c.score_id):
                    comment_thread(c, threads)
                if can_review and c.score_id is not None:
                    review_form(c)
            past = history[history["criterion"] == c.criterion]
            if len(past):
                past_view = past.rename(columns={"round": "Round", "claimed": "Claimed",
                                                 "counted": "Counted", "rag": "RAG"})
                past_view["Evidence"] = past["unevidenced"].map({True: "⚠ Unevidenced", False: ""})
                with st.expander(f"History of this criterion ({len(past)} rounds)"):
                    st.dataframe(ui.styled(past_view[["Round", "Claimed", "Counted", "RAG", "Evidence"]],
                                           ["RAG"], statuses=statuses), hide_index=True)

    st.subheader("History across rounds")
    hist = detail.history.rename(columns={"round": "Round", "score": "Score", "rag": "RAG"})
    st.dataframe(ui.styled(hist, ["RAG", *[c for c in hist.columns if c not in ("Round", "Score")]],
                           decimals={"Score": 1}, statuses=statuses), hide_index=True, width="stretch")


ui.ensure_navigation()
_page(ui.require_page("team"))
