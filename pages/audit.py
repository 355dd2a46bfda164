"""Audit trail (KIM team and board): every saved return, review, comment, criteria change,
round opened and organisation load, with who, when and the values before and after, field
by field. Read-only: the application never changes or deletes a record."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from kim_metrics.reports.exports import audit_csv
from kim_metrics.services import audit as audit_service
from pages import _shared as ui


def _page(actor) -> None:
    # A function, so what the page reads dies with the run: Streamlit keeps a session's
    # download functions and widget callbacks until the session ends, and at a script's top
    # level they would keep every name the page set.
    ANYONE, EVERY_CHANGE, EVERY_ROUND = "Anyone", "All changes", "All rounds"

    st.title("Audit trail")
    st.caption("Every change, newest first. Records are never edited or deleted; times are UTC.")
    url = ui.db_url()
    cols = [*st.columns(2), *st.columns(2)]
    who = cols[0].selectbox("Who", [ANYONE, *ui.audit_people(url, actor)], key="audit_who")
    action = cols[1].selectbox("What", [EVERY_CHANGE, *ui.audit_actions(url, actor)], key="audit_action")
    round_label = cols[2].selectbox("Round", [EVERY_ROUND, *reversed(ui.round_labels(url))],
                                    key="audit_round")
    days = cols[3].date_input("Dates", value=(), max_value=date.today(), key="audit_days",
                              format="DD/MM/YYYY", help="One day, or the first and last day of a span.")
    since, until = (tuple(days) + (None, None))[:2] if days else (None, None)
    until = until or since

    trail = ui.audit_trail(url, actor, None if round_label == EVERY_ROUND else round_label,
                           None if who == ANYONE else who, None if action == EVERY_CHANGE else action,
                           since, until)
    if trail.empty:
        st.info("No changes match these filters.")
        st.stop()

    st.write(f"{len(trail)} change{'s' if len(trail) != 1 else ''}, newest first.")
    shown = trail[["at", "actor", "action", "round", "target"]].rename(columns={
        "at": "When (UTC)", "actor": "Who", "action": "What", "round": "Round", "target": "Changed"})
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "When (UTC)": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm:ss"),
        "Changed": st.column_config.TextColumn("Changed", width="large")})

    by_id = trail.set_index("id")
    choice = st.selectbox("Show the values before and after for", by_id.index.tolist(), key="audit_pick",
                          format_func=lambda i: (f"{pd.Timestamp(by_id.at[i, 'at']):%d %b %Y %H:%M:%S} · "
                                                 f"{by_id.at[i, 'action']} · {by_id.at[i, 'target']}"))
    record = by_id.loc[choice]
    changes = audit_service.field_changes(record["before"], record["after"])
    if changes.empty:
        st.caption("This change recorded no values.")
    else:
        changed = int(changes["changed"].sum())
        st.caption(f"{changed} of {len(changes)} field{'s' if len(changes) != 1 else ''} changed; "
                   "changed fields first.")
        # Values are typed by people (evidence, notes): shown as table cells, never as Markdown.
        st.dataframe(changes.rename(columns={"field": "Field", "before": "Before", "after": "After",
                                             "changed": "Changed"}),
                     hide_index=True, width="stretch",
                     column_config={"Before": st.column_config.TextColumn("Before", width="large"),
                                    "After": st.column_config.TextColumn("After", width="large")})

    st.download_button("Download as CSV", data=audit_csv(trail), key="audit_csv",
                       file_name="kim-audit.csv", mime="text/csv", icon=":material/download:",
                       on_click="ignore")


ui.ensure_navigation()
_page(ui.require_page("audit"))
