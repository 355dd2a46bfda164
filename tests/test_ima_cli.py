"""``kim ima``: the commands, their output and exit codes (0, 1 invalid input, 2 usage)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from pypdf import PdfReader

from kim_metrics.cli import main
from kim_metrics.domain.ima import CHANGES
from kim_metrics.services.demo_ima import IMA, REVIEW
from tests.support.ima import demo_rows, write_ima_xlsx

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "demo-ima.xlsx"


@pytest.fixture
def db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'kim.db'}"


@pytest.fixture
def loaded(db, capsys) -> str:
    assert main(["--db", db, "ima", "load", str(SAMPLE)]) == 0
    capsys.readouterr()
    return db


def test_load_dry_run_then_load(db, capsys):
    assert main(["--db", db, "ima", "load", str(SAMPLE), "--dry-run"]) == 0
    assert "nothing was saved" in capsys.readouterr().out
    assert main(["--db", db, "ima", "show", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--db", db, "ima", "load", str(SAMPLE)]) == 0
    assert "added IMA 2013, Review 2015; 20 ratings, 11 recommendation(s), 18 action(s)" in capsys.readouterr().out
    assert main(["--db", db, "ima", "load", str(SAMPLE)]) == 0
    assert "replaced IMA 2013, Review 2015" in capsys.readouterr().out


def test_a_bad_workbook_exits_1_with_located_problems(db, tmp_path, capsys):
    ratings, actions = demo_rows()
    ratings[0][6] = "Great"
    path = write_ima_xlsx(tmp_path / "bad.xlsx", ratings, actions)
    assert main(["--db", db, "ima", "load", str(path)]) == 1
    err = capsys.readouterr().err
    assert "bad.xlsx, sheet 'Ratings', row 2, column 'Rating': 'Great' is not a rating" in err
    assert "nothing was saved" in err
    assert main(["--db", db, "ima", "show", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_show_as_table_and_json(loaded, capsys):
    assert main(["--db", loaded, "ima", "show"]) == 0
    out = capsys.readouterr().out
    assert "Managing information as an asset" in out and "Next steps:" in out
    assert main(["--db", loaded, "ima", "show", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in shown] == [IMA, REVIEW]
    assert [a["kind"] for a in shown] == ["assessment", "progress review"]
    ratings = {r["sub_area_id"]: r["rating"] for area in shown[1]["areas"] for r in area["ratings"]}
    assert ratings["providing_guidance"] == "Good practice" and len(ratings) == 10
    assert all(area["progress"] for area in shown[1]["areas"])


def test_compare_json_has_every_sub_area_and_change(loaded, capsys):
    assert main(["--db", loaded, "ima", "compare", IMA, REVIEW, "--format", "json"]) == 0
    changes = json.loads(capsys.readouterr().out)
    assert len(changes) == 10
    assert all({"area", "sub_area", "from", "to", "change"} <= set(c) for c in changes)
    assert {c["change"] for c in changes} <= set(CHANGES)
    by = {c["sub_area"]: c for c in changes}
    assert by["Managing information as an asset"] | {} == by["Managing information as an asset"] | {
        "from": "Development area", "to": "Satisfactory", "change": "improved"}
    assert by["Recognising information risk"]["change"] == "same"
    # Backwards, the improvements read as declines.
    assert main(["--db", loaded, "ima", "compare", REVIEW, IMA, "--format", "json"]) == 0
    back = {c["sub_area"]: c["change"] for c in json.loads(capsys.readouterr().out)}
    assert back["Managing information as an asset"] == "declined"
    assert main(["--db", loaded, "ima", "compare", IMA, REVIEW]) == 0
    assert "4 improved" in capsys.readouterr().out


def test_compare_an_unknown_assessment_exits_1(loaded, capsys):
    assert main(["--db", loaded, "ima", "compare", "IMA 2031", REVIEW]) == 1
    assert "Did you mean 'IMA 2013'?" in capsys.readouterr().err


def test_actions_filtered_in_every_format(loaded, capsys, tmp_path):
    assert main(["--db", loaded, "ima", "actions", "--status", "in-progress", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown) == 6 and {a["status"] for a in shown} == {"in progress"}
    assert {"id", "recommendation", "action", "owner", "due", "status", "commentary"} <= set(shown[0])
    out = tmp_path / "plan.csv"
    assert main(["--db", loaded, "ima", "actions", "--format", "csv", "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 18 and set(rows[0]) >= {"Recommendation", "Action", "Owner", "Due date", "Status"}
    assert main(["--db", loaded, "ima", "actions", "--status", "Closed"]) == 0
    assert capsys.readouterr().out.count("Closed") == 3


def test_an_unknown_status_is_a_usage_error(loaded, capsys):
    assert main(["--db", loaded, "ima", "actions", "--status", "finished"]) == 2
    assert "not an action status" in capsys.readouterr().err


def test_update_and_sign_off_from_the_command_line(loaded, capsys):
    main(["--db", loaded, "ima", "actions", "--status", "not started", "--format", "json"])
    aid = str(json.loads(capsys.readouterr().out)[0]["id"])
    assert main(["--db", loaded, "ima", "update", aid, "--status", "closed"]) == 1
    assert "Only a delivered action can be closed" in capsys.readouterr().err
    assert main(["--db", loaded, "ima", "update", aid, "--status", "delivered", "--commentary", "Done."]) == 0
    assert main(["--db", loaded, "ima", "update", aid, "--status", "closed"]) == 0
    assert "closure signed off by local-admin" in capsys.readouterr().out
    assert main(["--db", loaded, "ima", "update", aid, "--status", "in progress",
                 "--as", "someone@dept.gov.uk"]) == 1
    assert "may not update the IMA action plan" in capsys.readouterr().err
    assert main(["--db", loaded, "ima", "update", aid]) == 2


def test_report_and_plan_files(loaded, tmp_path, capsys):
    docx, pdf, xlsx = tmp_path / "r.docx", tmp_path / "r.pdf", tmp_path / "plan.xlsx"
    assert main(["--db", loaded, "ima", "report", "--assessment", "review 2015", "-o", str(docx)]) == 0
    assert Document(str(docx)).core_properties.title.endswith(REVIEW)
    assert main(["--db", loaded, "ima", "report", "--assessment", REVIEW, "-o", str(pdf)]) == 0
    assert "Next steps" in " ".join(p.extract_text() for p in PdfReader(str(pdf)).pages)
    assert main(["--db", loaded, "ima", "plan", "-o", str(xlsx)]) == 0
    assert openpyxl.load_workbook(xlsx)["Action plan"].max_row > 18
    assert main(["--db", loaded, "ima", "report", "--assessment", "Nope", "-o", str(docx)]) == 1
    with pytest.raises(SystemExit) as usage:        # argparse's own usage error
        main(["--db", loaded, "ima", "report", "-o", str(docx)])
    assert usage.value.code == 2


def test_framework_show_and_load(loaded, tmp_path, capsys):
    assert main(["--db", loaded, "ima", "framework", "show", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in shown["rating"]][0] == "Development area"
    bad = tmp_path / "fw.toml"
    bad.write_text('name = "X"\ncolour = "red"\n', encoding="utf-8")
    assert main(["--db", loaded, "ima", "framework", "load", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "Unknown key 'colour'" in err and "Missing 'rating'" in err
