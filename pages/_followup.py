"""Who has not returned: a section for the league page, kept apart from its layout."""

from __future__ import annotations

from datetime import date

import streamlit as st

from kim_metrics.domain.access import Actor
from kim_metrics.domain.errors import KimError
from kim_metrics.services import admin as admin_service
from kim_metrics.services import reminders as reminder_service
from pages import _shared as ui


def missing_returns(actor: Actor, round_label: str) -> None:
    """The teams without a return, their information managers and the days to or past the
    deadline; emails only where the reader may see them."""
    missing = reminder_service.missing_returns(ui.engine(), round_label, actor=actor)
    st.subheader(f"Who has not returned for {round_label}", anchor=False)
    rnd = missing.round
    if rnd.deadline is not None:
        st.caption(f"Returns {'were' if rnd.deadline < date.today() else 'are'} "
                   f"due by {rnd.deadline.day} {rnd.deadline:%B %Y}"
                   + ("; the round is closed." if rnd.closed else "."))
    if missing.teams.empty:
        st.success(f"Every team has sent a return for {round_label}.", icon=":material/check_circle:")
        return
    view = missing.teams.assign(when=[reminder_service.days_text(d) for d in missing.teams["days"]])
    view = view[["team", "directorate", "information_managers", "when"]].rename(columns={
        "team": "Team", "directorate": "Directorate", "information_managers": "Information managers",
        "when": "Deadline"})
    with st.expander(f"{len(view)} team{'s' if len(view) != 1 else ''} without a return",
                     icon=":material/hourglass_empty:"):
        # Plain cells (st.dataframe), never Markdown: names are typed by people.
        st.dataframe(view, hide_index=True, width="stretch", key="league_missing_returns")


def deadline_note(round_label: str) -> None:
    """The round's own deadline, in the right tense, and whether it is closed (upload page)."""
    rnd = admin_service.find_round(ui.engine(), round_label)
    if rnd is None:
        return
    if rnd.closed:
        st.warning(f"Round {rnd.label} is closed: it takes no more returns. Ask the KIM team if "
                   "yours is still to come.", icon=":material/lock:")
    elif rnd.deadline is not None:
        when = f"{rnd.deadline.day} {rnd.deadline:%B %Y}"
        if rnd.deadline >= date.today():
            st.caption(f"Returns for {rnd.label} are due by {when}.")
        else:
            st.caption(f"Returns for {rnd.label} were due by {when}; a return sent now is accepted "
                       "and marked late.")


def round_calendar(actor: Actor) -> None:
    """The KIM team's round calendar: each round's deadline and whether it is closed, and a form
    to set a deadline, close a round or reopen it (admin page)."""
    engine = ui.engine()
    calendar = admin_service.round_calendar(engine)
    if calendar.empty:
        return
    st.subheader("Deadlines and closing", anchor=False)
    view = calendar.iloc[::-1].rename(columns={
        "label": "Round", "starts": "Starts", "deadline": "Deadline", "closed": "Closed",
        "teams_returned": "Teams returned", "teams": "Teams"})
    st.dataframe(view, hide_index=True, key="admin_round_calendar")
    labels = view["Round"].tolist()
    with st.form("admin_round_calendar_form"):
        cols = st.columns([1, 1])
        label = cols[0].selectbox("Round", labels, key="calendar_round")
        deadline = cols[1].date_input("Deadline for returns", key="calendar_deadline", value=None,
                                      format="DD/MM/YYYY")
        buttons = st.columns(3)
        set_it = buttons[0].form_submit_button("Set the deadline", icon=":material/event:")
        close = buttons[1].form_submit_button("Close the round", icon=":material/lock:")
        reopen = buttons[2].form_submit_button("Reopen the round", icon=":material/lock_open:")
    try:
        if set_it:
            if deadline is None:
                st.error("Choose the deadline's date first.", icon=":material/error:")
            else:
                rnd = admin_service.set_deadline(engine, label, deadline, actor=actor)
                st.success(f"Returns for {rnd.label} are due by {deadline.day} {deadline:%B %Y}; "
                           "later returns are marked late.", icon=":material/check_circle:")
        elif close:
            admin_service.close_round(engine, label, actor=actor)
            st.success(f"Round {label} is closed: it takes no more returns until it is reopened.",
                       icon=":material/check_circle:")
        elif reopen:
            admin_service.reopen_round(engine, label, actor=actor)
            st.success(f"Round {label} is open to returns again.", icon=":material/check_circle:")
    except KimError as exc:
        st.error(ui.md_escape(str(exc)), icon=":material/error:")
