"""The command line: commands, exit codes 0 / 1 / 2, errors on stderr, never a traceback."""

import json
import subprocess
import sys

import pytest

from kim_metrics.cli import main
from tests.support.returns import FULL_MARKS, NOTHING, REALDATA, long_rows, write_csv, write_xlsx

ORG_HEADERS = ["Group", "Directorate", "Team", "Director", "Information managers"]
ORG_ROWS = [["G1", "Policy", "Tax Policy", "pat.lee@dept.gov.uk", "im.one@dept.gov.uk"],
            ["G2", "Corporate", "Estates", "sam.roe@dept.gov.uk", "im.two@dept.gov.uk; im.x@dept.gov.uk"],
            ["G2", "Digital", "Digital Services", "ali.khan@dept.gov.uk", ""]]


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'kim.db'}"
    org = write_xlsx(tmp_path / "org.xlsx", ORG_ROWS, ORG_HEADERS)
    assert main(["--db", url, "org", "load", str(org)]) == 0
    return url


def test_ingest_dry_run_saves_nothing_then_ingest_and_league_json(db, tmp_path, capsys):
    path = write_csv(tmp_path / "r.csv", long_rows({"Tax Policy": FULL_MARKS, "Estates": NOTHING}))
    assert main(["ingest", str(path), "--round", "2026-Q3", "--dry-run", "--db", db]) == 0
    out = capsys.readouterr()
    assert "Tax Policy" in out.out and "nothing was saved" in out.err
    assert main(["league", "--db", db]) == 1       # no rounds yet: the dry run saved nothing
    assert "no rounds" in capsys.readouterr().err
    assert main(["ingest", str(path), "--round", "2026-Q3", "--db", db]) == 0
    assert "Saved return #1" in capsys.readouterr().out
    assert main(["league", "--format", "json", "--db", db]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in records] == ["Tax Policy", "Estates", "Digital Services"]
    assert records[0] | {"criteria": None} == records[0] | {
        "rank": 1, "score": 100.0, "rag": "Green", "directorate": "Policy", "group": "G1",
        "criteria": None}
    assert records[2]["rag"] == "No return" and records[2]["rank"] is None
    assert records[0]["criteria"]["training"] == {"score": 100.0, "rag": "Green", "evidenced": True}


def test_invalid_return_exits_1_with_report_on_stderr(db, tmp_path, capsys):
    rows = long_rows({"Tax Policy": FULL_MARKS})
    rows[2][4] = "very good"
    path = write_csv(tmp_path / "bad.csv", rows)
    assert main(["ingest", str(path), "--round", "2026-Q3", "--db", db]) == 1
    err = capsys.readouterr().err
    assert "bad.csv, row 4, column 'Score': 'very good' is not a score" in err
    assert "nothing was saved" in err


def test_league_levels_and_formats(db, tmp_path, capsys):
    path = write_csv(tmp_path / "r.csv", long_rows({"Tax Policy": FULL_MARKS, "Estates": NOTHING}))
    main(["ingest", str(path), "--round", "2026-Q3", "--db", db])
    capsys.readouterr()
    assert main(["league", "--level", "directorate", "--format", "csv", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Rank,Movement,Name")
    assert lines[1].startswith("1,new,Policy")
    out = tmp_path / "league.xlsx"
    assert main(["league", "--format", "xlsx", "-o", str(out), "--db", db]) == 0
    assert out.stat().st_size > 0
    assert main(["league", "--format", "xlsx", "--db", db]) == 2     # Excel needs -o
    assert main(["league", "--level", "group", "--db", db]) == 0


def test_criteria_show_and_load(db, tmp_path, capsys):
    assert main(["criteria", "show", "--format", "json", "--db", db]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["criterion"]) == 7
    bad = tmp_path / "c.toml"
    bad.write_text('[rag]\nlevels = ["Red", "Green"]\nteam = { Green = 70 }\nshade = 1\n')
    assert main(["criteria", "load", str(bad), "--db", db]) == 1
    err = capsys.readouterr().err
    assert "Unknown key 'shade'" in err and "No criteria given" in err


def test_template_round_trips(db, tmp_path, capsys):
    out = tmp_path / "t.xlsx"
    assert main(["template", "--round", "2026-Q3", "--directorate", "policy", "-o", str(out), "--db", db]) == 0
    from openpyxl import load_workbook
    wb = load_workbook(out)
    ws = wb["Return"]
    for row in ws.iter_rows(min_row=2):
        crit = row[3].value
        row[4].value = {"Staff KIM training completed": 80,
                        "Information manager nominated and active in the network": "Yes"}.get(crit, "Mostly in place")
        row[5].value = "Evidence on the intranet"
    wb.save(out)
    assert main(["ingest", str(out), "--round", "2026-Q3", "--db", db]) == 0
    assert main(["template", "--round", "2026-Q3", "--directorate", "Nowhere", "-o", str(out), "--db", db]) == 1


@pytest.mark.parametrize("args", [["league", "--level", "planet"], ["nonsense"], ["ingest", "x.csv"]])
def test_usage_errors_exit_2(db, args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--db", db])
    assert exit_.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "needle"), [
    (["ingest", "missing.csv", "--round", "2026-Q3"], "no such file"),
    (["ingest", "missing.csv", "--round", "Q3"], "not a round label"),
    (["league", "--round", "1999-Q1"], "There is no round 1999-Q1"),
])
def test_invalid_input_exits_1(db, args, needle, capsys):
    assert main([*args, "--db", db]) == 1
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_module_entry_point_no_traceback(tmp_path):
    url = f"sqlite:///{tmp_path / 'kim.db'}"
    (tmp_path / "junk.xlsx").write_bytes(b"\x00\x01garbage" * 50)
    proc = subprocess.run([sys.executable, "-m", "kim_metrics", "--db", url, "ingest",
                           str(tmp_path / "junk.xlsx"), "--round", "2026-Q3"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "not a spreadsheet" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(not (REALDATA / "nhs-dspt-trusts-2023-11.csv").exists(), reason="shared/realdata absent")
def test_real_nhs_status_file_through_a_column_mapping(tmp_path, capsys):
    """NHS trusts' DSPT status as a four-level criterion, loaded with the file's own headers."""
    criteria = tmp_path / "dspt.toml"
    criteria.write_text('''
[rag]
levels = ["Red", "Amber", "Green"]
team = { Green = 60, Amber = 30 }

[[criterion]]
id = "dspt"
name = "Data Security and Protection Toolkit status"
scale = "level"
levels = ["Not Published", "Approaching Standards", "Standards Met", "Standards Exceeded"]
rag = { Green = 2, Amber = 1 }
guidance = ["Publish the assessment", "Meet the standards", "Exceed the standards"]
''')
    url = f"sqlite:///{tmp_path / 'kim.db'}"
    assert main(["--db", url, "criteria", "load", str(criteria)]) == 0
    import pandas as pd
    source = pd.read_csv(REALDATA / "nhs-dspt-trusts-2023-11.csv")
    capsys.readouterr()
    # The file's own headers: each trust is a team, its integrated care board the directorate.
    args = ["--db", url, "ingest", str(REALDATA / "nhs-dspt-trusts-2023-11.csv"), "--round", "2023-11",
            "--map", "Team=Organisation Name", "--map", "dspt=Status",
            "--map", "Directorate=Integrated Care Board (where available, from ODS)",
            "--map", "Evidence=Date Of Publication"]
    code = main(args + ["--dry-run"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert main(args) == 0
    capsys.readouterr()
    assert main(["--db", url, "league", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == len(source)
    assert {r["criteria"]["dspt"]["rag"] for r in records} <= {"Red", "Amber", "Green"}
