"""Tracked actions: adopt a team's next step with an owner and a due date, move it along, list them.

Scoped like every write: the KIM team acts on every team, a director on their directorates'
teams, an information manager on their own teams; the board reads every action. Actions
close themselves when a later round's counted score reaches their target
(``close_reached``, called by the saves and reviews that move scores).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from kim_metrics.delivery.message import address_problem
from kim_metrics.domain.access import Actor
from kim_metrics.domain.criteria import CriteriaSet, Criterion
from kim_metrics.domain.errors import KimError, NotFoundError, PermissionDenied
from kim_metrics.domain.names import closest, norm_key
from kim_metrics.domain.scoring import CHALLENGED, score_rows
from kim_metrics.services.common import resolve_actor, resolve_round
from kim_metrics.storage import actions as store
from kim_metrics.storage import criteria as criteria_store
from kim_metrics.storage import organisation as org_store
from kim_metrics.storage import rounds as round_store
from kim_metrics.storage import scores as score_store
from kim_metrics.storage.engine import retry_when_busy, write_transaction
from kim_metrics.storage.rounds import RoundInfo

STATUSES = store.STATUSES
ACTIVE = store.ACTIVE
SETTABLE = (store.IN_PROGRESS, store.DONE, store.DROPPED, store.OPEN)
LIST_COLUMNS = ["action_id", "team", "directorate", "criterion", "target_label", "target_status",
                "owner", "due_on", "status", "overdue", "round", "note", "closed_reason"]


def may_act_on(actor: Actor, team_id: int, directorate: str) -> bool:
    """Adopting or changing a team's action: the KIM team, its director, its information manager."""
    return actor.is_admin or directorate in actor.directorates or team_id in actor.teams


def _readable(actor: Actor, frame: pd.DataFrame) -> pd.DataFrame:
    if actor.sees_everything:
        return frame
    mine = frame["directorate"].isin(actor.directorates) | frame["team_id"].isin(actor.teams)
    return frame[mine]


@dataclass(frozen=True)
class Adopted:
    action_id: int
    team: str
    directorate: str
    criterion: str
    round: str
    target: str
    target_status: str
    owner: str
    due_on: date


def _find_team(org: pd.DataFrame, team: str | int, directorate: str | None) -> pd.Series:
    if isinstance(team, int) or (isinstance(team, str) and team.strip().isdigit()
                                 and int(team) in set(org["team_id"])):
        found = org[org["team_id"] == int(team)]
    else:
        found = org[org["team"].map(norm_key) == norm_key(team)]
        if directorate:
            found = found[found["directorate"].map(norm_key) == norm_key(directorate)]
    if found.empty:
        hint = closest(str(team), org["team"].unique())
        raise NotFoundError(f"There is no team '{team}'" + (f" in '{directorate}'" if directorate else "")
                            + "." + (f" Did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""))
    if len(found) > 1:
        raise KimError(f"More than one directorate has a team called '{team}' "
                       f"({', '.join(found['directorate'])}); name the directorate too with --directorate.")
    return found.iloc[0]


def _find_criterion(criteria: CriteriaSet, name: str) -> Criterion:
    for c in criteria:
        if norm_key(name) in {norm_key(c.id), norm_key(c.name), norm_key(c.short)}:
            return c
    raise NotFoundError(f"There is no criterion '{name}'. Use one of: {', '.join(criteria.ids)}.")


def _target(c: Criterion, row: pd.Series, criteria: CriteriaSet) -> tuple[float, str]:
    """The value an action on this score aims at, as ``views.improvement_actions`` works it out:
    the level claimed when only evidence is missing, otherwise the next step up."""
    top = criteria.rag.levels[-1]
    if row["rag"] == top:
        raise KimError(f"{c.name} is already {top} for this team, so there is no action to adopt.")
    if bool(row["unevidenced"]) and row.get("review_status") != CHALLENGED:
        return float(row["claimed"]), c.label(float(row["claimed"]))
    step = c.next_step(float(row["counted"]), criteria.rag)
    if step is None:
        raise KimError(f"{c.name} has no next level to reach for this team.")
    return float(step[0]), c.label(float(step[0]))


def _round_returned(conn: Connection, team_id: int, round_label: str | None) -> RoundInfo:
    """The round named, or the latest in which the team has a return."""
    if round_label:
        return resolve_round(conn, round_label)
    rounds = round_store.list_rounds(conn)
    for rnd in reversed(rounds):
        if not score_store.round_scores(conn, rnd.id, full=False, team_ids=[team_id]).empty:
            return rnd
    raise NotFoundError("This team has no return in any round yet, so there is no score to act on. "
                        "Its first action is to send a return.")


@retry_when_busy
def adopt(engine: Engine, *, team: str | int, criterion: str, owner: str, due: date, note: str = "",
          actor: Actor | str, directorate: str | None = None, round_label: str | None = None,
          today: date | None = None) -> Adopted:
    """Commit to a team's next step on a criterion, with an owner, a due date and a note."""
    who = resolve_actor(engine, actor)
    owner = owner.strip().lower()
    problem = address_problem(owner)
    if problem:
        raise KimError(f"The owner must be an email address; '{owner}' is not one.")
    if due < (today or date.today()):
        raise KimError(f"The due date {due:%d %b %Y} has passed; give a date from today on.")
    with write_transaction(engine) as conn:
        org = org_store.org_frame(conn)
        t = _find_team(org, team, directorate)
        team_id, name, unit = int(t["team_id"]), str(t["team"]), str(t["directorate"])
        if not may_act_on(who, team_id, unit):
            raise PermissionDenied(f"{who.email} may not adopt actions for {name}: only its "
                                   "information managers, its director and the KIM team can.")
        rnd = _round_returned(conn, team_id, round_label)
        criteria = criteria_store.criteria_version(conn, rnd.criteria_version_id)
        c = _find_criterion(criteria, criterion)
        scores = score_store.round_scores(conn, rnd.id, full=True, team_ids=[team_id])
        scores = scores[scores["criterion"] == c.id]
        if scores.empty:
            raise KimError(f"{name} has no score for {c.name} in {rnd.label}; its action is to send a "
                           "return for it.")
        row = score_rows(scores, criteria).iloc[0]
        value, label = _target(c, row, criteria)
        status = str(criteria.rag.classify([value], c.rag)[0])
        action_id = store.add_action(conn, team_id=team_id, team=name, criterion=c.id, rnd=rnd,
                                     target_value=value, target_label=label, target_status=status,
                                     owner=owner, due_on=due, note=note.strip(), actor=who.email)
    return Adopted(action_id, name, unit, c.id, rnd.label, label, status, owner, due)


@retry_when_busy
def set_status(engine: Engine, action_id: int, status: str, *, note: str | None = None,
               actor: Actor | str) -> dict:
    """Move an action to in progress, done or dropped (or open again), adding to its note."""
    who = resolve_actor(engine, actor)
    if status not in STATUSES:
        raise KimError(f"'{status}' is not an action status. Use one of: {', '.join(SETTABLE)}.")
    with write_transaction(engine) as conn:
        current = store.get_action(conn, action_id)
        if not may_act_on(who, int(current["team_id"]), current["directorate"]):
            raise PermissionDenied(f"{who.email} may not change action {action_id} ({current['team']}): "
                                   "only the team's information managers, its director and the KIM "
                                   "team can.")
        return store.set_status(conn, action_id, status, note=note, actor=who.email)


def list_actions(engine: Engine, *, actor: Actor | str, round_label: str | None = None,
                 directorate: str | None = None, status: str | None = None,
                 team_ids: Iterable[int] | None = None, today: date | None = None) -> pd.DataFrame:
    """The actions ``actor`` may read, oldest first, with whether each is overdue.

    ``round_label`` keeps the actions carried into that round (adopted in it or before and not
    closed before it began); ``status`` may also be ``overdue``.
    """
    who = resolve_actor(engine, actor)
    if not (who.sees_everything or who.directorates or who.teams):
        raise PermissionDenied(f"{who.email} may not read teams' actions: they are for the teams' "
                               "information managers, their directors, the KIM team and the board.")
    if status is not None and status not in (*STATUSES, "overdue"):
        raise KimError(f"'{status}' is not an action status. Use one of: {', '.join(STATUSES)}, overdue.")
    with engine.connect() as conn:
        frame = store.actions_frame(conn, team_ids=team_ids)
        rnd = resolve_round(conn, round_label) if round_label else None
    frame = _readable(who, frame)
    frame = frame.assign(overdue=store.overdue(frame, today or date.today()) if len(frame) else False)
    if rnd is not None and len(frame):
        frame = frame[store.carried_into(frame, rnd)]
    if directorate:
        frame = frame[frame["directorate"].map(norm_key) == norm_key(directorate)]
    if status == "overdue":
        frame = frame[frame["overdue"].astype(bool)]
    elif status:
        frame = frame[frame["status"] == status]
    return frame.reset_index(drop=True)


def close_reached(conn: Connection, rnd: RoundInfo, team_ids: Iterable[int], *, because: str) -> list[int]:
    """Close the actions whose target ``rnd``'s counted scores now reach (inside the caller's
    transaction, after the stored results are refreshed)."""
    return store.close_reached(conn, rnd, team_ids, because=because)


def overdue_by_directorate(frame: pd.DataFrame) -> pd.DataFrame:
    """How many overdue actions each directorate has, most first."""
    late = frame[frame["overdue"].astype(bool)] if len(frame) else frame
    counts = late.groupby("directorate").size().rename("overdue").reset_index() if len(late) else \
        pd.DataFrame(columns=["directorate", "overdue"])
    return counts.sort_values(["overdue", "directorate"], ascending=[False, True]).reset_index(drop=True)
