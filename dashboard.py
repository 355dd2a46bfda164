"""KIM League dashboard: the entry point `streamlit run dashboard.py` serves.

It signs people in (when ``.streamlit/secrets.toml`` has an ``[auth]`` section), builds the
navigation from the pages in ``pages/`` that the person's role may open, and lands them on
their page. Who sees which pages is the table ``ROLES`` in ``pages/_shared.py``. Without
``[auth]`` it runs in local mode: one trusted local user with the KIM team's role.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
ICON = ROOT / "assets" / "kim-league.png"
if str(ROOT) not in sys.path:  # the pages import their shared helpers as pages._shared
    sys.path.insert(0, str(ROOT))

from pages._shared import (PAGES, ROLES, auth_enabled, current_actor, current_role,  # noqa: E402
                           deep_link_page)


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


def sign_in_page() -> None:
    st.title("KIM League")
    st.write("The department's knowledge and information management league table. "
             "Sign in with your work account to see it.")
    if st.button("Sign in", type="primary", icon=":material/login:"):
        st.login()


def main() -> None:
    # The tab icon is the app's own file: a Material or emoji icon would be fetched from an
    # outside host on every page load, which government networks often block.
    st.set_page_config(page_title="KIM League", page_icon=str(ICON), layout="wide")
    actor = current_actor()
    if actor is None:
        # Nobody signed in: a sign-in page and nothing else, not even the menu.
        st.session_state.pop("kim_pages", None)
        st.navigation([st.Page(sign_in_page, title="Sign in", url_path="sign-in")],
                      position="hidden").run()
        return
    role, warning = current_role(actor)
    page = build_navigation(role)
    target = deep_link_page(page.url_path, role, st.query_params.to_dict())
    if target:
        # "/?team=120" opens the team page with its selection, not the league.
        st.switch_page(PAGES[target].path, query_params=st.query_params.to_dict())
    with st.sidebar:
        if auth_enabled():
            st.caption(f"Signed in as {actor.email} · {ROLES[role].label}")
            if st.button("Sign out", icon=":material/logout:"):
                st.logout()
        else:
            st.caption(f"Viewing as: {ROLES[role].label}")
    if not auth_enabled():
        st.info("Local mode: sign-in is not set up, so whoever opens this dashboard acts as the "
                "KIM team. To require sign-in, add an [auth] section to .streamlit/secrets.toml "
                "(see the README).", icon=":material/lock_open:")
    if warning:
        st.warning(warning)
    page.run()


if __name__ == "__main__":  # Streamlit runs the script as __main__; tests import the tables
    main()
