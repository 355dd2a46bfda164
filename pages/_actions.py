"""Tracked actions on the directorate and team pages: the committed list and the adopt form.

Kept apart from the pages' layout so each page adds one call. Every write goes through
``services.actions``, which checks the person's scope; a refusal is shown as a message.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from kim_metrics.domain.access import Actor
from kim_metrics.domain.errors import KimError
from kim_metrics.services import actions as action_service
from pages import _shared as ui

DEFAULT_DUE_DAYS = 28
COLUMNS = {"action_id": "Id", "team": "Team", "criterion": "Criterion", "target_label": "Target",
           "target_status": "Status then", "owner": "Owner", "due_on": "Due", "status": "Progress",
           "overdue": "Overdue", "round": "Adopted in", "note": "Note"}


def committed_actions(actor: Actor, *, directorate: str | None = None, team_id: int | None = None,
                      heading: str = "Committed actions") -> None:
    """The open actions (and those done or dropped, on request) of a directorate or a team."""
    st.subheader(heading, anchor=False)
    try:
        frame = action_service.list_actions(ui.engine(), actor=actor,
                                            team_ids=[team_id] if team_id is not None else None)
    except KimError:
        st.caption("Actions are shown to the team's information managers, its director, the KIM "
                   "team and the board.")
        return
    if directorate is not None:
        frame = frame[frame["directorate"] == directorate]
    key = f"actions_closed_{directorate or team_id}"
    if not st.toggle("Show done and dropped actions", key=key):
        frame = frame[frame["status"].isin(action_service.ACTIVE)]
    if frame.empty:
        st.caption("No actions committed yet." if directorate else "No actions committed for this team.")
        return
    late = int(frame["overdue"].astype(bool).sum())
    if late:
        st.warning(f"{late} action{'s are' if late != 1 else ' is'} overdue.", icon=":material/schedule:")
    view = frame[list(COLUMNS)].rename(columns=COLUMNS).copy()
    view["Overdue"] = view["Overdue"].map({True: "overdue", False: ""})
    view["Progress"] = view["Progress"].str.replace("_", " ")
    # Plain cells (st.dataframe), never Markdown: notes and names are typed by people.
    st.dataframe(view, hide_index=True, width="stretch",
                 column_config={"Due": st.column_config.DateColumn("Due", format="D MMM YYYY")})


def adopt_form(actor: Actor, round_label: str, directorate: str, actions: pd.DataFrame) -> None:
    """Commit to one of ``directorate``'s next steps in ``actions`` (``views.improvement_actions``
    rows) with an owner, a due date and a note; offered to those who may adopt them."""
    mine = actions[[action_service.may_act_on(actor, int(t), directorate) for t in actions["team_id"]]]
    if mine.empty:
        return
    with st.expander("Adopt an action: give it an owner and a due date", icon=":material/assignment_add:"):
        with st.form("adopt_action", clear_on_submit=True, border=False):
            choices = list(range(len(mine)))
            picked = st.selectbox("Next step", choices, key="adopt_step", format_func=lambda i: (
                f"{mine.iloc[i]['team']}: {mine.iloc[i]['criterion_name']} → {mine.iloc[i]['target']}"))
            cols = st.columns([2, 1])
            owner = cols[0].text_input("Owner (email)", key="adopt_owner",
                                       placeholder="name@dept.gov.uk")
            due = cols[1].date_input("Due date", key="adopt_due",
                                     value=date.today() + timedelta(days=DEFAULT_DUE_DAYS),
                                     min_value=date.today(), format="DD/MM/YYYY")
            note = st.text_area("Note", key="adopt_note", placeholder="What will be done, by whom")
            if st.form_submit_button("Adopt", icon=":material/check:"):
                row = mine.iloc[int(picked)]
                try:
                    done = action_service.adopt(ui.engine(), team=int(row["team_id"]),
                                                criterion=str(row["criterion"]), owner=owner or "",
                                                due=due, note=note or "", actor=actor,
                                                round_label=round_label)
                except KimError as exc:
                    st.error(str(exc), icon=":material/error:")
                else:
                    st.success(f"Action {done.action_id} adopted: {done.team} to reach {done.target} "
                               f"on {row['criterion_name']}, owned by {done.owner}, due "
                               f"{done.due_on:%d %b %Y}.", icon=":material/check_circle:")
