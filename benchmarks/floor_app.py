"""The floor: the quickest a Streamlit page of this kind can be on this machine.

It imports the libraries the dashboard imports (numpy, pandas, plotly, SQLAlchemy) and shows
one 100-row ``st.dataframe``, nothing else. The benchmark serves it beside the dashboard and
times it the same way, so the dashboard's browser figures are ratios that hold on any machine.
"""

import numpy as np
import pandas as pd
import plotly.graph_objects as go  # noqa: F401 - imported, as the league page does, for its cost
import sqlalchemy  # noqa: F401 - likewise
import streamlit as st

ROWS = 100

st.set_page_config(page_title="Floor", layout="wide")
st.title("Floor")
rng = np.random.default_rng(0)
st.dataframe(pd.DataFrame({
    "Rank": np.arange(1, ROWS + 1),
    "Team": [f"Team {i}" for i in range(1, ROWS + 1)],
    "Score": rng.uniform(0, 100, ROWS).round(1),
    "RAG": rng.choice(["Red", "Amber", "Green"], ROWS),
}), hide_index=True)
