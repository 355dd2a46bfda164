"""Who has not returned: a section for the league page, kept apart from its layout."""

from __future__ import annotations

from datetime import date

import streamlit as st

from kim_metrics.domain.access import Actor
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
