"""Backup and restore: the demo department goes SQLite → PostgreSQL → SQLite with nothing lost,
and a restore is all or nothing."""

from __future__ import annotations

import json
import os
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from kim_metrics.services import admin as admin_service
from kim_metrics.services import common
from kim_metrics.services import league as league_service
from kim_metrics.services import returns as return_service
from kim_metrics import cli
from kim_metrics.storage.backup import MANIFEST, RESTORED, backup, restore, tables
from kim_metrics.storage.models import Action, Base, RoleGrant
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.messages import claim
from kim_metrics.services.demo import load_demo
from kim_metrics.domain.errors import KimError
from kim_metrics.reports.exports import league_json
from kim_metrics.storage.schema import ensure_schema
from tests.support.badfiles import database_dump
from tests.support.databases import POSTGRES_ENV, postgres_engine

pytestmark = pytest.mark.xdist_group("backup")


def _sqlite(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    return engine


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Engine:
    """The demo department, with a role grant, a message sent and an action adopted, so every
    table has rows."""
    engine = _sqlite(tmp_path_factory.mktemp("demo") / "demo.db")
    load_demo(engine)
    with engine.begin() as conn:
        conn.execute(insert(RoleGrant).values(email="kim.team@dept.gov.uk", role="admin"))
        claim(conn, recipient="im@dept.gov.uk", subject="Reminder", kind="reminder", round_label="2026-Q3",
              reason="reminder:2026-Q3:team:1:due-soon", transport="smtp")
        conn.execute(insert(Action).values(
            team_id=1, criterion="naming", round_id=1, target_value=2.0, target_label="Mostly in place",
            target_status="Amber", owner="owner@dept.gov.uk", due_on=date(2026, 9, 30), note="",
            status="open", created_by="local-admin", created_at=datetime(2026, 7, 1, 9, 0)))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def demo_state(demo: Engine) -> tuple[dict[str, list[tuple]], dict[str, str]]:
    """Every row and every league table of the demo, worked out once."""
    return every_row(demo), leagues(demo)


def every_row(engine: Engine) -> dict[str, list[tuple]]:
    """Every table's rows but the data version, which a restore moves on past what it held,
    and the audit record of the restore itself."""
    with engine.connect() as conn:
        rows = {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in tables() if t.name != "data_version"}
    rows["audit"] = [r for r in rows["audit"] if r[3] != RESTORED]
    return rows


def test_a_restore_moves_the_data_version_past_both_databases(demo: Engine, tmp_path: Path) -> None:
    backup(demo, tmp_path / "demo.backup")
    target = make_engine(f"sqlite:///{tmp_path / 'target.db'}")
    ensure_schema(target)
    held = common.data_version(demo)
    restore(target, tmp_path / "demo.backup")
    assert common.data_version(target) == held + 1


def leagues(engine: Engine) -> dict[str, str]:
    out = {}
    for rnd in league_service.rounds(engine):
        for level in ("team", "directorate", "group"):
            result = league_service.league(engine, rnd.label, level)
            out[f"{rnd.label}/{level}"] = league_json(result.table, result.criteria, level)
    return out


def test_every_table_of_the_schema_is_backed_up(demo: Engine, tmp_path: Path) -> None:
    summary = backup(demo, tmp_path / "kim.backup")
    assert list(summary.rows) == [t.name for t in Base.metadata.sorted_tables]
    assert {"audit", "role_grant", "criteria_version", "directorate", "team", "round", "return",
            "score"} <= set(summary.rows)
    assert all(summary.rows[t] > 0 for t in summary.rows)
    with zipfile.ZipFile(tmp_path / "kim.backup") as archive:
        manifest = json.loads(archive.read(MANIFEST))
    assert manifest["schema_revision"] == summary.schema_revision != "none"
    assert {t["name"]: t["rows"] for t in manifest["tables"]} == summary.rows


@pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"set {POSTGRES_ENV} to test PostgreSQL")
def test_demo_goes_to_postgres_and_back_with_nothing_lost(demo: Engine, demo_state, tmp_path: Path) -> None:
    rows, league_before = demo_state
    backup(demo, tmp_path / "from-sqlite.backup")
    for postgres in postgres_engine():
        ensure_schema(postgres)
        restore(postgres, tmp_path / "from-sqlite.backup")
        assert every_row(postgres) == rows
        assert leagues(postgres) == league_before
        backup(postgres, tmp_path / "from-postgres.backup")
        # The id sequences were moved past the restored ids: the next return gets a new id.
        top = max(r[0] for r in rows["return"])
        preview = return_service.check_return(postgres, _one_team_return(postgres), "late.csv", "2026-Q3")
        saved = return_service.save_preview(postgres, preview, uploader="local-admin")
        assert saved.return_id == top + 1
    back = _sqlite(tmp_path / "back.db")
    restore(back, tmp_path / "from-postgres.backup")
    assert every_row(back) == rows
    assert leagues(back) == league_before


def _one_team_return(engine: Engine) -> bytes:
    team = admin_service.organisation(engine).iloc[0]
    lines = ["Group,Directorate,Team,Criterion,Score,Evidence"]
    for cid in ("naming", "corporate_system", "what_to_keep", "asset_register", "legacy_review"):
        lines.append(f"{team['group']},{team['directorate']},{team['team']},{cid},2,Checked")
    lines += [f"{team['group']},{team['directorate']},{team['team']},information_manager,Yes,Named",
              f"{team['group']},{team['directorate']},{team['team']},training,90,Records"]
    return "\n".join(lines).encode()


def test_sqlite_to_sqlite_round_trip(demo: Engine, demo_state, tmp_path: Path) -> None:
    rows, league_before = demo_state
    backup(demo, tmp_path / "kim.backup")
    copy = _sqlite(tmp_path / "copy.db")
    summary = restore(copy, tmp_path / "kim.backup")
    assert every_row(copy) == rows
    assert leagues(copy) == league_before
    assert summary.total == sum(len(v) for v in rows.values()) + 1  # and the data version row


def test_restore_refuses_a_database_with_data_unless_forced(demo: Engine, tmp_path: Path) -> None:
    backup(demo, tmp_path / "kim.backup")
    target = _sqlite(tmp_path / "target.db")
    load_demo(target, seed=7)  # a different department
    before = database_dump(target)
    with pytest.raises(KimError, match=r"already holds data \(.*team rows.*\)\. .*add --force"):
        restore(target, tmp_path / "kim.backup")
    assert database_dump(target) == before
    restore(target, tmp_path / "kim.backup", force=True)
    assert every_row(target) == every_row(demo)


def _tampered(source: Path, target: Path, *, manifest=None, drop_last_score: bool = False) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == MANIFEST and manifest:
                data = json.dumps(manifest(json.loads(data))).encode()
            if item.filename == "tables/score.jsonl" and drop_last_score:
                data = b"".join(data.splitlines(keepends=True)[:-1])
            dst.writestr(item, data)
    return target


def test_a_damaged_backup_changes_nothing_even_when_forced(demo: Engine, tmp_path: Path) -> None:
    good = tmp_path / "kim.backup"
    backup(demo, good)
    target = _sqlite(tmp_path / "target.db")
    load_demo(target, seed=7)
    before = database_dump(target)
    # score is the last table restored: everything before it was already inserted, then undone.
    short = _tampered(good, tmp_path / "short.backup", drop_last_score=True)
    with pytest.raises(KimError, match=r"lists \d+ rows for table score but holds \d+; it is damaged"):
        restore(target, short, force=True)
    assert database_dump(target) == before

    def other_revision(m: dict) -> dict:
        return {**m, "schema_revision": "0000"}
    with pytest.raises(KimError, match=r"schema revision 0000; this database is at revision"):
        restore(target, _tampered(good, tmp_path / "old.backup", manifest=other_revision), force=True)
    (tmp_path / "junk.backup").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(KimError, match="not a KIM League backup"):
        restore(target, tmp_path / "junk.backup")
    assert database_dump(target) == before


def test_backup_and_restore_on_the_command_line(demo: Engine, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    source = f"sqlite:///{demo.url.database}"
    target = f"sqlite:///{tmp_path / 'target.db'}"
    out = tmp_path / "kim.backup"
    assert cli.main(["--db", source, "backup", "-o", str(out)]) == 0
    assert "Wrote" in capsys.readouterr().out
    assert cli.main(["--db", target, "restore", str(out)]) == 0
    assert "Restored" in capsys.readouterr().out
    assert cli.main(["--db", target, "restore", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert cli.main(["--db", target, "restore", "--force", str(out)]) == 0
    assert cli.main(["--db", target, "restore", str(tmp_path / "missing.backup")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["--db", source, "backup", "-o", str(tmp_path / "no" / "such" / "folder.backup")]) == 1
    err = capsys.readouterr().err
    assert "Cannot write the backup" in err and "Traceback" not in err
    copy = make_engine(target)
    assert every_row(copy) == every_row(demo)
    copy.dispose()


def test_backup_reads_one_consistent_snapshot(demo: Engine, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # A write made while the backup is being read (here: as it starts on the first table)
    # appears in none of it, so the tables always agree with each other.
    from kim_metrics.storage import backup as backup_module
    saved_during: list[int] = []
    original = backup_module._encoder

    def write_midway(column_type):
        if not saved_during:
            with demo.begin() as conn:
                saved_during.append(conn.execute(insert(RoleGrant).values(
                    email="late@dept.gov.uk", role="executive")).inserted_primary_key[0])
        return original(column_type)
    monkeypatch.setattr(backup_module, "_encoder", write_midway)
    summary = backup(demo, tmp_path / "kim.backup")
    assert saved_during and summary.rows["role_grant"] == 1
    with demo.begin() as conn:
        conn.execute(RoleGrant.__table__.delete().where(RoleGrant.id == saved_during[0]))
