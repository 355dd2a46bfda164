"""Chasing: who has not returned for a round, and the reminders the KIM team sends about it.

``missing_returns`` lists the teams without a return with their information managers and the
days to (or past) the round's deadline; the league page and the board pack show it.
``reminders`` builds the messages for ``kim remind``: information managers of teams without
a return (``due-soon`` in the days before the deadline, ``overdue`` after it) and owners of
overdue actions. Each message's reason names what makes it new (round, team and stage, or
action and due date), so running the reminders every day sends each of them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.delivery import Kind, Message, SendReport, Transport, send
from kim_metrics.domain.access import ADMIN, Actor, evidence_scope, require
from kim_metrics.services import actions as action_service
from kim_metrics.services.common import resolve_actor, resolve_round
from kim_metrics.storage import organisation as org_store
from kim_metrics.storage import results
from kim_metrics.storage.audit import SYSTEM_ACTOR
from kim_metrics.storage.rounds import RoundInfo

# How long before the deadline information managers of teams without a return are reminded.
DUE_SOON_DAYS = 7
DUE_SOON, OVERDUE = "due-soon", "overdue"
MISSING_COLUMNS = ["team_id", "team", "directorate", "information_managers", "deadline", "days"]


@dataclass(frozen=True)
class Missing:
    round: RoundInfo
    teams: pd.DataFrame      # MISSING_COLUMNS; days > 0 to the deadline, < 0 past it, NaN without one


def missing_returns(engine: Engine, round_label: str | None = None, *, today: date | None = None,
                    actor: Actor | None = None) -> Missing:
    """The round's active teams with no return, with their information managers and the days
    to the deadline (negative once it has passed), in directorate and team order.

    With ``actor`` named, information managers' emails are given only for the teams whose
    emails they may read (``access.evidence_scope``); the rest are blank.
    """
    today = today or date.today()
    with engine.connect() as conn:
        rnd = resolve_round(conn, round_label)
        teams = results.read_level(conn, rnd.id, results.TEAM, ["team_id", "team", "directorate", "returned"])
        missing = teams[~teams["returned"].astype(bool)]
        # Only the non-returns' people are read: on a department of thousands of teams,
        # most of a round's teams have returned by the time anyone looks.
        org = org_store.information_managers(conn, missing["team_id"].tolist())
    missing = missing.merge(org, on="team_id", how="inner")
    missing = missing.sort_values(["directorate", "team"], kind="stable").reset_index(drop=True)
    missing["information_managers"] = missing["information_managers"].fillna("")
    missing["deadline"] = rnd.deadline
    missing["days"] = (rnd.deadline - today).days if rnd.deadline else float("nan")
    if actor is not None and len(missing):
        missing.loc[~evidence_scope(actor, missing), "information_managers"] = ""
    return Missing(rnd, missing[MISSING_COLUMNS])


def days_text(days: float) -> str:
    """'due in 3 days', 'due today', '2 days overdue', or 'no deadline set'."""
    if pd.isna(days):
        return "no deadline set"
    days = int(days)
    if days == 0:
        return "due today"
    if days > 0:
        return f"due in {days} day{'s' if days != 1 else ''}"
    return f"{-days} day{'s' if days != -1 else ''} overdue"


def _emails(cell: str) -> list[str]:
    return [e.strip().lower() for e in str(cell or "").replace(",", ";").split(";") if e.strip()]


def reminders(engine: Engine, round_label: str | None = None, *, today: date | None = None) -> list[Message]:
    """Every reminder due today for the round; ``send`` skips those sent before."""
    today = today or date.today()
    missing = missing_returns(engine, round_label, today=today)
    rnd = missing.round
    out: list[Message] = []
    deadline = rnd.deadline
    if deadline is not None and not rnd.closed:
        stage = OVERDUE if today > deadline else DUE_SOON if today >= deadline - timedelta(days=DUE_SOON_DAYS) else None
        for team in missing.teams.itertuples(index=False) if stage else ():
            for email in _emails(team.information_managers):
                out.append(_return_reminder(rnd, team, email, stage, today))
    # Every overdue action, whoever's it is: the reminders are the KIM team's to send.
    everyone = Actor(email=SYSTEM_ACTOR, roles=frozenset({ADMIN}))
    overdue = action_service.list_actions(engine, actor=everyone, status="overdue", today=today)
    for a in overdue.itertuples(index=False):
        out.append(_action_reminder(rnd, a, today))
    return out


def _return_reminder(rnd: RoundInfo, team, email: str, stage: str, today: date) -> Message:
    when = f"{rnd.deadline.day} {rnd.deadline:%B %Y}"
    if stage == OVERDUE:
        subject = f"Overdue: {team.team}'s KIM return for {rnd.label} was due by {when}"
        lead = (f"The KIM return for {team.team} ({team.directorate}) was due by {when} and has not "
                "arrived. Please send it as soon as you can: a return sent now is still accepted, "
                "and marked late, until the KIM team closes the round.")
    else:
        subject = f"Reminder: {team.team}'s KIM return for {rnd.label} is due by {when}"
        lead = (f"The KIM return for {team.team} ({team.directorate}) is due by {when} "
                f"({days_text((rnd.deadline - today).days)}). Download the template from the "
                "Upload page of KIM League, fill it in and upload it there.")
    body = f"Dear information manager,\n\n{lead}\n\nKnowledge and Information Management team"
    return Message(to=email, subject=subject, body=body, kind=Kind.REMINDER, round_label=rnd.label,
                   reason=f"reminder:{rnd.label}:team:{team.team_id}:{stage}")


def _action_reminder(rnd: RoundInfo, a, today: date) -> Message:
    due = pd.Timestamp(a.due_on).date()
    subject = f"Overdue KIM action: {a.team}, {a.criterion} (due {due.day} {due:%B %Y})"
    body = (f"Dear {a.owner},\n\nYou own this action for {a.team} ({a.directorate}): reach "
            f"{a.target_label} on {a.criterion}. It was due on {due.day} {due:%B %Y} and is still "
            f"{a.status.replace('_', ' ')}.\n\nWhen it is done, mark it done (kim actions set "
            f"{a.action_id} --status done) or on the directorate page; it also closes itself when "
            "a return shows the target reached with evidence.\n\nKnowledge and Information "
            "Management team")
    return Message(to=a.owner, subject=subject, body=body, kind=Kind.ACTION_OVERDUE,
                   round_label=rnd.label, reason=f"action_overdue:{a.action_id}:{due.isoformat()}")


def send_reminders(engine: Engine, round_label: str | None = None, *, actor: Actor | str,
                   transport: Transport | None = None, dry_run: bool = False,
                   today: date | None = None) -> SendReport:
    """Send today's reminders for the round (the KIM team), each once; a dry run sends nothing."""
    who = resolve_actor(engine, actor)
    require(who, {ADMIN}, "send reminders")
    return send(reminders(engine, round_label, today=today), transport, engine, dry_run=dry_run)

