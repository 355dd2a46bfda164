"""KIM League dashboard: the entry point `streamlit run dashboard.py` serves.

It builds the navigation from the pages in ``pages/`` and lands each person on their page.
Who sees which pages is the small table ``ROLES`` below; the sign-in issue will choose the
role from the signed-in email. Until then a local user is the KIM team ("admin") and has
every page. Tests choose the role with ``st.session_state["role"]`` or ``KIM_ROLE``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # the pages import their shared helpers as pages._shared
    sys.path.insert(0, str(ROOT))

ROLE_ENV = "KIM_ROLE"
LOCAL_ROLE = "admin"


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    url_path: str


@dataclass(frozen=True)
class RoleSpec:
    label: str
    default: str              # the page this role lands on
    pages: tuple[str, ...]    # the pages it may open, in menu order


PAGES: dict[str, PageSpec] = {
    "league": PageSpec("pages/league_table.py", "League table", ":material/leaderboard:", "league"),
    "directorate": PageSpec("pages/directorate.py", "My directorate", ":material/account_tree:", "directorate"),
    "team": PageSpec("pages/team.py", "Team detail", ":material/groups:", "team"),
    "upload": PageSpec("pages/upload.py", "Upload a return", ":material/upload_file:", "upload"),
    "admin": PageSpec("pages/admin.py", "Run the scheme", ":material/settings:", "admin"),
}

ROLES: dict[str, RoleSpec] = {
    "executive": RoleSpec("Permanent Secretary / Board", "league", ("league", "directorate", "team")),
    "director": RoleSpec("Director", "directorate", ("directorate", "league", "team")),
    "information_manager": RoleSpec("Information manager", "upload", ("upload", "league", "directorate", "team")),
    "admin": RoleSpec("KIM team", "league", ("league", "directorate", "team", "upload", "admin")),
}


def current_role() -> tuple[str, str | None]:
    """The role to show, and a message when the one asked for is not known."""
    asked = st.session_state.get("role") or os.environ.get(ROLE_ENV) or LOCAL_ROLE
    if asked in ROLES:
        return asked, None
    return "executive", (f"'{asked}' is not a role this dashboard knows "
                         f"({', '.join(ROLES)}); showing the league table only.")


def build_navigation(role: str):
    spec = ROLES[role]
    pages = [st.Page(PAGES[key].path, title=PAGES[key].title, icon=PAGES[key].icon,
                     url_path=PAGES[key].url_path, default=key == spec.default)
             for key in spec.pages]
    # The pages link to one another by file; they may only link to pages this role has.
    st.session_state["kim_pages"] = {key: PAGES[key].path for key in spec.pages}
    st.session_state["kim_role"] = role
    # One flat menu: Streamlit's sectioned menu nests headings inside its <ul>, which screen
    # readers (and axe) report as a broken list.
    return st.navigation(pages)


def main() -> None:
    st.set_page_config(page_title="KIM League", page_icon=":material/leaderboard:", layout="wide")
    role, warning = current_role()
    page = build_navigation(role)
    with st.sidebar:
        st.caption(f"Viewing as: {ROLES[role].label}")
    if warning:
        st.warning(warning)
    page.run()


if __name__ == "__main__":  # Streamlit runs the script as __main__; tests import the tables
    main()
