"""The app's edge, shared by every page: the engine, cached figures, links and RAG styling.

Cached functions take the database URL as their first argument so two databases (tests,
or a URL changed between runs) never share an answer, and the database's data version, read
on every page run, so a save anywhere (another replica, the command line) shows at the next
run without waiting for anything to expire.
"""

from __future__ import annotations

import html
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import streamlit as st

from kim_metrics.services import admin as admin_service
from kim_metrics.services import audit as audit_service
from kim_metrics.services import common
from kim_metrics.services import league as league_service
from kim_metrics.services import scores as score_service
from kim_metrics.services import views as insights
from kim_metrics.domain import identity
from kim_metrics.domain.access import (ADMIN, DIRECTOR, EXECUTIVE, INFORMATION_MANAGER, VIEWER, Actor,
                                local_admin)
from kim_metrics.domain.criteria import NO_RETURN
from kim_metrics.domain.errors import KimError
from kim_metrics.storage.engine import database_url, make_engine
from kim_metrics.domain.statuses import StatusSet, rag_style
from kim_metrics.storage.schema import ensure_schema
from kim_metrics.settings import load_settings

# Streamlit runs every page run in a thread of its own, and Arrow's default allocator
# (mimalloc) keeps memory per thread after the thread is done with it: the server grew by
# tens of MB over a few visits. The C library's allocator hands it back.
pa.set_memory_pool(pa.system_memory_pool())

# Cached figures kept per function: a few rounds × levels × people, old versions fall out.
_SETTINGS = load_settings()
CACHE_ENTRIES = _SETTINGS.cache_entries
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


def data_version(url: str) -> int:
    """The database's change counter, read on every page run (one indexed row).

    Every cached figure below is keyed on it, so a save through any replica or the command
    line shows at the next page run everywhere, and nothing expires on a timer.
    """
    return common.data_version(_engine(url))


# Each public function reads the version and calls its cached twin keyed on it.
_CACHE = {"show_spinner": False, "max_entries": CACHE_ENTRIES, "ttl": _SETTINGS.cache_ttl_s}


@st.cache_data(**_CACHE)
def _round_labels(url: str, version: int) -> list[str]:
    return [r.label for r in league_service.rounds(_engine(url))]


def round_labels(url: str) -> list[str]:
    """Round labels, oldest first."""
    return _round_labels(url, data_version(url))


@st.cache_data(**_CACHE)
def _league(url: str, version: int, round_label: str | None, level: str) -> league_service.League:
    return league_service.league(_engine(url), round_label, level)


def league(url: str, round_label: str | None, level: str) -> league_service.League:
    return _league(url, data_version(url), round_label, level)


@st.cache_data(**_CACHE)
def _trend(url: str, version: int) -> pd.DataFrame:
    return league_service.trend(_engine(url))


def rag_trend(url: str) -> pd.DataFrame:
    return _trend(url, data_version(url))


@st.cache_data(**_CACHE)
def _scored_round(url: str, version: int, round_label: str | None, actor: Actor,
                  directorates: tuple[str, ...] | None) -> score_service.ScoredRound:
    return score_service.scored_round(_engine(url), round_label, actor=actor, directorates=directorates)


def scored_round(url: str, round_label: str | None, actor: Actor,
                 directorates: tuple[str, ...] | None = None) -> score_service.ScoredRound:
    """A round's scores with the evidence ``actor`` may read (of ``directorates`` only, if given)."""
    return _scored_round(url, data_version(url), round_label, actor, directorates)


@st.cache_data(**_CACHE)
def _review_counts(url: str, version: int, round_label: str | None) -> dict[str, int]:
    return league_service.review_mix(_engine(url), round_label)


def review_counts(url: str, round_label: str | None) -> dict[str, int]:
    """How many of a round's scores are verified, challenged and self-declared."""
    return _review_counts(url, data_version(url), round_label)


@st.cache_data(**_CACHE)
def _league_places(url: str, version: int, round_label: str | None) -> pd.DataFrame:
    teams = league(url, round_label, "team").table
    return teams[["group", "directorate"]].dropna(how="all").drop_duplicates().reset_index(drop=True)


def league_places(url: str, round_label: str | None) -> pd.DataFrame:
    """Each group and directorate in a round's team league, once: the league's filter choices."""
    return _league_places(url, data_version(url), round_label)


@st.cache_data(**_CACHE)
def _organisation(url: str, version: int) -> pd.DataFrame:
    return admin_service.organisation(_engine(url))


def organisation(url: str) -> pd.DataFrame:
    return _organisation(url, data_version(url))


@st.cache_data(**_CACHE)
def _directorate_tables(url: str, version: int) -> dict[str, pd.DataFrame]:
    return {label: league(url, label, "directorate").table for label in round_labels(url)}


def directorate_tables(url: str) -> dict[str, pd.DataFrame]:
    """Each round's directorate-level league, oldest first."""
    return _directorate_tables(url, data_version(url))


@st.cache_data(**_CACHE)
def _team_detail(url: str, version: int, team_id: int, round_label: str | None,
                 actor: Actor) -> insights.TeamDetail:
    return insights.team_detail(_engine(url), team_id, round_label, actor=actor)


def team_detail(url: str, team_id: int, round_label: str | None, actor: Actor) -> insights.TeamDetail:
    return _team_detail(url, data_version(url), team_id, round_label, actor)


@st.cache_data(**_CACHE)
def _audit_trail(url: str, version: int, reader: Actor, round_label: str | None, actor: str | None,
                 action: str | None, since, until) -> pd.DataFrame:
    return audit_service.audit_trail(_engine(url), reader=reader, round_label=round_label,
                                     actor=actor, action=action, since=since, until=until,
                                     newest_first=True)


def audit_trail(url: str, reader: Actor, round_label: str | None, actor: str | None,
                action: str | None, since=None, until=None) -> pd.DataFrame:
    """Audit records matching the filters, newest first."""
    return _audit_trail(url, data_version(url), reader, round_label, actor, action, since, until)


@st.cache_data(**_CACHE)
def _audit_people(url: str, version: int, reader: Actor) -> list[str]:
    return audit_service.audit_people(_engine(url), reader=reader)


def audit_people(url: str, reader: Actor) -> list[str]:
    return _audit_people(url, data_version(url), reader)


@st.cache_data(**_CACHE)
def _audit_actions(url: str, version: int, reader: Actor) -> list[str]:
    return audit_service.audit_actions(_engine(url), reader=reader)


def audit_actions(url: str, reader: Actor) -> list[str]:
    return _audit_actions(url, data_version(url), reader)


# Who is here and what they may open -----------------------------------------------------

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
    "audit": PageSpec("pages/audit.py", "Audit trail", ":material/history:", "audit"),
    "queue": PageSpec("pages/queue.py", "Verification queue", ":material/playlist_add_check:", "queue"),
    "ima": PageSpec("pages/ima.py", "Information Management Assessment", ":material/fact_check:", "ima"),
}

ROLES: dict[str, RoleSpec] = {
    ADMIN: RoleSpec("KIM team", "league", ("league", "directorate", "team", "upload", "ima", "queue", "admin",
                                           "audit")),
    EXECUTIVE: RoleSpec("Permanent Secretary / Board", "league", ("league", "directorate", "team", "ima")),
    DIRECTOR: RoleSpec("Director", "directorate", ("directorate", "league", "team", "ima")),
    INFORMATION_MANAGER: RoleSpec("Information manager", "upload", ("upload", "league", "directorate", "team")),
    VIEWER: RoleSpec("Member of staff", "league", ("league",)),
}


def auth_enabled() -> bool:
    """Sign-in is on when .streamlit/secrets.toml has an [auth] section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: local mode
        return False


@st.cache_data(**_CACHE)
def _resolve(url: str, version: int, email: str) -> Actor:
    return common.resolve_actor(_engine(url), email)


def current_actor() -> Actor | None:
    """The person acting, with their scope; None when sign-in is on and nobody is signed in."""
    if not auth_enabled():
        # Local mode makes every visitor the KIM team, so it answers this computer only.
        # `kim serve` binds to the loopback address; this catches a server started another way.
        if _from_elsewhere(st.context.ip_address):
            st.error("This dashboard runs in local mode (no sign-in), which serves only the "
                     "computer it runs on. To serve others, set up sign-in as the README says.")
            st.stop()
        return local_admin()
    if not st.user.get("is_logged_in"):
        return None
    try:
        email = identity.claimed_email(st.user.to_dict())
    except identity.IdentityRefused as exc:
        # A claim that cannot name one person gets nothing, not even the viewer's league.
        st.error(f"{exc}")
        if st.button("Sign out", icon=":material/logout:"):
            st.logout()
        st.stop()
    return _resolve(db_url(), data_version(db_url()), email)


def _from_elsewhere(address: object) -> bool:
    """Whether a visitor's address is another computer's (Streamlit gives None for loopback;
    its test harness gives no address at all)."""
    if not isinstance(address, str) or not address:
        return False
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:
        return True


def current_role(actor: Actor | None = None) -> tuple[str, str | None]:
    """The role whose pages to show, and a warning when a role asked for is not known.

    Signed in, the role comes from the email alone. In local mode the one local user is the
    KIM team, who may preview another role's view with KIM_ROLE or the session's "role".
    """
    actor = actor or current_actor()
    if auth_enabled():
        return (actor.role if actor else VIEWER), None
    asked = st.session_state.get("role") or load_settings().role or ADMIN
    if asked in ROLES:
        return asked, None
    return EXECUTIVE, (f"'{asked}' is not a role this dashboard knows "
                       f"({', '.join(ROLES)}); showing the league table only.")


def require_page(key: str) -> Actor:
    """Stop the page with a refusal unless the person's role includes it.

    The navigation already leaves such pages out, but a page can still be opened by its
    address, so each page asks again before it shows anything.
    """
    actor = current_actor()
    if actor is None:
        st.error("Sign in to use KIM League.")
        st.stop()
    role, _ = current_role(actor)
    if key not in ROLES[role].pages:
        st.error(f"You do not have access to {PAGES[key].title}. Your role is "
                 f"{ROLES[role].label}. Ask the KIM team if you need it.")
        st.stop()
    return actor


def has_page(key: str) -> bool:
    return key in st.session_state.get("kim_pages", {})


def page_path(key: str) -> str:
    return st.session_state["kim_pages"][key]


def link(key: str, label: str, *, icon: str | None = None, query_params: dict | None = None) -> None:
    """A link to one of the role's pages; nothing when the role does not have that page."""
    if has_page(key):
        st.page_link(page_path(key), label=label, icon=icon, query_params=query_params)


def criterion_help(c) -> str:
    """A grid header's help for a criterion shown by its short label: the full name first."""
    return f"**{c.name}**. {c.description}".strip() if c.description else f"**{c.name}**"


def progress_to(bar):
    """A services ``Progress`` callback that moves ``bar`` (an ``st.progress``)."""
    return lambda fraction, message: bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)


def built_download(key: str, build_label: str, build, *, label: str, file_name: str, mime: str,
                   icon: str, help: str | None = None, container=st) -> None:
    """A document that takes a while: a button builds it with a progress bar, then it is
    offered for download. ``build(progress)`` returns the bytes; ``key`` names what is built
    (round and format included), so another round's document is built afresh."""
    store = st.session_state.setdefault("kim_built", {})
    if key not in store:
        if container.button(build_label, key=f"build_{key}", icon=icon, help=help,
                            width="stretch"):
            bar = container.progress(0.0, text="Starting")
            try:
                store[key] = build(progress_to(bar))
            except KimError as exc:
                container.error(md_escape(str(exc)), icon=":material/error:")
                return
            bar.empty()
        else:
            return
    container.download_button(label, data=store[key], file_name=file_name, mime=mime,
                              icon=":material/download:", on_click="ignore", key=f"get_{key}",
                              width="stretch")


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


def round_picker(labels: list[str], *, key: str, container=st, label: str = "Round",
                 linked: bool = False) -> str:
    """A round selector, newest first, the latest chosen by default.

    ``linked``: the page's address carries the round (``?round=2026-Q3``): arriving by such
    an address chooses it once, and the address follows the round shown, so it can be shared.
    """
    options = list(reversed(labels))
    if linked:
        from_address(ROUND_PARAM, key, options)
    if st.session_state.get(key) not in (None, *options):
        st.session_state.pop(key)
    chosen = container.selectbox(label, options, index=0, key=key,
                                 help="The latest round is shown first.")
    if linked:
        to_address(ROUND_PARAM, key, chosen)
    return chosen


def from_address(param: str, key: str, options, convert=str) -> bool:
    """Choose ``options``' value named by the address (``?param=value``) for the widget
    ``key`` when the address was changed from outside: a link opened, another page sending
    the person here. An address this page wrote itself (``to_address``) changes nothing, so
    the person's own picks stand. True when the address chose."""
    asked = st.query_params.get(param)
    if asked is None or st.session_state.get(f"{key}_address") == asked:
        return False
    try:
        value = convert(asked)
    except ValueError:
        return False
    if value not in options:
        return False
    st.session_state[key] = value
    st.session_state[f"{key}_address"] = asked
    return True


def to_address(param: str, key: str, value) -> None:
    """Make the address follow what the page shows."""
    st.query_params[param] = str(value)
    st.session_state[f"{key}_address"] = str(value)


ROUND_PARAM = "round"
# Which page an address's parameters belong to: "/?team=120" is the team page's address.
DEEP_LINKS = (("team", "team"), ("directorate", "directorate"))


def deep_link_page(url_path: str, role: str, params: dict) -> str | None:
    """The page an address asks for when it landed on the role's default page ("" path) with
    another page's parameters (an address shared from before pages had their own paths, or
    cut down to its query), or None to show the page landed on."""
    if url_path:
        return None
    for param, key in DEEP_LINKS:
        if param in params and key in ROLES[role].pages and key != ROLES[role].default:
            return key
    return None


_MARKDOWN_SPECIALS = set("\\`*_{}[]()#+-.!|<>~$")


def md_escape(text: object) -> str:
    """Text typed by people made inert inside markdown (st.info, st.warning, captions)."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in str(text))


def plot_text(text: object) -> str:
    """Text from data made inert in a plotly label or hover: plotly draws <a href>, <b> and
    friends in its text, and reads %{...} in a hover template, so both are escaped."""
    return html.escape(str(text), quote=False).replace("%{", "%&#123;")


# RAG cells: colour *and* word --------------------------------------------------------------

def rag_css(value: object, statuses: StatusSet | None = None) -> str:
    style = rag_style(value, statuses)
    if style is None:
        return ""
    return f"background-color: {style.background}; color: {style.text}; font-weight: 600"


def styled(frame: pd.DataFrame, rag_columns: Iterable[str], *, decimals: dict[str, int] | None = None,
           statuses: StatusSet | None = None):
    """A Styler whose status cells are filled with the status colour; the word stays in the cell.

    ``statuses`` is the round's status set, so a department's own status names are coloured.
    """
    cols = [c for c in dict.fromkeys(rag_columns) if c in frame.columns]
    styler = frame.style.map(rag_css, subset=cols, statuses=statuses) if cols else frame.style
    for col, places in (decimals or {}).items():
        if col in frame.columns:
            styler = styler.format(precision=places, subset=[col], na_rep="–")
    blanks = [c for c in frame.columns if c not in (decimals or {}) and frame[c].isna().any()]
    if blanks:
        # An empty cell reads as a dash in st.table (st.dataframe draws its own empty marker).
        styler = styler.format(na_rep="–", subset=blanks)
    return styler


def status_word(status: str, statuses: StatusSet | None = None) -> str:
    """A status with its shape, for text outside a table: '◑ Amber'."""
    style = rag_style(status, statuses)
    return f"{style.symbol} {status}" if style and status != NO_RETURN else status


def score_text(score: float | None) -> str:
    return "no return" if score is None or pd.isna(score) else f"{score:.1f}"


