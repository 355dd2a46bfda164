"""``kim ima``: the Information Management Assessment from the command line.

    kim ima load FILE [--dry-run] [--as EMAIL]     ratings and actions from a workbook
    kim ima show [--format table|json]              ratings over time
    kim ima compare A B [--format table|json]       every sub-area's change from A to B
    kim ima actions [--status S] [--format table|csv|json] [-o FILE]
    kim ima update ACTION_ID [--status S] [--commentary TEXT] [--as EMAIL]
    kim ima report --assessment NAME -o FILE [--format docx|pdf]
    kim ima plan -o FILE.xlsx                       the action plan, National Archives layout
    kim ima framework load FILE | show [--format table|json]

``register`` adds the ``ima`` subcommand to the ``kim`` parser and its handler to the
command table; errors are the core's own, so ``kim``'s exit codes apply (0, 1 invalid
input, 2 usage).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import MutableMapping
from pathlib import Path

import pandas as pd

from kim_metrics.cli_output import write_output
from kim_metrics.domain.access import LOCAL_ADMIN_EMAIL
from kim_metrics.domain.errors import UsageError
from kim_metrics.domain.ima import ACTION_LABELS, ACTION_STATUSES, KIND_LABELS
from kim_metrics.reports.cells import neutralise
from kim_metrics.services import common
from kim_metrics.services import ima

FORMATS = ("docx", "pdf")


def register(sub, common: argparse.ArgumentParser, commands: MutableMapping) -> None:
    """Add ``kim ima ...`` to the ``kim`` parser's subcommands and its handler to ``commands``."""
    top = sub.add_parser("ima", parents=[common], help="the Information Management Assessment: "
                         "ratings, comparison, action plan, report")
    actions = top.add_subparsers(dest="action", required=True, metavar="ACTION")

    load = actions.add_parser("load", parents=[common], help="load a workbook of Ratings and Actions")
    load.add_argument("file")
    load.add_argument("--dry-run", action="store_true", help="check the workbook; save nothing")
    load.add_argument("--as", dest="actor", metavar="EMAIL")

    show = actions.add_parser("show", parents=[common], help="ratings over time, sub-areas × assessments")
    show.add_argument("--format", choices=("table", "json"), default="table")

    compare = actions.add_parser("compare", parents=[common], help="compare two assessments")
    compare.add_argument("first", metavar="A")
    compare.add_argument("second", metavar="B")
    compare.add_argument("--format", choices=("table", "json"), default="table")

    listing = actions.add_parser("actions", parents=[common], help="list the action plan")
    listing.add_argument("--status", help=f"only actions with this status ({', '.join(ACTION_STATUSES)})")
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table")
    listing.add_argument("-o", "--output", metavar="FILE")

    change = actions.add_parser("update", parents=[common],
                                help="change an action's status or commentary (KIM team); "
                                     "--status closed signs off its closure")
    change.add_argument("action_id", type=int, metavar="ACTION_ID")
    change.add_argument("--status")
    change.add_argument("--commentary")
    change.add_argument("--as", dest="actor", metavar="EMAIL")

    report = actions.add_parser("report", parents=[common], help="write the progress review (Word or PDF)")
    report.add_argument("--assessment", required=True, metavar="NAME")
    report.add_argument("-o", "--output", required=True, metavar="FILE")
    report.add_argument("--format", choices=FORMATS, help="default: from the file's extension, else docx")

    plan = actions.add_parser("plan", parents=[common], help="write the action plan workbook (.xlsx)")
    plan.add_argument("-o", "--output", required=True, metavar="FILE.xlsx")

    fw = actions.add_parser("framework", parents=[common], help="load or show the IMA framework")
    fw_actions = fw.add_subparsers(dest="framework_action", required=True, metavar="ACTION")
    fw_load = fw_actions.add_parser("load", parents=[common], help="load a framework file (TOML)")
    fw_load.add_argument("file")
    fw_load.add_argument("--as", dest="actor", metavar="EMAIL")
    fw_show = fw_actions.add_parser("show", parents=[common], help="show the framework in force")
    fw_show.add_argument("--format", choices=("table", "json"), default="table")

    commands["ima"] = run


def run(engine, args) -> int:
    return HANDLERS[args.action](engine, args)


def _actor(args) -> str:
    return getattr(args, "actor", None) or LOCAL_ADMIN_EMAIL


def cmd_load(engine, args) -> int:
    data = common.read_file(args.file)
    name = Path(args.file).name
    if args.dry_run:
        parsed = ima.check_workbook(engine, data, name)
        print(f"Dry run: {name} is valid: {len(parsed.assessments)} assessment(s) with "
              f"{sum(len(a.ratings) for a in parsed.assessments)} ratings, "
              f"{len(parsed.recommendations)} recommendation(s) with {parsed.action_count} action(s); "
              "nothing was saved.")
        return 0
    saved = ima.load_workbook(engine, data, name, actor=_actor(args))
    parts = []
    if saved.assessments_added:
        parts.append(f"added {', '.join(saved.assessments_added)}")
    if saved.assessments_replaced:
        parts.append(f"replaced {', '.join(saved.assessments_replaced)}")
    print(f"Loaded {name}: " + ("; ".join(parts) + "; " if parts else "")
          + f"{saved.ratings} ratings, {saved.recommendations} recommendation(s), "
          f"{saved.actions} action(s).")
    return 0


def cmd_show(engine, args) -> int:
    if args.format == "json":
        print(json.dumps(ima.show(engine), ensure_ascii=False, indent=2))
        return 0
    rec = ima.record(engine)
    if not rec.assessments:
        print("No assessments yet. Load a workbook with `kim ima load FILE` (try "
              "data/samples/demo-ima.xlsx).")
        return 0
    for a in rec.assessments:
        print(f"{a.name}: {KIND_LABELS.get(a.kind, a.kind)}, {a.date:%d %B %Y}"
              + (f", {a.assessor}" if a.assessor else ""))
    print()
    print(ima.ratings_grid(rec).fillna("–").to_string(index=False))
    steps = ima.next_steps(rec)
    if len(steps):
        print("\nNext steps:")
        for r in steps.itertuples(index=False):
            print(f"- {r.recommendation} ({r.area}; {r.delivered} of {r.actions} actions delivered)")
    return 0


def cmd_compare(engine, args) -> int:
    changes = ima.compare(engine, args.first, args.second)
    if args.format == "json":
        print(json.dumps([c.as_dict() for c in changes], ensure_ascii=False, indent=2))
        return 0
    frame = pd.DataFrame({"Area": [c.area for c in changes], "Sub-area": [c.sub_area for c in changes],
                          args.first: [c.before or "–" for c in changes],
                          args.second: [c.after or "–" for c in changes],
                          "Change": [c.change for c in changes]})
    print(frame.to_string(index=False))
    counts = pd.Series([c.change for c in changes]).value_counts()
    print("\n" + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return 0


def cmd_actions(engine, args) -> int:
    status = ima.status_from(args.status) if args.status else None
    frame = ima.actions(engine, status)
    if args.format == "json":
        write_output(args.output, json.dumps(ima.actions_json(frame), ensure_ascii=False, indent=2))
    elif args.format == "csv":
        write_output(args.output, ima.actions_for_people(frame).map(neutralise).to_csv(index=False))
    elif frame.empty:
        write_output(args.output, "No actions" + (f" are {status}." if status else " yet."))
    else:
        shown = ima.actions_for_people(frame)[["Id", "Area", "Action", "Owner", "Due date", "Status"]]
        shown = shown.assign(Action=shown["Action"].map(lambda t: t if len(t) <= 60 else t[:59] + "…"))
        write_output(args.output, shown.to_string(index=False))
    return 0


def cmd_update(engine, args) -> int:
    if args.status is None and args.commentary is None:
        raise UsageError("Give --status, --commentary or both.")
    status = ima.status_from(args.status) if args.status else None
    after = ima.update_action(engine, args.action_id, actor=_actor(args), status=status,
                              commentary=args.commentary)
    signed = f", closure signed off by {after['closed_by']}" if after["closed_by"] else ""
    print(f"Action {args.action_id} is {ACTION_LABELS[after['status']].lower()}{signed}.")
    return 0


def cmd_report(engine, args) -> int:
    fmt = args.format or ("pdf" if args.output.lower().endswith(".pdf") else "docx")
    path = ima.write_report(engine, args.assessment, args.output, fmt)
    print(f"Wrote {path}")
    return 0


def cmd_plan(engine, args) -> int:
    write_output(args.output, ima.action_plan_xlsx(engine))
    return 0


def cmd_framework(engine, args) -> int:
    if args.framework_action == "load":
        path = Path(args.file)
        text = ima.read_text_file(common.read_file(path), path.name)
        fw = ima.load_framework(engine, text, actor=_actor(args), file_name=path.name)
        print(f"Loaded the framework from {path.name}: {len(fw.areas)} areas, {len(fw.sub_areas)} "
              f"sub-areas, ratings {', '.join(r.name for r in fw.ratings)}.")
        return 0
    fw = ima.framework(engine)
    if args.format == "json":
        print(json.dumps(fw.model_dump(), ensure_ascii=False, indent=2))
        return 0
    print(f"{fw.name} ({fw.assessor})\nRatings, worst first: {', '.join(r.name for r in fw.ratings)}\n")
    for area in fw.areas:
        print(area.name)
        for s in area.sub_area:
            print(f"  {s.name}  [{s.id}]")
    return 0


HANDLERS = {"load": cmd_load, "show": cmd_show, "compare": cmd_compare, "actions": cmd_actions,
            "update": cmd_update, "report": cmd_report, "plan": cmd_plan, "framework": cmd_framework}
