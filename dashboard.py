"""KIM League dashboard (placeholder until the dashboard lands)."""

import streamlit as st

from kim_metrics import api
from kim_metrics.db import make_engine

st.set_page_config(page_title="KIM League", layout="wide")
st.title("KIM League")
engine = make_engine()
result = api.league(engine)
st.dataframe(result.table[["rank", "movement_label", "name", "directorate", "score", "rag"]],
             hide_index=True)
