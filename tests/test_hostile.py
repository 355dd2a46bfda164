"""Hostile and broken uploads: each one gets a plain message, never a traceback, and a file that
is refused leaves the database exactly as it was.

The corpus is built by ``tests/support/badfiles.py`` into a temporary folder. Every file goes through
``return_service.check_return`` (and, when accepted, ``save_preview``) on every backend, and through
``python -m kim_metrics ingest`` in a separate process: forked from the test and run with
``runpy`` exactly as ``-m`` runs it, so fifty-odd runs do not each pay for a fresh interpreter;
a sample also goes through a fresh interpreter.
"""

from __future__ import annotations

import multiprocessing
import os
import runpy
import shutil
import sqlite3
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from kim_metrics.services import admin as admin_service
from kim_metrics.domain.access import local_admin
from kim_metrics.services import returns as return_service
from kim_metrics.services import scores as score_service
from kim_metrics.reading import extent, limits, text_rules
from kim_metrics.storage.models import Score, Team
from kim_metrics.storage.engine import make_engine
from kim_metrics.domain.errors import KimError, ReadError, ValidationError
from kim_metrics.reading.reader import read_workbook
from kim_metrics.storage.schema import ensure_schema
from tests.support import badfiles
from tests.support.badfiles import CORPUS, ORG, ROUND, UPLOADER, BadFile, database_dump
from tests.support.databases import backends, postgres_engine
from tests.support.returns import FULL_MARKS, long_rows, write_csv

pytestmark = pytest.mark.xdist_group("hostile")
PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return badfiles.build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module", params=backends())
def org_engine(request, tmp_path_factory) -> Iterator[Engine]:
    """One database per backend with the corpus's organisation, shared by every corpus file."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'kim.db'}")
        ensure_schema(engine)
        admin_service.save_organisation(engine, ORG)
        admin_service.open_round(engine, ROUND, actor=local_admin())
        yield engine
        engine.dispose()
        return
    for engine in postgres_engine():
        ensure_schema(engine)
        admin_service.save_organisation(engine, ORG)
        admin_service.open_round(engine, ROUND, actor=local_admin())
        yield engine


def test_the_corpus_has_every_kind_of_bad_file() -> None:
    refused = [f for f in CORPUS.values() if not f.accepted]
    accepted = [f for f in CORPUS.values() if f.accepted]
    assert len(CORPUS) >= 30
    assert len(refused) >= 30 and len(accepted) >= 10
    assert all(f.says for f in refused), "every refusal names the words its message must hold"


def _problems(exc: KimError):
    if isinstance(exc, ValidationError):
        return exc.problems
    return [exc.problem]


def _assert_refusal(entry: BadFile, exc: KimError) -> None:
    # What the refusal must say; str(exc) is the message itself, so it never holds a traceback.
    message = str(exc)
    for words in entry.says:
        assert words in message, f"{entry.name}: {words!r} not in {message!r}"
    problems = _problems(exc)
    assert all(p.file == entry.name for p in problems)
    if entry.where:
        sheet, row, column = entry.where
        assert any((sheet is None or p.sheet == sheet) and (row is None or p.row == row)
                   and (column is None or p.column == column) for p in problems), \
            f"{entry.name}: no problem at {entry.where}: {[p.where() for p in problems]}"


def _stored_text(engine: Engine, return_id: int) -> dict[tuple[str, str], dict[str, str]]:
    with engine.connect() as conn:
        found = conn.execute(select(Team.name, Score.criterion, Score.evidence, Score.comment,
                                    Score.evidence_link, Score.claimed_raw)
                             .join(Team, Score.team_id == Team.id).where(Score.return_id == return_id)).all()
    return {(r.name, r.criterion): {"evidence": r.evidence, "comment": r.comment,
                                    "evidence_link": r.evidence_link, "claimed_raw": r.claimed_raw}
            for r in found}


@pytest.mark.parametrize("name", list(CORPUS))
def test_corpus_file_through_check_return(org_engine: Engine, corpus: dict[str, Path], name: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    entry = CORPUS[name]
    for key, value in entry.env.items():
        monkeypatch.setenv(key, value)
    data = corpus[name].read_bytes()
    before = database_dump(org_engine)
    try:
        preview = return_service.check_return(org_engine, data, name, ROUND)
    except (ReadError, ValidationError) as exc:
        assert not entry.accepted, f"{name} should be accepted but: {exc}"
        _assert_refusal(entry, exc)
        assert database_dump(org_engine) == before
        return
    assert entry.accepted, f"{name} should be refused with {entry.says}"
    saved = return_service.save_preview(org_engine, preview, uploader=UPLOADER)
    assert saved.scores == 14 and saved.teams == 2
    stored = _stored_text(org_engine, saved.return_id)
    for key, fields in entry.stored.items():
        for field, want in fields.items():
            assert stored[key][field] == want, f"{name}: {key} {field} not stored verbatim"
    if entry.fmt:
        assert read_workbook(data, file_name=name).format == entry.fmt


# --- the command line, in separate processes ---------------------------------------------------

def _cli_child(argv: list[str], env: dict[str, str], log: str) -> None:
    """Run `python -m kim_metrics ARGV` in this (forked) process, its output going to ``log``."""
    code = 99
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
        os.environ.update(env)
        sys.argv = ["kim", *argv]
        try:
            runpy.run_module("kim_metrics", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # what the interpreter would print before dying
            traceback.print_exc()
            code = 98
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _run_cli_forked(jobs: list[tuple[list[str], dict[str, str], Path]], parallel: int = 4) -> list[int]:
    """Exit codes of the jobs, each run in its own forked process (this process's imports reused)."""
    context = multiprocessing.get_context("fork")
    codes: list[int] = []
    for start in range(0, len(jobs), parallel):
        batch = [context.Process(target=_cli_child, args=(argv, env, str(log)))
                 for argv, env, log in jobs[start:start + parallel]]
        for process in batch:
            process.start()
        for process in batch:
            process.join(120)
            if process.is_alive():
                process.kill()
                process.join()
            codes.append(process.exitcode)
    return codes


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """A SQLite file holding the organisation, copied afresh for every command-line run."""
    path = tmp_path_factory.mktemp("base") / "kim.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    admin_service.save_organisation(engine, ORG)
    admin_service.open_round(engine, ROUND, actor=local_admin())
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _iterdump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def test_corpus_on_the_command_line(corpus: dict[str, Path], base_db: Path, tmp_path: Path) -> None:
    jobs, databases = [], {}
    for name, path in corpus.items():
        db = tmp_path / f"{name}.db"
        shutil.copy(base_db, db)
        databases[name] = (db, _iterdump(db))
        argv = ["--db", f"sqlite:///{db}", "ingest", str(path), "--round", ROUND, "--as", UPLOADER]
        jobs.append((argv, CORPUS[name].env, tmp_path / f"{name}.log"))
    codes = _run_cli_forked(jobs)
    failures = []
    for (name, entry), code in zip(CORPUS.items(), codes):
        output = (tmp_path / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        db, before = databases[name]
        if "Traceback" in output or code not in (0, 1):
            failures.append(f"{name}: exit {code}\n{output}")
        elif entry.accepted and (code != 0 or "Saved return" not in output):
            failures.append(f"{name}: should be saved, exit {code}: {output}")
        elif not entry.accepted and (code != 1 or entry.says[0] not in output):
            failures.append(f"{name}: should be refused with {entry.says[0]!r}, exit {code}: {output}")
        elif not entry.accepted and _iterdump(db) != before:
            failures.append(f"{name}: refused, but the database changed")
    assert not failures, "\n\n".join(failures)


# A few through the real interpreter, as a person would type them.
REAL_SUBPROCESS = ["zip-bomb.xlsx", "billion-laughs.xlsx", "far-cell.xlsx", "password.xlsx",
                   "unknown-team.xlsx", "emoji-and-right-to-left.xlsx"]


def test_a_sample_through_python_dash_m(corpus: dict[str, Path], base_db: Path, tmp_path: Path) -> None:
    running = {}
    for name in REAL_SUBPROCESS:
        db = tmp_path / f"{name}.db"
        shutil.copy(base_db, db)
        running[name] = (db, _iterdump(db), subprocess.Popen(
            [sys.executable, "-m", "kim_metrics", "--db", f"sqlite:///{db}", "ingest", str(corpus[name]),
             "--round", ROUND, "--as", UPLOADER], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for name, (db, before, process) in running.items():
        out, err = process.communicate(timeout=120)
        assert "Traceback" not in err, err
        if CORPUS[name].accepted:
            assert process.returncode == 0 and "Saved return" in out, err
        else:
            assert process.returncode == 1 and CORPUS[name].says[0] in err, err
            assert _iterdump(db) == before


# --- the rules behind the corpus ----------------------------------------------------------------

def test_limits_come_from_a_table_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = limits.current_limits()
    assert defaults.upload_mb == 20 and defaults.rows_per_sheet == 200_000
    assert {limit.env for limit in limits.LIMITS} >= {"KIM_MAX_UPLOAD_MB", "KIM_MAX_ROWS_PER_SHEET"}
    monkeypatch.setenv("KIM_MAX_UPLOAD_MB", "0.001")
    with pytest.raises(ReadError, match=r"uploads are limited to 0.001 MB"):
        read_workbook(b"Team,Score\n" + b"Web,3\n" * 300, file_name="r.csv")
    monkeypatch.setenv("KIM_MAX_UPLOAD_MB", "lots")
    with pytest.raises(KimError, match=r"KIM_MAX_UPLOAD_MB='lots' is not a positive number"):
        read_workbook(b"Team,Score\nWeb,3\n", file_name="r.csv")


def test_name_limit_matches_the_database_columns() -> None:
    assert Team.__table__.c.name.type.length == limits.NAME_MAX_CHARS
    from kim_metrics.storage.models import Directorate
    assert Directorate.__table__.c.name.type.length == limits.NAME_MAX_CHARS


def test_control_characters_are_removed_the_same_way_everywhere() -> None:
    assert text_rules.clean_text("a\x00b\x01c\x1fd") == "abcd"
    assert text_rules.clean_text("line\x0bbreak\x0cpage") == "line\nbreak\npage"
    assert text_rules.clean_text("tab\tnew\nline\rend") == "tab\tnew\nline\rend"
    assert text_rules.clean_text("lone \ud800 surrogate \ufffe") == "lone  surrogate "
    text = "تم ✅ 👩🏽‍💻 \u202e <b>&amp;</b> café"
    assert text_rules.clean_text(text) is text


@pytest.mark.parametrize("text", ["", " ", "\u200b", "\u2060\ufeff", "\u00a0\u2007\u202f\u3000",
                                  "\u00ad\u034f\u180e\u200c\u200d\u200e\u202a\u2066\ufe0f",
                                  "\u3164\uffa0\u115f\u2800", "\U000e0001\U000e0041", "\t\n\r"])
def test_text_of_invisible_characters_only_is_blank(text: str) -> None:
    assert text_rules.is_invisible(text)
    assert text_rules.cell_text(text) == ""


@pytest.mark.parametrize("text", ["a", ".", "-", "\u00b7", "👍", "\u200bx", "\u202e1", "0", "字\u3000字"])
def test_text_with_anything_visible_is_kept(text: str) -> None:
    assert not text_rules.is_invisible(text)
    assert text_rules.cell_text(f" {text} ") == text


def test_invisible_evidence_is_flagged_in_a_saved_return(engine: Engine) -> None:
    # Through the whole path: checked, saved, then scored from the database as the league is.
    admin_service.save_organisation(engine, ORG)
    admin_service.open_round(engine, ROUND, actor=local_admin())
    data = CORPUS["invisible-evidence.xlsx"].build()
    preview = return_service.check_return(engine, data, "invisible-evidence.xlsx", ROUND)
    flagged = preview.scores.set_index(["team", "criterion"])
    assert flagged.loc[("Web Team", "naming"), "unevidenced"]
    return_service.save_preview(engine, preview, uploader=UPLOADER)
    scores = score_service.scored_round(engine, ROUND, actor=local_admin()).scores.set_index(["team", "criterion"])
    naming = scores.loc[("Web Team", "naming")]
    assert naming["evidence"] == "" and naming["evidence_link"] == ""
    assert naming["claimed"] == 2 and naming["counted"] == 0 and bool(naming["unevidenced"])
    assert naming["rag"] == scores.loc[("Web Team", "asset_register"), "rag"]   # scored 0 there
    assert not scores.loc[("Web Team", "corporate_system"), "unevidenced"]


def test_a_stray_control_character_does_not_make_a_csv_binary() -> None:
    assert not text_rules.looks_binary("Team,Evidence\n" + "Web,ok\n" * 20 + "Web,o\x01k\n")
    assert not text_rules.looks_binary("Team,Evidence\nWeb,o\x01k\n")
    assert text_rules.looks_binary(bytes(range(256)).decode("latin-1") * 4)


def test_long_names_are_refused_before_postgres_would(engine: Engine, tmp_path: Path) -> None:
    # No organisation loaded: the return's teams would be created, and the name column is 200 wide.
    path = write_csv(tmp_path / "r.csv", long_rows({"T" * 250: FULL_MARKS}, directorate="D" * 201))
    with pytest.raises(ValidationError) as caught:
        return_service.check_return(engine, path.read_bytes(), "r.csv", ROUND)
    columns = {p.column for p in caught.value.problems}
    assert {"Team", "Directorate"} <= columns
    assert "names may have at most 200" in str(caught.value)


def test_text_with_control_characters_saves_on_every_backend(engine: Engine) -> None:
    # PostgreSQL refuses NUL in text outright; the reader's rule means it never gets one.
    admin_service.save_organisation(engine, ORG)
    admin_service.open_round(engine, ROUND, actor=local_admin())
    data = CORPUS["control-characters.xlsx"].build()
    saved = return_service.save_preview(engine, return_service.check_return(engine, data, "c.xlsx", ROUND), uploader=UPLOADER)
    assert _stored_text(engine, saved.return_id)[("Data Office", "naming")]["evidence"] == badfiles._CTRL_CLEAN


def test_file_name_with_control_characters_is_cleaned(engine: Engine) -> None:
    admin_service.save_organisation(engine, ORG)
    admin_service.open_round(engine, ROUND, actor=local_admin())
    saved = return_service.save_preview(engine, return_service.check_return(engine, badfiles.csv_bytes(), "ret\x00urn\x07.csv", ROUND),
                             uploader=UPLOADER)
    assert return_service.returns(engine, actor=local_admin())["file_name"].tolist() == ["return.csv"]
    assert saved.scores == 14


@pytest.mark.parametrize("cells", [
    # Rows and cells without coordinates: calamine counts them, and so does the scan.
    b"<row>" + b"<c><v>1</v></c>" * 3 + b"</row>" * 1 + b'<row r="250000"><c><v>2</v></c></row>',
    b'<row r="1"><c r="A1"><v>1</v></c><c r="A250000"><v>2</v></c></row>',
    b'<x:row r="250000"><x:c r="B250000"><x:v>1</x:v></x:c></x:row>',
])
def test_far_coordinates_are_found_however_they_are_written(cells: bytes) -> None:
    data = badfiles.with_sheet(cells)
    with pytest.raises(ReadError, match="250,000 rows; a sheet may have at most 200,000"):
        read_workbook(data, file_name="far.xlsx")


def test_styled_empty_cells_far_away_do_not_count() -> None:
    # Formatting a cell far down does not give it a value; calamine ignores it and so must we.
    data = badfiles.with_sheet(b'<row r="1"><c r="A1" t="inlineStr"><is><t>Team</t></is></c></row>'
                               b'<row r="900000"><c r="XFD900000" s="1"/></row>')
    assert read_workbook(data, file_name="ok.xlsx").sheets[0].rows == [["Team"]]


@pytest.mark.parametrize("cells", [
    b'<c r="A1"><v>1</v></c><c r="Z250000"><v>2</v></c>',           # too many rows
    b'<c r="A1"><v>1</v></c><c r="AB0390000" s="1"><v>2</v></c>',     # too many cells (leading zeros)
    b'<c r="a1"><v>1</v></c><c r="XFD700"><v>2</v></c>',              # too wide for its rows
    b'<c r="A1"><v>1</v></c><c r="XFD610"><v>2</v></c>',              # just within
    b'<c r="A1"><v>1</v></c><c r="XFD900000" s="1" /><c r="B199999" t="s"><v>2</v></c>',
    b'<c r="A1"><v>1</v></c><c r="C199999" a="/"><v>2</v></c><c r="Q200001"/>',
])
def test_referenced_cells_are_measured_as_the_walk_measures_them(cells: bytes) -> None:
    # A sheet whose every cell carries its reference is measured by regex scans; the limits
    # and messages are those of the tag-by-tag walk.
    part = b"<sheetData><row>" + cells + b"</row></sheetData>"
    in_force = limits.current_limits()
    assert extent.xlsx_sheet_extent(part, "Return", "f.xlsx", in_force) == extent._walked_extent(part)


def test_utf16_xml_cannot_hide_a_doctype() -> None:
    sheet = badfiles.sheet_xml(b'<row r="1"><c r="A1"><v>1</v></c></row>', badfiles._LAUGHS)
    utf16 = sheet.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    data = badfiles.rezip(badfiles.xlsx(), {"xl/worksheets/sheet1.xml": utf16})
    with pytest.raises(ReadError, match="declares XML entities"):
        read_workbook(data, file_name="sly.xlsx")


def test_a_large_honest_workbook_is_within_every_limit(tmp_path: Path) -> None:
    # A whole directorate-sized return, wide enough (column AB) and long enough to take the
    # exact scan; a limit tuned for hostile files must not catch it.
    body = [row + ["", "", "", f"note {i}"] for i, row in
            enumerate(badfiles.rows({f"Team {i}": FULL_MARKS for i in range(1_500)}))]
    book = read_workbook(badfiles.xlsx(body, headers=[*badfiles.RETURN_HEADERS, "", "", "", "Extra"]),
                         file_name="big.xlsx")
    assert len(book.sheets[0].rows) == 10_501
    frame = pd.DataFrame(book.sheets[0].rows[1:])
    assert frame[2].nunique() == 1_500 and frame[11].iloc[-1] == "note 10499"


def test_xml_is_only_ever_parsed_through_defusedxml() -> None:
    # Calamine parses workbook XML in Rust; anything the project parses in Python must go
    # through defusedxml, which refuses entity declarations instead of expanding them.
    import ast
    unsafe = ("xml.etree", "xml.dom", "xml.sax", "xml.parsers", "lxml", "minidom", "pyexpat")
    offenders = []
    for path in (PROJECT / "kim_metrics").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(unsafe)]
    assert offenders == []


def test_a_zip_declaring_too_many_parts_is_refused_before_it_is_listed() -> None:
    # The end-of-directory record alone says 60,000 parts; nothing else need be read.
    data = badfiles.xlsx()
    end = data.rfind(b"PK\x05\x06")
    forged = data[:end + 8] + (60_000).to_bytes(2, "little") * 2 + data[end + 12:]
    with pytest.raises(ReadError, match="holds 60,000 parts"):
        read_workbook(forged, file_name="parts.xlsx")
