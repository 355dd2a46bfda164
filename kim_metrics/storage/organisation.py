"""The organisation: groups, directorates and teams, with directors and information managers."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from kim_metrics.domain.names import norm_key
from kim_metrics.storage import audit
from kim_metrics.storage.audit import SYSTEM_ACTOR
from kim_metrics.storage.models import Directorate, Team
from kim_metrics.storage.sql import chunks, frame_of


def org_frame(conn: Connection, *, include_inactive: bool = False) -> pd.DataFrame:
    """One row per team: team_id, team, directorate, group, director, information_managers."""
    stmt = (select(Team.id.label("team_id"), Team.name.label("team"),
                   Directorate.name.label("directorate"), Directorate.group_name.label("group"),
                   Directorate.director_email.label("director"),
                   Team.information_managers, Team.active)
            .join(Directorate, Team.directorate_id == Directorate.id)
            .order_by(Directorate.group_name, Directorate.name, Team.name))
    if not include_inactive:
        stmt = stmt.where(Team.active.is_(True))
    frame = frame_of(conn, stmt, ["team_id", "team", "directorate", "group", "director",
                                  "information_managers", "active"])
    frame["active"] = frame["active"].astype(bool)
    return frame


def information_managers(conn: Connection, team_ids: list[int]) -> pd.DataFrame:
    """team_id and information_managers of those of the named teams still active (a round's
    non-returns, say); a retired team is left out, as ``org_frame`` leaves it out."""
    columns = ["team_id", "information_managers"]
    stmt = select(Team.id, Team.information_managers).where(Team.active.is_(True))
    parts = [frame_of(conn, stmt.where(Team.id.in_(part)), columns)
             for part in chunks(sorted({int(t) for t in team_ids}), 900)]
    return (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame({"team_id": pd.Series(dtype="int64"),
                               "information_managers": pd.Series(dtype=object)}))


def save_org(conn: Connection, teams: pd.DataFrame, *, actor: str = SYSTEM_ACTOR) -> dict[str, int]:
    """Make the database's organisation match ``teams`` (from ``org.parse_org``).

    Teams missing from the new workbook are kept, inactive, so their history stays. Names
    match the stored ones by ``names.norm_key`` (the one rule for the same name on every
    backend), so a respelling renames a directorate or team rather than making a second.
    """
    before = _org_snapshot(conn)
    directorates = {norm_key(r.name): r for r in conn.execute(select(Directorate.__table__))}
    counts = {"teams_added": 0, "teams_updated": 0, "teams_retired": 0, "directorates": 0}
    by_dir = teams.groupby("directorate", sort=False)
    for name, rows in by_dir:
        first = rows.iloc[0]
        values = {"group_name": first["group"], "director_email": first["director"] or None}
        if norm_key(name) in directorates:
            d_id = directorates[norm_key(name)].id
            conn.execute(update(Directorate).where(Directorate.id == d_id).values(name=name, **values))
        else:
            d_id = conn.execute(insert(Directorate).values(name=name, **values)).inserted_primary_key[0]
        counts["directorates"] += 1
        existing = {norm_key(t.name): t
                    for t in conn.execute(select(Team.__table__).where(Team.directorate_id == d_id))}
        for r in rows.itertuples():
            ims = "; ".join(r.information_managers)
            if norm_key(r.team) in existing:
                conn.execute(update(Team).where(Team.id == existing[norm_key(r.team)].id)
                             .values(name=r.team, information_managers=ims, active=True))
                counts["teams_updated"] += 1
            else:
                conn.execute(insert(Team).values(name=r.team, directorate_id=d_id,
                                                 information_managers=ims, active=True))
                counts["teams_added"] += 1
    keep = {(norm_key(d), norm_key(t)) for d, t in zip(teams["directorate"], teams["team"])}
    current = conn.execute(select(Team.id, Team.name, Directorate.name.label("d"))
                           .join(Directorate).where(Team.active.is_(True))).all()
    retire = [t.id for t in current if (norm_key(t.d), norm_key(t.name)) not in keep]
    if retire:
        conn.execute(update(Team).where(Team.id.in_(retire)).values(active=False))
    counts["teams_retired"] = len(retire)
    audit.record(conn, actor=actor, action=audit.ORG_LOADED, target="organisation",
                 before=before, after=_org_snapshot(conn))
    return counts


def _org_snapshot(conn: Connection) -> dict[str, dict]:
    """Directorate → director and teams (with information managers), for the audit trail."""
    org = org_frame(conn)
    return {d: {"group": rows["group"].iloc[0], "director": rows["director"].iloc[0],
                "teams": dict(zip(rows["team"], rows["information_managers"]))}
            for d, rows in org.groupby("directorate")}


def add_discovered_teams(conn: Connection, new_teams: pd.DataFrame) -> dict[int, int]:
    """Create teams named by a return when no organisation is loaded; placeholder → real id."""
    ids: dict[int, int] = {}
    directorates = {norm_key(r.name): r.id for r in conn.execute(select(Directorate.__table__))}
    for r in new_teams.itertuples():
        if norm_key(r.directorate) not in directorates:
            directorates[norm_key(r.directorate)] = conn.execute(insert(Directorate).values(
                name=r.directorate, group_name=r.group)).inserted_primary_key[0]
        ids[r.team_id] = conn.execute(insert(Team).values(
            name=r.team, directorate_id=directorates[norm_key(r.directorate)], information_managers="",
            active=True)).inserted_primary_key[0]
    return ids


def round_teams(org: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Teams that belong in a round's league: every active team, and any team that returned."""
    returned = org["team_id"].isin(scores["team_id"].unique())
    return org[org["active"].astype(bool) | returned].reset_index(drop=True)
