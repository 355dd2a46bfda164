"""Who may see and change what.

Roles come from the email address, never from identity-provider group claims (large group
claims overflow Streamlit's cookie): a directorate's director email and a team's information
manager emails come from the organisation workbook; admins (the KIM team) and executives
(Permanent Secretary, board) are granted by name. Anyone else signed in is a viewer.

Checks live here, in the core, so a page that forgets to hide a button still cannot write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kim_metrics.domain.errors import PermissionDenied

ADMIN, EXECUTIVE, DIRECTOR, INFORMATION_MANAGER, VIEWER = (
    "admin", "executive", "director", "information_manager", "viewer")
# Highest first: a person with several roles lands on the page of the first.
ROLES = (ADMIN, EXECUTIVE, DIRECTOR, INFORMATION_MANAGER, VIEWER)
GRANTABLE = (ADMIN, EXECUTIVE)
LOCAL_ADMIN_EMAIL = "local-admin"


@dataclass(frozen=True)
class Actor:
    """A person acting: their email, roles and the directorates and teams in their scope."""

    email: str
    roles: frozenset[str] = field(default_factory=lambda: frozenset({VIEWER}))
    directorates: frozenset[str] = frozenset()   # directorates they direct
    teams: frozenset[int] = frozenset()          # teams they submit for

    @property
    def role(self) -> str:
        return next(r for r in ROLES if r in self.roles)

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def sees_everything(self) -> bool:
        return bool(self.roles & {ADMIN, EXECUTIVE})

    def may_view_directorate(self, directorate: str) -> bool:
        return self.sees_everything or directorate in self.directorates


def local_admin() -> Actor:
    """The one trusted user of a dashboard or command line without sign-in."""
    return Actor(email=LOCAL_ADMIN_EMAIL, roles=frozenset({ADMIN}))


def require(actor: Actor, allowed: Iterable[str], doing: str) -> None:
    if not actor.roles & set(allowed):
        raise PermissionDenied(f"{actor.email} may not {doing}. Ask the KIM team if you need to.")


def require_submit(actor: Actor, teams: pd.DataFrame) -> None:
    """Refuse a whole return when any of its teams is outside the uploader's scope."""
    if actor.is_admin:
        return
    if not actor.roles & {INFORMATION_MANAGER}:
        raise PermissionDenied(f"{actor.email} may not submit returns: only a team's information "
                               "manager or the KIM team can. Ask the KIM team to add you as an "
                               "information manager in the organisation workbook.")
    outside = teams.loc[~teams["team_id"].isin(actor.teams), "team"].tolist()
    if outside:
        listed = ", ".join(outside[:10]) + (f" and {len(outside) - 10} more" if len(outside) > 10 else "")
        raise PermissionDenied(f"Nothing was saved: {actor.email} is not an information manager for "
                               f"{listed}. Remove those teams from the return, or ask the KIM team "
                               "to add you to them.")


# What a reader may see of data that carries evidence ---------------------------------------

# Columns that hold what people wrote or who they are; blanked outside the reader's scope.
EVIDENCE_FIELDS = ("evidence", "evidence_link", "comment", "review_note", "reviewer", "uploader")


def evidence_scope(actor: Actor, frame: pd.DataFrame) -> np.ndarray:
    """For each row (with ``team_id`` and ``directorate``), whether ``actor`` may read its evidence."""
    if actor.sees_everything:
        return np.ones(len(frame), dtype=bool)
    return (frame["directorate"].isin(actor.directorates).to_numpy(dtype=bool)
            | frame["team_id"].isin(actor.teams).to_numpy(dtype=bool))


def in_evidence_scope(actor: Actor, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` whose evidence ``actor`` may read; the rest are left out."""
    return frame[evidence_scope(actor, frame)]


def redact(actor: Actor, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every evidence field blanked in the rows outside ``actor``'s scope."""
    hidden = ~evidence_scope(actor, frame)
    if not hidden.any():
        return frame
    out = frame.copy()
    for column in EVIDENCE_FIELDS:
        if column in out:
            out[column] = out[column].astype(object)
            out.loc[hidden, column] = ""
    return out


def visible_org(actor: Actor, org: pd.DataFrame) -> pd.DataFrame:
    """The teams a person may look into: everyone's for the KIM team and the board, their
    directorates' for a director, their own teams' directorates for an information manager."""
    if actor.sees_everything:
        return org
    directorates = set(actor.directorates) | set(org.loc[org["team_id"].isin(actor.teams), "directorate"])
    return org[org["directorate"].isin(directorates)]

