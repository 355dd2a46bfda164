"""The ``kim`` command line.

Exit codes: 0 success, 1 invalid input (the report on stderr), 2 usage error. A user's
mistake never ends in a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from kim_metrics.services import admin as admin_service
from kim_metrics.services import audit as audit_service
from kim_metrics.services import common
from kim_metrics.services import league as league_service
from kim_metrics.services import returns as return_service
from kim_metrics.services import review as review_service
from kim_metrics.cli_ima import register as register_ima
from kim_metrics.cli_loop import register as register_loop
from kim_metrics.cli_output import write_output
from kim_metrics.domain.access import GRANTABLE, LOCAL_ADMIN_EMAIL, Actor
from kim_metrics.domain.criteria import NO_RETURN, decode_criteria
from kim_metrics.settings import PROJECT_ROOT
from kim_metrics.storage.engine import make_engine
from kim_metrics.domain.errors import KimError, UsageError, ValidationError
from kim_metrics.reports.exports import league_frame
from kim_metrics.reports.registry import formats, render, renderer
from kim_metrics.reading.returns import parse_mapping
from kim_metrics.domain.rounds import normalise_label
from kim_metrics.domain.scoring import LEVELS
from kim_metrics.services.documents import export_league
from kim_metrics.storage.schema import ensure_schema
from kim_metrics.domain.scoring import CHALLENGED, VERIFIED

LOCAL_ADMIN = LOCAL_ADMIN_EMAIL
READER_HELP = ("read as this person: the file holds only what they may see (default: the local "
               "admin, who sees everything)")
EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS keeps a --db given before the command from being reset by the subcommand.
    common.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                        help="database URL (default: KIM_DATABASE_URL, else SQLite at data/kim.db)")
    parser = argparse.ArgumentParser(prog="kim", description="KIM League: knowledge and "
                                     "information management league table.", parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init", parents=[common], help="create or upgrade the database")
    sub.add_parser("demo", parents=[common], help="load the demo organisation and rounds")

    serve = sub.add_parser("serve", parents=[common], help="serve the dashboard (on this computer only "
                           "unless sign-in is set up)")
    serve.add_argument("--port", type=int, default=8501)

    crit = sub.add_parser("criteria", parents=[common], help="load or show the criteria")
    crit_sub = crit.add_subparsers(dest="action", required=True, metavar="ACTION")
    c_load = crit_sub.add_parser("load", parents=[common], help="load criteria for rounds opened from now on")
    c_load.add_argument("file")
    c_load.add_argument("--as", dest="actor", metavar="EMAIL")
    c_show = crit_sub.add_parser("show", parents=[common], help="show the criteria in force")
    c_show.add_argument("--format", choices=("table", "json"), default="table")
    c_show.add_argument("--round", help="the criteria a round was opened with")

    org = sub.add_parser("org", parents=[common], help="load the organisation structure")
    org_sub = org.add_subparsers(dest="action", required=True, metavar="ACTION")
    o_load = org_sub.add_parser("load", parents=[common], help="load an organisation workbook")
    o_load.add_argument("file")
    o_load.add_argument("--as", dest="actor", metavar="EMAIL")

    tpl = sub.add_parser("template", parents=[common], help="write a pre-filled return template")
    tpl.add_argument("--round", required=True)
    tpl.add_argument("--directorate")
    tpl.add_argument("-o", "--output", required=True, metavar="FILE")

    ing = sub.add_parser("ingest", parents=[common], help="check and save a return")
    ing.add_argument("file")
    ing.add_argument("--round", required=True)
    ing.add_argument("--dry-run", action="store_true", help="check and show the scores; save nothing")
    ing.add_argument("--as", dest="actor", metavar="EMAIL", help="who is submitting (default: local admin)")
    ing.add_argument("--map", action="append", metavar='COLUMN="Header"',
                     help='use your own header for a column, e.g. --map Team="Organisation Name"')
    ing.add_argument("--format", choices=("table", "json"), default="table")

    lg = sub.add_parser("league", parents=[common], help="print or export the league table")
    lg.add_argument("--round", help="default: the latest round")
    lg.add_argument("--level", choices=LEVELS, default="team")
    lg.add_argument("--format", choices=("table", *formats("league")), default="table")
    lg.add_argument("-o", "--output", metavar="FILE")
    lg.add_argument("--as", dest="reader", metavar="EMAIL", help=READER_HELP)

    aud = sub.add_parser("audit", parents=[common], help="export the audit trail")
    aud.add_argument("--round")
    aud.add_argument("--actor", metavar="EMAIL", help="only what this person did")
    aud.add_argument("--action", help="only this kind of change, e.g. 'return saved'")
    aud.add_argument("--format", choices=("table", *formats("audit")), default="table")
    aud.add_argument("-o", "--output", metavar="FILE")
    aud.add_argument("--as", dest="reader", metavar="EMAIL", help=READER_HELP)

    rev = sub.add_parser("review", parents=[common], help="verify or challenge a score (KIM team)")
    rev.add_argument("score_id", type=int)
    rev.add_argument("--verify", action="store_true", help="the evidence backs the score")
    rev.add_argument("--challenge", type=float, metavar="VALUE",
                     help="the value on the criterion's scale the score should count at")
    rev.add_argument("--note", default="", help="why; the team reads this")
    rev.add_argument("--as", dest="actor", metavar="EMAIL")

    roles = sub.add_parser("roles", parents=[common], help="list, grant or revoke admin and executive roles")
    roles.add_argument("--grant", metavar="EMAIL")
    roles.add_argument("--revoke", metavar="EMAIL")
    roles.add_argument("--role", choices=GRANTABLE, default="admin")
    roles.add_argument("--as", dest="actor", metavar="EMAIL")

    letters = sub.add_parser("letters", parents=[common], help="write one letter per directorate")
    letters.add_argument("--round", help="default: the latest round")
    letters.add_argument("-o", "--output", metavar="DIR", help="folder for the letters")
    letters.add_argument("--format", choices=formats("letter"), default="docx")
    letters.add_argument("--directorate", help="write only this directorate's letter")
    letters.add_argument("--send", action="store_true",
                         help="email each director their letter as a PDF (each once per round)")
    letters.add_argument("--dry-run", action="store_true", help="with --send: list what would be sent")
    letters.add_argument("--as", dest="reader", metavar="EMAIL", help=READER_HELP)

    board = sub.add_parser("boardpack", parents=[common], help="write the board pack (PDF)")
    board.add_argument("--round", help="default: the latest round")
    board.add_argument("-o", "--output", metavar="FILE.pdf")
    board.add_argument("--send", action="append", metavar="EMAIL",
                       help="email the board pack to this address (repeat for more; each once per round)")
    board.add_argument("--dry-run", action="store_true", help="with --send: list what would be sent")
    board.add_argument("--as", dest="reader", metavar="EMAIL", help=READER_HELP)

    rounds = sub.add_parser("rounds", parents=[common], help="the round calendar: list, open, close, reopen")
    rounds.add_argument("--open", metavar="ROUND", help="open a round with the criteria in force")
    rounds.add_argument("--deadline", metavar="YYYY-MM-DD", type=_date_arg,
                        help="with --open: the date returns are due (later returns are marked late)")
    rounds.add_argument("--close", metavar="ROUND", help="close a round: it takes no more returns")
    rounds.add_argument("--reopen", metavar="ROUND", help="reopen a closed round (admin; audited)")
    rounds.add_argument("--delete", metavar="ROUND", help="delete a round that has no returns")
    rounds.add_argument("--format", choices=("table", "json"), default="table")
    rounds.add_argument("--as", dest="actor", metavar="EMAIL")

    reb = sub.add_parser("rebuild", parents=[common], help="recompute the stored scores, statuses and ranks")
    reb.add_argument("--round", help="only this round (default: every round)")
    reb.add_argument("--as", dest="actor", metavar="EMAIL")

    bak = sub.add_parser("backup", parents=[common], help="write the whole database to one backup file")
    bak.add_argument("-o", "--output", required=True, metavar="FILE")
    res = sub.add_parser("restore", parents=[common], help="replace the database's contents with a backup")
    res.add_argument("file")
    res.add_argument("--force", action="store_true", help="replace a database that already holds data")
    register_ima(sub, common, COMMANDS)
    register_loop(sub, common, COMMANDS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        engine = make_engine(getattr(args, "db", None))
        ensure_schema(engine)
        return COMMANDS[args.command](engine, args)
    except ValidationError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except UsageError as exc:
        print(f"kim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KimError as exc:
        print(f"kim: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("kim: interrupted; nothing was saved.", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:
        # The reader stopped reading (`kim league --format json | head`): nothing is wrong.
        _stdout_to_devnull()
        return EXIT_OK
    except Exception as exc:
        from sqlalchemy.exc import OperationalError
        if isinstance(exc, OperationalError):
            print(f"kim: cannot use the database ({exc.orig}). Check --db or KIM_DATABASE_URL.",
                  file=sys.stderr)
            return EXIT_INVALID
        raise


def _write(output: str | None, content: str | bytes) -> None:
    write_output(output, content, file_needed="Excel output needs a file: add -o FILE.xlsx.")


def _reader(engine, args) -> Actor:
    """Who is reading: ``--as EMAIL``, else the local admin."""
    return common.resolve_actor(engine, getattr(args, "reader", None) or LOCAL_ADMIN)


def _for_terminal(output: str | None, document: str, fmt: str, content: bytes) -> str | bytes:
    """A file's bytes as they are; for the terminal, text without the byte-order mark that
    CSV files carry for Excel (a binary format is refused by ``_write``)."""
    if output in (None, "-") and renderer(document, fmt).is_text:
        return content.decode("utf-8-sig")
    return content


def cmd_init(engine, _args) -> int:
    print(f"Database ready at {engine.url.render_as_string(hide_password=True)}")
    return EXIT_OK


def cmd_demo(engine, _args) -> int:
    from kim_metrics.services.demo import load_demo
    result = load_demo(engine)
    if not result.get("loaded"):
        print(f"The demo was not loaded: {result['reason']}")
    else:
        print(f"Loaded the demo department: {result['teams']} teams, "
              f"{result['rounds']} rounds, {result['returns']} returns.")
    return EXIT_OK


# Where Streamlit reads secrets from (its default ``secrets.files``): the user's, then the app's.
SECRETS_FILES = (Path.home() / ".streamlit" / "secrets.toml", PROJECT_ROOT / ".streamlit" / "secrets.toml")
LOOPBACK = "127.0.0.1"


def sign_in_configured(files: Sequence[Path] = SECRETS_FILES) -> bool:
    """Whether the dashboard will ask people to sign in: an ``[auth]`` section in a secrets file.

    A secrets file that cannot be read counts as none, so a mistake there keeps the dashboard
    on this computer rather than opening local mode to the network.
    """
    import tomllib
    for path in files:
        try:
            if "auth" in tomllib.loads(path.read_text(encoding="utf-8")):
                return True
        except (OSError, ValueError):
            continue
    return False


def serve_command(port: int, *, signed_in: bool) -> list[str]:
    """The command line that serves the dashboard: ``serve.py`` (``streamlit run dashboard.py``
    after loading the pages' libraries, so the first visitor after a start does not wait for
    them) with Streamlit's options.

    Without sign-in every visitor acts as the KIM team, so local mode listens on the loopback
    address only: the dashboard is reachable from this computer and nowhere else. Serving
    others needs sign-in set up (the README says how), and then Streamlit listens on every
    interface as usual.
    """
    import math

    from kim_metrics.settings import load_settings
    # The uploader's own cap is the reader's limit, so the page never offers more than is read.
    upload_mb = math.ceil(load_settings().max_upload_mb)
    command = [sys.executable, str(PROJECT_ROOT / "serve.py"),
               "--server.port", str(port), "--server.headless", "true",
               "--server.maxUploadSize", str(upload_mb)]
    if not signed_in:
        command += ["--server.address", LOOPBACK]
    return command


def cmd_serve(_engine, args) -> int:
    import subprocess
    signed_in = sign_in_configured()
    if not signed_in:
        print(f"Local mode (no sign-in set up): serving on http://{LOOPBACK}:{args.port} for this "
              "computer only. To serve others, set up sign-in as the README says.", file=sys.stderr)
    try:
        return subprocess.call(serve_command(args.port, signed_in=signed_in), cwd=PROJECT_ROOT)
    except KeyboardInterrupt:
        return EXIT_OK


def cmd_criteria(engine, args) -> int:
    if args.action == "load":
        path = Path(args.file)
        text = decode_criteria(common.read_file(path), file_name=path.name) if path.exists() else None
        if text is None:
            raise KimError(f"{args.file}: no such file. Check the name and folder.")
        criteria = admin_service.load_criteria(engine, text, actor=args.actor or LOCAL_ADMIN, file_name=path.name)
        print(f"Loaded {len(criteria)} criteria from {path.name}. They apply to rounds opened from "
              "now on; rounds already open keep their criteria.")
        return EXIT_OK
    criteria = admin_service.round_criteria(engine, args.round)
    if args.format == "json":
        print(json.dumps(criteria.to_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    rows = [{"id": c.id, "name": c.name, "scale": c.scale, "weight": c.weight,
             "green": c.label(c.rag.get(criteria.rag.levels[-1], c.top))} for c in criteria]
    print(pd.DataFrame(rows).to_string(index=False))
    team = ", ".join(f"{s} ≥ {v:g}" for s, v in criteria.rag.team.items())
    print(f"\nRAG levels: {', '.join(criteria.rag.levels)}; team score: {team}")
    return EXIT_OK


def cmd_org(engine, args) -> int:
    counts = admin_service.load_org(engine, common.read_file(args.file), Path(args.file).name,
                          actor=args.actor or LOCAL_ADMIN)
    print(f"Organisation loaded: {counts['directorates']} directorates, {counts['teams_added']} teams "
          f"added, {counts['teams_updated']} updated, {counts['teams_retired']} no longer listed.")
    return EXIT_OK


def cmd_template(engine, args) -> int:
    from kim_metrics.reports.template import write_template
    criteria = admin_service.round_criteria(engine, args.round)
    teams = admin_service.organisation(engine)
    # write_template finds the directorate (in any case, with hints when it is not there).
    try:
        rnd = admin_service.find_round(engine, args.round)
        write_template(args.output, criteria=criteria, teams=teams, round_label=args.round,
                       directorate=args.directorate, deadline=rnd.deadline if rnd else None)
    except OSError as exc:
        raise KimError(f"Cannot write {args.output}: {exc.strerror}.") from None
    print(f"Wrote {args.output}: {len(teams)} teams × {len(criteria)} criteria for {args.round}.")
    return EXIT_OK


def cmd_ingest(engine, args) -> int:
    normalise_label(args.round)   # a mistyped round is reported before any file is read
    data = common.read_file(args.file)
    criteria = admin_service.round_criteria(engine, args.round)
    mapping = parse_mapping(args.map, criteria)
    preview = return_service.check_return(engine, data, Path(args.file).name, args.round, mapping,
                               uploader=args.actor or LOCAL_ADMIN)
    unevidenced = int(preview.scores["unevidenced"].sum())
    if args.format == "json" and args.dry_run:
        print(preview.teams[["team", "directorate", "score", "rag", "unevidenced"]].to_json(
            orient="records", force_ascii=False))
    elif args.dry_run:
        print(_preview_table(preview))
    if unevidenced:
        print(f"Note: {unevidenced} score(s) above the lowest level have no evidence; they count as "
              "the lowest level until evidence is added.", file=sys.stderr)
    if args.dry_run:
        print(f"Dry run: {len(preview.parsed.scores)} scores for {len(preview.teams)} teams are valid; "
              "nothing was saved.", file=sys.stderr)
        return EXIT_OK
    if preview.same_file:
        same = preview.same_file
        print(f"This file was already saved as return #{same['return_id']} for {preview.round} "
              f"by {same['uploader']} on {same['uploaded_at']:%d %b %Y %H:%M}; nothing new was saved.")
        return EXIT_OK
    saved = return_service.save_preview(engine, preview, uploader=args.actor or LOCAL_ADMIN)
    print(f"Saved return #{saved.return_id} for {saved.round}: {saved.scores} scores for "
          f"{saved.teams} teams" + (f"; replaced {saved.superseded} earlier scores" if saved.superseded else "")
          + (f"; opened round {saved.round}" if saved.round_opened else "") + ".")
    return EXIT_OK


def _preview_table(preview: return_service.Preview) -> str:
    frame = preview.teams[["team", "directorate", "score", "rag", "unevidenced"]].rename(
        columns=str.capitalize).sort_values("Score", ascending=False)
    return frame.to_string(index=False)


def cmd_league(engine, args) -> int:
    if args.format != "table":
        content = export_league(engine, args.round, args.level, args.format, actor=_reader(engine, args))
        _write(args.output, _for_terminal(args.output, "league", args.format, content))
        return EXIT_OK
    result = league_service.league(engine, args.round, args.level)
    table, criteria, level = result.table, result.criteria, args.level
    frame = league_frame(table, criteria, level)
    frame = frame[[c for c in frame.columns if c not in {c.name for c in criteria}]]
    frame["Score"] = frame["Score"].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    frame["Rank"] = frame["Rank"].map(lambda v: "" if pd.isna(v) else str(v))
    title = f"League table, {result.round.label}" + (
        f" (movement since {result.previous.label})" if result.previous else "")
    _write(args.output, title + "\n" + frame.to_string(index=False))
    missing = int((table["rag"] == NO_RETURN).sum())
    if missing and level == "team":
        print(f"{missing} team(s) have not returned for {result.round.label}.", file=sys.stderr)
    return EXIT_OK


def _date_arg(text: str) -> date:
    """A date typed as YYYY-MM-DD; argparse reports anything else as a usage error."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as YYYY-MM-DD, "
                                         "for example 2026-10-14") from None


def cmd_rounds(engine, args) -> int:
    who = args.actor or LOCAL_ADMIN
    chosen = [a for a in ("open", "close", "reopen", "delete") if getattr(args, a)]
    if len(chosen) > 1:
        raise UsageError("Give one of --open, --close, --reopen or --delete at a time.")
    if args.deadline and not args.open:
        raise UsageError("--deadline goes with --open ROUND (for a round already open, it sets "
                         "that round's deadline).")
    if args.open:
        rnd, opened = admin_service.open_round(engine, args.open, actor=who)
        if args.deadline:
            rnd = admin_service.set_deadline(engine, rnd.label, args.deadline, actor=who)
        due = f"; returns due by {rnd.deadline:%d %b %Y}" if rnd.deadline else ""
        print(f"{'Opened' if opened else 'Already open:'} round {rnd.label} (criteria version "
              f"{rnd.criteria_version_id}){due}.")
        return EXIT_OK
    if args.close:
        rnd, closed = admin_service.close_round(engine, args.close, actor=who)
        print(f"{'Closed' if closed else 'Already closed:'} round {rnd.label}; it takes no more returns "
              f"until an admin reopens it (kim rounds --reopen {rnd.label}).")
        return EXIT_OK
    if args.reopen:
        rnd, reopened = admin_service.reopen_round(engine, args.reopen, actor=who)
        print(f"{'Reopened' if reopened else 'Not closed:'} round {rnd.label}; it takes returns.")
        return EXIT_OK
    if args.delete:
        admin_service.delete_round(engine, args.delete, actor=who)
        print(f"Deleted round {normalise_label(args.delete)}.")
        return EXIT_OK
    calendar = admin_service.round_calendar(engine)
    if args.format == "json":
        rows = [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
                for row in calendar.to_dict("records")]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if calendar.empty:
        print("No rounds yet. Open one with `kim rounds --open 2026-Q3 --deadline 2026-10-14`.")
        return EXIT_OK
    shown = calendar.assign(
        starts=calendar["starts"].map(lambda d: f"{d:%d %b %Y}"),
        deadline=calendar["deadline"].map(lambda d: f"{d:%d %b %Y}" if d is not None and not pd.isna(d) else "none"),
        closed=calendar["closed"].map({True: "closed", False: "open"}))
    shown.columns = ["Round", "Starts", "Deadline", "Closed", "Teams returned", "Teams"]
    print(shown.to_string(index=False))
    return EXIT_OK


def cmd_rebuild(engine, args) -> int:
    done = admin_service.rebuild(engine, args.round, actor=args.actor or LOCAL_ADMIN)
    print(f"Rebuilt the stored results of {len(done)} round(s): {', '.join(done) or 'none'}.")
    return EXIT_OK


def cmd_backup(engine, args) -> int:
    from kim_metrics.storage.backup import backup
    summary = backup(engine, args.output)
    print(f"Wrote {summary.file}: {summary.total:,} rows from {len(summary.rows)} tables "
          f"(schema revision {summary.schema_revision}).")
    return EXIT_OK


def cmd_restore(engine, args) -> int:
    from kim_metrics.storage.backup import restore
    summary = restore(engine, args.file, force=args.force, actor=LOCAL_ADMIN)
    print(f"Restored {summary.total:,} rows into {len(summary.rows)} tables from {summary.file}; "
          "the database now holds exactly what the backup holds.")
    return EXIT_OK


def cmd_audit(engine, args) -> int:
    trail = audit_service.audit_trail(engine, reader=_reader(engine, args), round_label=args.round,
                                      actor=args.actor, action=args.action)
    if args.format != "table":
        _write(args.output, _for_terminal(args.output, "audit", args.format,
                                          render("audit", args.format, trail)))
    else:
        shown = trail[["at", "actor", "action", "round", "target"]]
        _write(args.output, shown.to_string(index=False) if len(shown) else "No audit records match.")
    return EXIT_OK


def cmd_review(engine, args) -> int:
    if args.verify == (args.challenge is not None):
        raise UsageError("Give exactly one of --verify or --challenge VALUE.")
    status = VERIFIED if args.verify else CHALLENGED
    review_service.review_score(engine, args.score_id, status=status, value=args.challenge, note=args.note,
                     actor=args.actor or LOCAL_ADMIN)
    print(f"Score {args.score_id} {status}.")
    return EXIT_OK


def cmd_roles(engine, args) -> int:
    who = args.actor or LOCAL_ADMIN
    if args.grant:
        done = admin_service.grant_role(engine, args.grant, args.role, actor=who)
        print(f"{args.grant} {'is now' if done else 'was already'} {args.role}.")
    elif args.revoke:
        done = admin_service.revoke_role(engine, args.revoke, args.role, actor=who)
        print(f"{args.revoke} {'is no longer' if done else 'was not'} {args.role}.")
    else:
        grants = admin_service.role_grants(engine)
        print(grants.to_string(index=False) if len(grants) else "No admin or executive roles granted.")
    return EXIT_OK


def _send_documents(args, send) -> int:
    """Send through the mail service the environment sets up (none needed for a dry run)."""
    from kim_metrics.cli_loop import print_report
    from kim_metrics.delivery import transport_from_settings
    if args.dry_run:
        report = send(None)
    else:
        with transport_from_settings() as transport:
            report = send(transport)
    print_report(report)
    return EXIT_INVALID if report.failed else EXIT_OK


def cmd_letters(engine, args) -> int:
    from kim_metrics.reports.letters import letter_file_name, render_letter
    from kim_metrics.services.documents import letter_data, write_letters
    if args.send:
        from kim_metrics.services.mailouts import send_letters

        def send(transport):
            report, without = send_letters(engine, args.round, actor=_reader(engine, args),
                                           transport=transport, dry_run=args.dry_run)
            for name in without:
                print(f"No letter sent for {name}: the organisation names no director for it.",
                      file=sys.stderr)
            return report
        return _send_documents(args, send)
    if not args.output:
        raise UsageError("Give -o DIR for the letters, or --send to email them to the directors.")
    if not args.directorate:
        paths = write_letters(engine, args.round, args.output, args.format, actor=_reader(engine, args))
        print(f"Wrote {len(paths)} letters to {args.output}.")
        return EXIT_OK
    data = letter_data(engine, args.round, args.directorate, actor=_reader(engine, args))
    path = Path(args.output) / letter_file_name(data.directorate, data.round, args.format)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render_letter(data, args.format))
    except OSError as exc:
        raise KimError(f"Cannot write {path}: {exc.strerror}. Check you can write to the folder.") from None
    print(f"Wrote {path}")
    return EXIT_OK


def cmd_boardpack(engine, args) -> int:
    from kim_metrics.services.documents import write_boardpack
    if args.send:
        from kim_metrics.services.mailouts import send_boardpack
        return _send_documents(args, lambda transport: send_boardpack(
            engine, args.round, args.send, actor=_reader(engine, args), transport=transport,
            dry_run=args.dry_run))
    if not args.output:
        raise UsageError("Give -o FILE.pdf for the board pack, or --send EMAIL to email it.")
    path = write_boardpack(engine, args.round, args.output, actor=_reader(engine, args))
    print(f"Wrote {path}")
    return EXIT_OK


COMMANDS = {"init": cmd_init, "demo": cmd_demo, "serve": cmd_serve, "criteria": cmd_criteria, "org": cmd_org,
            "template": cmd_template, "ingest": cmd_ingest, "league": cmd_league,
            "rounds": cmd_rounds, "audit": cmd_audit, "review": cmd_review, "roles": cmd_roles,
            "letters": cmd_letters, "boardpack": cmd_boardpack, "rebuild": cmd_rebuild, "backup": cmd_backup,
            "restore": cmd_restore}


def _stdout_to_devnull() -> None:
    """Send what is left of standard output nowhere, so Python's own flush at exit does not
    fail again on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def run() -> None:
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()
    sys.exit(code)
