"""Restore checks everything first: a tampered backup is refused naming the member and line,
before anything is written, in bounded memory; a restore that goes ahead is audited."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from kim_metrics import cli
from kim_metrics.domain.errors import KimError
from kim_metrics.services import league as league_service
from kim_metrics.storage.backup import MANIFEST, MAX_LINE_BYTES, RESTORED, backup, restore
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.models import AuditRecord
from kim_metrics.storage.schema import ensure_schema
from tests.support.badfiles import database_dump
from tests.support.hostile_demo import ROUND, build_named_db

pytestmark = pytest.mark.xdist_group("backup")
PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def good_backup(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("source")
    engine = build_named_db(folder, ["Policy", "Finance"])
    path = folder / "kim.backup"
    backup(engine, path)
    engine.dispose()
    return path


@pytest.fixture
def target(tmp_path) -> Engine:
    """A database holding a department of its own, which a refused restore must leave alone."""
    folder = tmp_path / "target"
    folder.mkdir()
    engine = build_named_db(folder, ["Estates"])
    yield engine
    engine.dispose()


def _rewrite(source: Path, target: Path, member: str, change: Callable[[list[bytes]], list[bytes]]) -> Path:
    """A copy of ``source`` with one member's lines changed."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == member:
                data = b"".join(change(data.splitlines(keepends=True)))
            dst.writestr(item.filename, data)
    return target


def _first_row(field: str, value: object) -> Callable[[list[bytes]], list[bytes]]:
    def change(lines: list[bytes]) -> list[bytes]:
        record = json.loads(lines[0])
        record[field] = value
        return [json.dumps(record).encode() + b"\n", *lines[1:]]
    return change


def _replace_line(number: int, text: bytes) -> Callable[[list[bytes]], list[bytes]]:
    def change(lines: list[bytes]) -> list[bytes]:
        return [*lines[:number - 1], text + b"\n", *lines[number:]]
    return change


def _manifest(change: Callable[[dict], dict]) -> Callable[[list[bytes]], list[bytes]]:
    def rewrite(lines: list[bytes]) -> list[bytes]:
        return [json.dumps(change(json.loads(b"".join(lines)))).encode()]
    return rewrite


TAMPERED = {
    "a line []": ("tables/score.jsonl", _replace_line(2, b"[]"), "tables/score.jsonl, line 2"),
    "a line null": ("tables/team.jsonl", _replace_line(1, b"null"), "tables/team.jsonl, line 1"),
    "a line of broken JSON": ("tables/round.jsonl", _replace_line(1, b'{"id": 1,'), "tables/round.jsonl, line 1"),
    "tables not a list": (MANIFEST, _manifest(lambda m: {**m, "tables": "everything"}), "tables are not a list"),
    "tables a list of strings": (MANIFEST, _manifest(lambda m: {**m, "tables": ["score"]}), "tables are not a list"),
    "a non-numeric score": ("tables/score.jsonl", _first_row("claimed", "high"), "'claimed' must be a number"),
    "an infinite score": ("tables/score.jsonl", _first_row("claimed", 1e999), "'claimed' must be a number"),
    "a boolean id": ("tables/team.jsonl", _first_row("id", True), "'id' must be a whole number"),
    "an unknown column": ("tables/team.jsonl", _first_row("admin", True), "unknown: admin"),
    "a missing column": ("tables/team.jsonl",
                         lambda lines: [json.dumps({k: v for k, v in json.loads(lines[0]).items()
                                                    if k != "name"}).encode() + b"\n", *lines[1:]],
                         "missing: name"),
    "a name too long for the column": ("tables/directorate.jsonl", _first_row("name", "D" * 201),
                                       "the column holds 200"),
    "invalid criteria TOML": ("tables/criteria_version.jsonl", _first_row("toml", "[rag\nlevels = "),
                              "not valid TOML"),
    "criteria that do not check": ("tables/criteria_version.jsonl",
                                   _first_row("toml", '[[criteria]]\nid = "x"\nweight = -1\n'),
                                   "tables/criteria_version.jsonl, line 1"),
    "a round labelled 'not a round'": ("tables/round.jsonl", _first_row("label", "not a round"),
                                       "is not a round label"),
    "an unknown review status": ("tables/score.jsonl", _first_row("review_status", "approved"),
                                 "not a review status"),
    "a role nobody has": ("tables/role_grant.jsonl", lambda lines: [
        json.dumps({"id": 1, "email": "x@dept.gov.uk", "role": "superuser"}).encode() + b"\n"],
        "not a role"),
    "a bad date": ("tables/round.jsonl", _first_row("start_date", "the first of May"), "'start_date'"),
    "bytes that are not base64": ("tables/round_result.jsonl", _first_row("data", "%%%"), "'data'"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_backup_is_refused_before_anything_is_written(good_backup, target, tmp_path, case):
    member, change, says = TAMPERED[case]
    if member == "tables/role_grant.jsonl":
        # The source has no role grants; the manifest must count the planted one.
        grant = _rewrite(good_backup, tmp_path / "granted.backup", member, change)
        tampered = _rewrite(grant, tmp_path / "tampered.backup", MANIFEST, _manifest(lambda m: {
            **m, "tables": [{**t, "rows": 1} if t["name"] == "role_grant" else t for t in m["tables"]]}))
    else:
        tampered = _rewrite(good_backup, tmp_path / "tampered.backup", member, change)
    before = database_dump(target)
    with pytest.raises(KimError) as err:
        restore(target, tampered, force=True)
    assert says in str(err.value)
    assert "tampered.backup" in str(err.value)
    assert database_dump(target) == before


def test_the_command_line_refuses_a_tampered_backup_without_a_traceback(good_backup, target, tmp_path, capsys):
    tampered = _rewrite(good_backup, tmp_path / "tampered.backup", "tables/score.jsonl", _replace_line(1, b"null"))
    url = target.url.render_as_string(hide_password=False)
    before = database_dump(target)
    assert cli.main(["--db", url, "restore", "--force", str(tampered)]) == 1
    err = capsys.readouterr().err
    assert "tables/score.jsonl, line 1" in err and "Traceback" not in err
    assert database_dump(target) == before


_CHILD = """
import json, re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from kim_metrics.domain.errors import KimError
from kim_metrics.storage.backup import restore
from kim_metrics.storage.engine import make_engine
outcome = None
try:
    restore(make_engine(sys.argv[1]), sys.argv[2], force=True)
except KimError as exc:
    outcome = str(exc)
with open("/proc/self/status") as status:
    peak_kb = int(re.search(r"VmHWM:\\s*(\\d+) kB", status.read()).group(1))
print(json.dumps({"refused": outcome, "peak_mb": peak_kb / 1024}))
"""


def test_a_600_mb_line_is_refused_in_bounded_memory(good_backup, target, tmp_path):
    huge = tmp_path / "huge.backup"
    chunk = b"x" * (1 << 20)
    with zipfile.ZipFile(good_backup) as src, zipfile.ZipFile(huge, "w", zipfile.ZIP_DEFLATED,
                                                                compresslevel=1) as dst:
        for item in src.infolist():
            if item.filename == "tables/team.jsonl":
                with dst.open(item.filename, "w", force_zip64=True) as out:
                    out.write(b'{"id": 1, "name": "')
                    for _ in range(600):
                        out.write(chunk)
                    out.write(b'"}\n')
            else:
                dst.writestr(item.filename, src.read(item))
    assert MAX_LINE_BYTES < 600 << 20
    url = target.url.render_as_string(hide_password=False)
    before = database_dump(target)
    done = subprocess.run([sys.executable, "-c", _CHILD, url, str(huge)], cwd=PROJECT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["refused"] and "tables/team.jsonl, line 1" in report["refused"]
    assert "longer than" in report["refused"]
    assert report["peak_mb"] < 500, report
    assert database_dump(target) == before


def test_a_restore_is_recorded_in_the_audit_trail(good_backup, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    ensure_schema(engine)
    summary = restore(engine, good_backup, actor="kim.lead@dept.gov.uk")
    with engine.connect() as conn:
        last = conn.execute(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).one()
    assert last.action == RESTORED and last.actor == "kim.lead@dept.gov.uk"
    assert last.target == good_backup.name
    assert json.loads(last.after)["rows"]["score"] == summary.rows["score"]
    # What was restored reads: the league of the round it holds.
    assert len(league_service.league(engine, ROUND, "team").table) == 2
    engine.dispose()
