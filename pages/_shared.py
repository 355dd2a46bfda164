"""The app's edge, shared by every page: the engine, cached figures, links and RAG styling.

Cached functions take the database URL as their first argument so two databases (tests,
or a URL changed between runs) never share an answer. ``refresh()`` clears the figures
after anything is saved; they also expire after ``TTL`` seconds so replicas sharing one
database catch up with each other's saves.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st

from kim_metrics import api, insights
from kim_metrics.criteria import NO_RETURN
from kim_metrics.db import database_url, make_engine
from kim_metrics.rag import rag_style
from kim_metrics.store import ensure_schema

TTL = 300
LOCAL_USER = "local-admin"


def ensure_navigation() -> None:
    """Make sure this page runs inside dashboard.py's navigation, never on its own.

    Streamlit treats a ``pages/`` folder beside the entry point as the old automatic
    multipage layout until the entry point first calls ``st.navigation``. On a freshly
    started server, a person whose first request is a page's own URL (``/team?team=5``)
    would have that page run by itself, outside the role table. Such a run switches
    Streamlit to ``st.navigation`` and starts again through dashboard.py.
    """
    from streamlit.runtime.pages_manager import PagesManager
    # dashboard.py records the role's pages in the session before it runs a page; a session
    # without them has not been through it. (AppTest resets the flag before every run and
    # then runs the page it is on directly; its session has been through dashboard.py, so
    # it carries on rather than rerun, which would swallow a button click.)
    # A page run as the app itself (AppTest.from_file("pages/x.py")) has no dashboard.py to
    # go through: one try, then it carries on alone.
    if "kim_pages" not in st.session_state and not st.session_state.get("kim_navigation_tried"):
        st.session_state["kim_navigation_tried"] = True
        PagesManager.uses_pages_directory = False
        st.rerun()


@st.cache_resource(show_spinner=False)
def _engine(url: str):
    engine = make_engine(url)
    ensure_schema(engine)
    return engine


def db_url() -> str:
    return database_url()


def engine():
    return _engine(db_url())


@st.cache_data(ttl=TTL, show_spinner=False)
def round_labels(url: str) -> list[str]:
    """Round labels, oldest first."""
    return [r.label for r in api.rounds(_engine(url))]


@st.cache_data(ttl=TTL, show_spinner=False)
def league(url: str, round_label: str | None, level: str) -> api.League:
    return api.league(_engine(url), round_label, level)


@st.cache_data(ttl=TTL, show_spinner=False)
def rag_trend(url: str) -> pd.DataFrame:
    return api.rag_trend(_engine(url))


@st.cache_data(ttl=TTL, show_spinner=False)
def scored_round(url: str, round_label: str | None) -> api.ScoredRound:
    return api.scored_round(_engine(url), round_label)


@st.cache_data(ttl=TTL, show_spinner=False)
def organisation(url: str) -> pd.DataFrame:
    return api.organisation(_engine(url))


@st.cache_data(ttl=TTL, show_spinner=False)
def directorate_tables(url: str) -> dict[str, pd.DataFrame]:
    """Each round's directorate-level league, oldest first."""
    return {label: league(url, label, "directorate").table for label in round_labels(url)}


@st.cache_data(ttl=TTL, show_spinner=False)
def team_detail(url: str, team_id: int, round_label: str | None) -> insights.TeamDetail:
    return insights.team_detail(_engine(url), team_id, round_label)


def refresh() -> None:
    """Forget every cached figure, so the pages show what was just saved."""
    st.cache_data.clear()


def current_user() -> str:
    """The signed-in person's email; ``local-admin`` until sign-in is set up."""
    try:
        if st.user.get("is_logged_in") and st.user.get("email"):
            return str(st.user.get("email"))
    except Exception:  # no sign-in configured: st.user may not be readable
        pass
    return st.session_state.get("email") or LOCAL_USER


def has_page(key: str) -> bool:
    return key in st.session_state.get("kim_pages", {})


def page_path(key: str) -> str:
    return st.session_state["kim_pages"][key]


def link(key: str, label: str, *, icon: str | None = None, query_params: dict | None = None) -> None:
    """A link to one of the role's pages; nothing when the role does not have that page."""
    if has_page(key):
        st.page_link(page_path(key), label=label, icon=icon, query_params=query_params)


def no_rounds_notice() -> None:
    """What an empty database shows instead of an error: how to load data."""
    st.info(
        "There are no rounds yet, so there is nothing to rank.\n\n"
        "- **To try the dashboard** with a made-up department, run `kim demo` "
        "(or `make run`, which loads it on first run) and reload this page.\n"
        "- **To load your department:** the KIM team loads the organisation workbook and "
        "opens a round on the admin page; information managers then download the template "
        "and upload their returns on the upload page.",
        icon=":material/info:")
    link("upload", "Upload a return", icon=":material/upload_file:")
    link("admin", "Load the organisation and open a round", icon=":material/settings:")


def round_picker(labels: list[str], *, key: str, container=st, label: str = "Round") -> str:
    """A round selector, newest first, the latest chosen by default."""
    return container.selectbox(label, list(reversed(labels)), index=0, key=key,
                               help="The latest round is shown first.")


_MARKDOWN_SPECIALS = set("\\`*_{}[]()#+-.!|<>~$")


def md_escape(text: object) -> str:
    """Text typed by people made inert inside markdown (st.info, st.warning, captions)."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in str(text))


# RAG cells: colour *and* word --------------------------------------------------------------

def rag_css(value: object) -> str:
    style = rag_style(value)
    if style is None:
        return ""
    return f"background-color: {style.background}; color: {style.text}; font-weight: 600"


def styled(frame: pd.DataFrame, rag_columns: Iterable[str], *, decimals: dict[str, int] | None = None):
    """A Styler whose status cells are filled with the status colour; the word stays in the cell."""
    cols = [c for c in dict.fromkeys(rag_columns) if c in frame.columns]
    styler = frame.style.map(rag_css, subset=cols) if cols else frame.style
    for col, places in (decimals or {}).items():
        if col in frame.columns:
            styler = styler.format(precision=places, subset=[col], na_rep="–")
    blanks = [c for c in frame.columns if c not in (decimals or {}) and frame[c].isna().any()]
    if blanks:
        # An empty cell reads as a dash in st.table (st.dataframe draws its own empty marker).
        styler = styler.format(na_rep="–", subset=blanks)
    return styler


def status_word(status: str) -> str:
    """A status with its shape, for text outside a table: '◑ Amber'."""
    style = rag_style(status)
    return f"{style.symbol} {status}" if style and status != NO_RETURN else status


def rag_badge(status: str) -> None:
    """A status as coloured text with its word (st.badge colours are named, so map them)."""
    colour = {"Red": "red", "Amber/Red": "orange", "Amber": "orange", "Amber/Green": "green",
              "Green": "green"}.get(status, "gray")
    st.badge(status_word(status), color=colour)


def score_text(score: float | None) -> str:
    return "no return" if score is None or pd.isna(score) else f"{score:.1f}"


