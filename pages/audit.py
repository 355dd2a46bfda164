"""Audit trail (KIM team): every saved return, review, criteria change, round opened and
organisation load, with who, when and the values before and after. Read-only: the
application never changes or deletes a record."""

from __future__ import annotations

import streamlit as st

from kim_metrics.storage import audit
from kim_metrics.reports.exports import audit_csv
from pages import _shared as ui

ui.ensure_navigation()
actor = ui.require_page("audit")

ACTIONS = [audit.RETURN_SAVED, audit.SCORE_VERIFIED, audit.SCORE_CHALLENGED, audit.CRITERIA_LOADED,
           audit.ROUND_OPENED, audit.ORG_LOADED, audit.ROLE_GRANTED, audit.ROLE_REVOKED,
           audit.ROUND_DEADLINE_SET, audit.ROUND_CLOSED, audit.ROUND_REOPENED, audit.ACTION_ADOPTED,
           audit.ACTION_UPDATED, audit.ACTION_CLOSED]

st.title("Audit trail")
st.caption("Every change, oldest first. Records are never edited or deleted.")
url = ui.db_url()
cols = st.columns(3)
round_label = cols[0].selectbox("Round", ["All rounds", *reversed(ui.round_labels(url))])
action = cols[1].selectbox("Kind of change", ["All changes", *ACTIONS])
who = cols[2].text_input("Done by (email)", placeholder="anyone")

trail = ui.audit_trail(url, actor, None if round_label == "All rounds" else round_label,
                       who.strip() or None, None if action == "All changes" else action)
if trail.empty:
    st.info("No changes match these filters.")
    st.stop()

st.write(f"{len(trail)} change{'s' if len(trail) != 1 else ''}.")
shown = trail[["at", "actor", "action", "round", "target"]].rename(columns={
    "at": "When (UTC)", "actor": "Who", "action": "What", "round": "Round", "target": "Changed"})
st.dataframe(shown.iloc[::-1], hide_index=True, width="stretch")

choice = st.selectbox("Show the values before and after for", trail["id"].iloc[::-1].tolist(),
                      format_func=lambda i: " · ".join(str(v) for v in trail.set_index("id").loc[
                          i, ["at", "action", "target"]]))
record = trail.set_index("id").loc[choice]
left, right = st.columns(2)
# Values are typed by people (evidence, notes): shown as code, never as Markdown or HTML.
left.caption("Before")
left.code(record["before"] if isinstance(record["before"], str) else "—", language="json")
right.caption("After")
right.code(record["after"] if isinstance(record["after"], str) else "—", language="json")

st.download_button("Download as CSV", data=audit_csv(trail),
                   file_name="kim-audit.csv", mime="text/csv", icon=":material/download:",
                   on_click="ignore")
