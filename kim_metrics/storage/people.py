"""People: the roles an email has, from grants and from the organisation."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from kim_metrics.domain.access import (DIRECTOR, GRANTABLE, INFORMATION_MANAGER, LOCAL_ADMIN_EMAIL, VIEWER,
                                       Actor, local_admin)
from kim_metrics.domain.errors import KimError
from kim_metrics.domain.identity import normalise_address
from kim_metrics.storage.models import Directorate, RoleGrant, Team


def resolve(conn: Connection, email: str) -> Actor:
    """Everything a signed-in email may do, from the grants and the organisation.

    Only the exact local identity is the local admin: a sign-in never reaches here with it
    (``identity.claimed_email`` refuses it), and a look-alike spelling is just a viewer.
    """
    if email == LOCAL_ADMIN_EMAIL:
        return local_admin()
    email = email.strip().lower()
    roles = set(conn.scalars(select(RoleGrant.role).where(func.lower(RoleGrant.email) == email)))
    directorates = set(conn.scalars(select(Directorate.name)
                                    .where(func.lower(Directorate.director_email) == email)))
    # Information managers are kept as a '; '-joined list per team; match whole addresses only.
    candidates = conn.execute(select(Team.id, Team.information_managers)
                              .where(Team.active.is_(True),
                                     func.lower(Team.information_managers).contains(email))).all()
    teams = {t.id for t in candidates
             if email in {e.strip().lower() for e in t.information_managers.split(";")}}
    if directorates:
        roles.add(DIRECTOR)
    if teams:
        roles.add(INFORMATION_MANAGER)
    roles.add(VIEWER)
    return Actor(email=email, roles=frozenset(roles), directorates=frozenset(directorates),
                 teams=frozenset(teams))


def grants(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(select(RoleGrant.email, RoleGrant.role).order_by(RoleGrant.role, RoleGrant.email))
    return pd.DataFrame(rows.all(), columns=["email", "role"])


def grant(conn: Connection, email: str, role: str) -> bool:
    """Grant admin or executive; False when it was already granted."""
    if role not in GRANTABLE:
        raise KimError(f"'{role}' cannot be granted by name. Grant one of: {', '.join(GRANTABLE)}; "
                       "directors and information managers come from the organisation workbook.")
    email = normalise_address(email)
    exists = conn.scalar(select(func.count()).select_from(RoleGrant)
                         .where(RoleGrant.email == email, RoleGrant.role == role))
    if exists:
        return False
    conn.execute(insert(RoleGrant).values(email=email, role=role))
    return True


def revoke(conn: Connection, email: str, role: str) -> bool:
    result = conn.execute(delete(RoleGrant).where(RoleGrant.email == email.strip().lower(),
                                                  RoleGrant.role == role))
    return result.rowcount > 0
