"""``kim actions`` and ``kim remind``: following teams up after a round.

    kim actions list [--round R] [--directorate D] [--status S] [--format table|csv|json] [-o FILE]
    kim actions add --team T --criterion C --owner EMAIL --due YYYY-MM-DD [--note TEXT] [--directorate D]
    kim actions set ID --status in_progress|done|dropped|open [--note TEXT]
    kim remind [--round R] [--dry-run]

``register`` adds the commands to the ``kim`` parser and their handlers to the command table;
errors are the core's own, so ``kim``'s exit codes apply (0, 1 invalid input, 2 usage).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import MutableMapping
from datetime import date

import pandas as pd

from kim_metrics.cli_output import write_output
from kim_metrics.domain.access import LOCAL_ADMIN_EMAIL
from kim_metrics.reports.cells import neutralise
from kim_metrics.services import actions as action_service
from kim_metrics.services import reminders as reminder_service

SHOWN = {"action_id": "Id", "team": "Team", "directorate": "Directorate", "criterion": "Criterion",
         "target_label": "Target", "owner": "Owner", "due_on": "Due", "status": "Status",
         "overdue": "Overdue", "round": "Adopted in", "note": "Note", "closed_reason": "Closed because"}


def parse_date(text: str) -> date:
    """A date typed as YYYY-MM-DD; argparse reports anything else as a usage error."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as YYYY-MM-DD, "
                                         "for example 2026-10-14") from None


def register(sub, common: argparse.ArgumentParser, commands: MutableMapping) -> None:
    """Add ``kim actions ...`` and ``kim remind`` to the ``kim`` parser and ``commands``."""
    top = sub.add_parser("actions", parents=[common], help="tracked actions: list, adopt, update")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="ACTION")

    listing = verbs.add_parser("list", parents=[common], help="list actions you may read")
    listing.add_argument("--round", help="actions carried into this round")
    listing.add_argument("--directorate")
    listing.add_argument("--status", choices=(*action_service.STATUSES, "overdue"))
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table")
    listing.add_argument("-o", "--output", metavar="FILE")
    listing.add_argument("--as", dest="actor", metavar="EMAIL")

    add = verbs.add_parser("add", parents=[common], help="adopt a team's next step on a criterion")
    add.add_argument("--team", required=True)
    add.add_argument("--directorate", help="when two directorates have a team of that name")
    add.add_argument("--criterion", required=True, help="criterion id or name")
    add.add_argument("--owner", required=True, metavar="EMAIL")
    add.add_argument("--due", required=True, type=parse_date, metavar="YYYY-MM-DD")
    add.add_argument("--note", default="")
    add.add_argument("--round", help="the round whose score it acts on (default: the team's latest return)")
    add.add_argument("--as", dest="actor", metavar="EMAIL")

    change = verbs.add_parser("set", parents=[common], help="move an action along")
    change.add_argument("action_id", type=int, metavar="ID")
    change.add_argument("--status", required=True, choices=("in_progress", "done", "dropped", "open"))
    change.add_argument("--note")
    change.add_argument("--as", dest="actor", metavar="EMAIL")
    commands["actions"] = run_actions

    remind = sub.add_parser("remind", parents=[common], help="email reminders: returns due or overdue, "
                            "overdue actions (each once)")
    remind.add_argument("--round", help="default: the latest round (so a daily cron line need not change)")
    remind.add_argument("--dry-run", action="store_true", help="list recipients and subjects; send nothing")
    remind.add_argument("--as", dest="actor", metavar="EMAIL")
    commands["remind"] = run_remind


def _actor(args) -> str:
    return getattr(args, "actor", None) or LOCAL_ADMIN_EMAIL


def run_actions(engine, args) -> int:
    if args.verb == "add":
        done = action_service.adopt(engine, team=args.team, directorate=args.directorate,
                                    criterion=args.criterion, owner=args.owner, due=args.due,
                                    note=args.note, round_label=args.round, actor=_actor(args))
        print(f"Action {done.action_id} adopted: {done.team} to reach {done.target} ({done.target_status}) "
              f"on {done.criterion}, owned by {done.owner}, due {done.due_on:%d %b %Y}.")
        return 0
    if args.verb == "set":
        after = action_service.set_status(engine, args.action_id, args.status, note=args.note,
                                          actor=_actor(args))
        print(f"Action {args.action_id} ({after['team']}, {after['criterion']}) is now "
              f"{after['status'].replace('_', ' ')}.")
        return 0
    frame = action_service.list_actions(engine, actor=_actor(args), round_label=args.round,
                                        directorate=args.directorate, status=args.status)
    frame = frame[list(SHOWN)]
    if args.format == "json":
        rows = [{k: (v.isoformat() if isinstance(v, date) else (None if _blank(v) else v))
                 for k, v in row.items()} for row in frame.to_dict("records")]
        write_output(args.output, json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    elif args.format == "csv":
        write_output(args.output, frame.rename(columns=SHOWN).map(neutralise).to_csv(index=False))
    elif frame.empty:
        write_output(args.output, "No actions match.")
    else:
        shown = frame.drop(columns=["note", "closed_reason"]).rename(columns=SHOWN)
        shown["Overdue"] = shown["Overdue"].map({True: "overdue", False: ""})
        write_output(args.output, shown.to_string(index=False))
    return 0


def _blank(value) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def run_remind(engine, args) -> int:
    from kim_metrics.delivery import transport_from_settings
    if args.dry_run:
        report = reminder_service.send_reminders(engine, args.round, actor=_actor(args), dry_run=True)
    else:
        with transport_from_settings() as transport:
            report = reminder_service.send_reminders(engine, args.round, actor=_actor(args),
                                                     transport=transport)
    print_report(report)
    return 1 if report.failed else 0


def print_report(report) -> None:
    """One line per message (recipient, subject, what happened), then a summary on stderr."""
    rows = report.rows()
    if rows:
        frame = pd.DataFrame(rows)[["to", "subject", "status", "detail"]]
        print(frame.rename(columns=str.capitalize).to_string(index=False))
    print(("Dry run, nothing sent: " if report.dry_run else "") + report.summary() + ".", file=sys.stderr)
