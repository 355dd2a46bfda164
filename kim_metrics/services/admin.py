"""Running the scheme (the KIM team): organisation, criteria, rounds, roles and rebuilding results."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain import access
from kim_metrics.domain.access import ADMIN, Actor
from kim_metrics.domain.criteria import CriteriaSet, parse_criteria
from kim_metrics.reading.organisation import parse_org
from kim_metrics.reading.reader import read_workbook
from kim_metrics.services.common import resolve_actor
from kim_metrics.storage import audit, people, results
from kim_metrics.storage import criteria as criteria_store
from kim_metrics.storage import organisation as org_store
from kim_metrics.storage import rounds as round_store
from kim_metrics.storage.audit import SYSTEM_ACTOR
from kim_metrics.storage.engine import retry_when_busy, write_transaction
from kim_metrics.storage.rounds import RoundInfo


def load_org(engine: Engine, data: bytes, file_name: str, *, actor: Actor | str) -> dict[str, int]:
    """Load an organisation workbook: it becomes the source of truth for which teams exist."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "load the organisation structure")
    teams = parse_org(read_workbook(data, file_name=file_name))
    return save_organisation(engine, teams, actor=who.email)


@retry_when_busy
def save_organisation(engine: Engine, teams: pd.DataFrame, *, actor: str = SYSTEM_ACTOR) -> dict[str, int]:
    """Store a checked organisation (``reading.organisation.parse_org``'s frame) and recompute
    every round's results, since teams may have joined, left or moved."""
    with write_transaction(engine) as conn:
        counts = org_store.save_org(conn, teams, actor=actor)
        results.rebuild(conn)
        return counts


def organisation(engine: Engine) -> pd.DataFrame:
    """Every active team with its directorate, group, director and information managers."""
    with engine.connect() as conn:
        return org_store.org_frame(conn)


@retry_when_busy
def load_criteria(engine: Engine, text: str, *, actor: Actor | str,
                  file_name: str = "criteria.toml") -> CriteriaSet:
    """Criteria for rounds opened from now on; rounds already open keep theirs."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "change the criteria")
    criteria = parse_criteria(text, file_name=file_name)
    with write_transaction(engine) as conn:
        criteria_store.save_criteria(conn, text, who.email)
    return criteria


def current_criteria(engine: Engine) -> CriteriaSet:
    with engine.connect() as conn:
        return criteria_store.current_criteria(conn)[1]


def round_criteria(engine: Engine, round_label: str | None) -> CriteriaSet:
    """The criteria a round was opened with; the criteria in force for a round not yet open."""
    with engine.connect() as conn:
        rnd = round_store.find_round(conn, round_label) if round_label else None
        if rnd:
            return criteria_store.criteria_version(conn, rnd.criteria_version_id)
        return criteria_store.current_criteria(conn)[1]


@retry_when_busy
def open_round(engine: Engine, round_label: str, *, actor: Actor | str) -> tuple[RoundInfo, bool]:
    """Open a round with the criteria in force; (the round, whether it was opened now)."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "open a round")
    with write_transaction(engine) as conn:
        rnd, opened = round_store.open_round(conn, round_label, who.email)
        if opened:
            results.rebuild_round(conn, rnd)
        return rnd, opened


@retry_when_busy
def set_deadline(engine: Engine, round_label: str, deadline: date | None, *, actor: Actor | str) -> RoundInfo:
    """Give a round its deadline for returns; returns saved after it are marked late."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "set a round's deadline")
    with write_transaction(engine) as conn:
        return round_store.set_deadline(conn, round_label, deadline, who.email)


@retry_when_busy
def close_round(engine: Engine, round_label: str, *, actor: Actor | str) -> tuple[RoundInfo, bool]:
    """Close a round: it refuses returns until an admin reopens it."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "close a round")
    with write_transaction(engine) as conn:
        return round_store.close_round(conn, round_label, who.email)


@retry_when_busy
def reopen_round(engine: Engine, round_label: str, *, actor: Actor | str) -> tuple[RoundInfo, bool]:
    """Reopen a closed round so it takes returns again."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "reopen a round")
    with write_transaction(engine) as conn:
        return round_store.reopen_round(conn, round_label, who.email)


def find_round(engine: Engine, round_label: str) -> RoundInfo | None:
    """The round with its deadline and whether it is closed; None when it is not open yet."""
    with engine.connect() as conn:
        return round_store.find_round(conn, round_label)


CALENDAR_COLUMNS = ["label", "starts", "deadline", "closed", "teams_returned", "teams"]


def round_calendar(engine: Engine) -> pd.DataFrame:
    """Every round, oldest first: when it starts, its deadline, whether it is closed, and how
    many of its teams have returned."""
    rows = []
    with engine.connect() as conn:
        for rnd in round_store.list_rounds(conn):
            try:
                dept = results.read_level(conn, rnd.id, results.DEPARTMENT, ["teams", "returned_teams"])
                teams, returned = int(dept["teams"].iloc[0]), int(dept["returned_teams"].iloc[0])
            except LookupError:
                teams = returned = 0
            rows.append({"label": rnd.label, "starts": rnd.start_date, "deadline": rnd.deadline,
                         "closed": rnd.closed, "teams_returned": returned, "teams": teams})
    return pd.DataFrame(rows, columns=CALENDAR_COLUMNS)


@retry_when_busy
def delete_round(engine: Engine, round_label: str, *, actor: Actor | str) -> None:
    """Delete a round that has no returns (opened by mistake)."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "delete a round")
    with write_transaction(engine) as conn:
        round_store.delete_round(conn, round_label, who.email)


def grant_role(engine: Engine, email: str, role: str, *, actor: Actor | str) -> bool:
    """Name someone admin or executive; False when they already were."""
    return _change_role(engine, email, role, actor=actor, grant=True)


def revoke_role(engine: Engine, email: str, role: str, *, actor: Actor | str) -> bool:
    """Take a granted role away; False when they did not have it."""
    return _change_role(engine, email, role, actor=actor, grant=False)


@retry_when_busy
def _change_role(engine: Engine, email: str, role: str, *, actor: Actor | str, grant: bool) -> bool:
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "grant or revoke roles")
    with write_transaction(engine) as conn:
        changed = (people.grant if grant else people.revoke)(conn, email, role)
        if changed:
            audit.record(conn, actor=who.email, target=email.strip().lower(),
                         action=audit.ROLE_GRANTED if grant else audit.ROLE_REVOKED,
                         **({"after": {"role": role}} if grant else {"before": {"role": role}}))
        return changed


def role_grants(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return people.grants(conn)


ORGANISATION_WORKBOOK = "organisation workbook"
GRANTED = "granted by the KIM team"
PEOPLE_COLUMNS = ["email", "role", "source", "scope"]
ROLE_NAMES = {ADMIN: "KIM team (admin)", "executive": "Board (executive)", "director": "Director",
              "information_manager": "Information manager"}


def people_with_roles(engine: Engine, *, actor: Actor | str) -> pd.DataFrame:
    """Everyone who has a role, once per role: where it comes from (a grant, or the
    organisation workbook) and its scope (every team, the directorates they direct, the teams
    they return for). Rounds opened by someone with no grant now are listed too, so the
    KIM team sees who acted for it."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "list the people with roles")
    with engine.connect() as conn:
        grants = people.grants(conn)
        org = org_store.org_frame(conn)
        rounds = round_store.list_rounds(conn)
    rows = [{"email": g.email, "role": ROLE_NAMES.get(g.role, g.role), "source": GRANTED,
             "scope": "every team" + ("" if g.role == ADMIN else " (reads, changes nothing)")}
            for g in grants.itertuples(index=False)]
    directors = org.dropna(subset=["director"])
    directors = directors[directors["director"].str.strip() != ""]
    for email, part in directors.groupby(directors["director"].str.strip().str.lower()):
        rows.append({"email": email, "role": ROLE_NAMES["director"], "source": ORGANISATION_WORKBOOK,
                     "scope": "; ".join(sorted(part["directorate"].unique()))})
    ims = org.assign(im=org["information_managers"].fillna("").str.split(";")).explode("im")
    ims["im"] = ims["im"].str.strip().str.lower()
    ims = ims[ims["im"] != ""]
    for email, part in ims.groupby("im"):
        teams = sorted(f"{t} ({d})" for t, d in zip(part["team"], part["directorate"]))
        rows.append({"email": email, "role": ROLE_NAMES["information_manager"],
                     "source": ORGANISATION_WORKBOOK, "scope": "; ".join(teams)})
    granted = set(grants["email"])
    openers = sorted({r.opened_by.strip().lower() for r in rounds if r.opened_by}
                     - granted - {access.LOCAL_ADMIN_EMAIL, SYSTEM_ACTOR})
    rows += [{"email": e, "role": "none now", "source": "opened rounds; no grant",
              "scope": "grant admin to let them act for the KIM team"} for e in openers]
    return pd.DataFrame(rows, columns=PEOPLE_COLUMNS)


@retry_when_busy
def rebuild(engine: Engine, round_label: str | None = None, *, actor: Actor | str) -> list[str]:
    """Recompute stored results (one round, or every round); the labels rebuilt."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "rebuild the stored results")
    with write_transaction(engine) as conn:
        rounds = [round_store.get_round(conn, round_label)] if round_label else None
        return results.rebuild(conn, rounds)
