"""The upload report: grouped problems, web wording, downloads, and what a save would replace."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from kim_metrics.domain.errors import (CLI, WEB, KimError, Problem, ProblemCode, ReadError,
                                       ValidationError, group_problems, row_ranges)
from kim_metrics.reports import registry
from kim_metrics.services import returns as return_service
from kim_metrics.services import views as insights

from tests.support.returns import FULL_MARKS, RETURN_HEADERS, long_rows


def test_row_ranges_read_as_runs():
    assert row_ranges([16, 17, 18, 19, 20, 21, 22]) == "16-22"
    assert row_ranges([22, 16, 17, 25, 17]) == "16-17, 22, 25"
    assert row_ranges([]) == ""


def test_identical_messages_on_one_column_are_one_line():
    unknown = "'Nobody Team' is not a team in the organisation."
    problems = [Problem("r.xlsx", "Return", r, "Team", unknown, code=ProblemCode.BAD_VALUE) for r in range(16, 23)]
    problems += [Problem("r.xlsx", "Return", 9, "Score", "'Maybe' is not a score.", code=ProblemCode.BAD_VALUE),
                 Problem("r.xlsx", "Other", 18, "Team", unknown, code=ProblemCode.BAD_VALUE),      # another sheet: its own line
                 Problem("r.xlsx", None, None, None, "The file has no return sheet.", code=ProblemCode.BAD_VALUE)]
    groups = group_problems(problems)
    assert [(g.sheet, g.rows_text, g.column) for g in groups] == [
        ("Return", "16-22", "Team"), ("Return", "9", "Score"), ("Other", "18", "Team"), (None, "", None)]
    frame = insights.problems_frame(ValidationError(problems))
    # A whole-file problem has an empty row, never "None".
    file_level = frame[frame["message"].str.startswith("The file has")].iloc[0]
    assert file_level["rows"] == "" and file_level["sheet"] == "" and file_level["column"] == ""
    assert "None" not in frame.to_csv(index=False)
    assert sorted(frame.loc[frame["message"] == unknown, "rows"]) == ["16-22", "18"]
    assert insights.problem_count(ValidationError(problems)) == len(problems)


def test_messages_are_worded_for_the_web_or_the_command_line():
    p = Problem("r.csv", "r.csv", 1, None, "Use --map Team=\"Org\".", web_message="Use the form below.",
                code=ProblemCode.UNRECOGNISED_COLUMNS)
    assert p.message_for(WEB) == "Use the form below." and p.message_for(CLI) == 'Use --map Team="Org".'
    assert str(p).endswith('--map Team="Org".')                  # the command line's words
    assert group_problems([p], audience=WEB)[0].message == "Use the form below."
    plain = Problem("r.csv", "r.csv", 2, "Score", "Bad.", code=ProblemCode.BAD_VALUE)
    assert plain.message_for(WEB) == "Bad."


def test_unknown_columns_point_a_web_user_to_the_form_not_to_map(sqlite_engine):
    headers = ["Org unit", "Measure name", "Self rating", "Proof", "Where", "Remarks", "Dir", "Grp"]
    rows = [[r[2], r[3], r[4], r[5], r[6], r[7], r[1], r[0]] for r in long_rows({"Records": FULL_MARKS})]
    data = pd.DataFrame(rows, columns=headers).to_csv(index=False).encode()
    with pytest.raises(ValidationError) as caught:
        return_service.check_return(sqlite_engine, data, "odd.csv", "2026-Q1")
    assert "--map" in str(caught.value)                            # the command line is told --map
    web = " ".join(insights.problems_frame(caught.value)["message"])
    assert "--map" not in web and "Match your columns" in web
    assert insights.unknown_columns(caught.value) is not None


def test_other_errors_become_one_file_level_line():
    frame = insights.problems_frame(KimError("Round 2030-Q1 is not open."))
    assert frame.to_dict("records") == [{"sheet": "", "rows": "", "column": "",
                                         "message": "Round 2030-Q1 is not open."}]
    read = insights.problems_frame(ReadError("x.xlsx", "Not a workbook.", code=ProblemCode.FILE_UNREADABLE))
    assert read["message"].tolist() == ["Not a workbook."] and read["rows"].tolist() == [""]


def test_problem_list_downloads_as_excel_and_csv():
    problems = [Problem("r.xlsx", "Return", r, "Team", "=HYPERLINK(\"x\") is not a team.", code=ProblemCode.BAD_VALUE) for r in (4, 5)]
    report = insights.problems_frame(ValidationError(problems))
    assert registry.formats("problems") == ("xlsx", "csv")
    book = openpyxl.load_workbook(io.BytesIO(registry.render("problems", "xlsx", report)))
    ws = book["Problems"]
    assert [c.value for c in ws[1]] == ["Sheet", "Rows", "Column", "Message"]
    assert [c.value for c in ws[2]][:3] == ["Return", "4-5", "Team"]
    assert ws.cell(row=2, column=4).value.startswith("'=")          # a formula stays text
    assert ws.cell(row=2, column=4).alignment.wrap_text
    text = registry.render("problems", "csv", report)
    assert text.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert lines[0] == ["Sheet", "Rows", "Column", "Message"] and lines[1][1] == "4-5"
    assert len(lines) == 2


def test_preview_names_the_return_it_would_replace(sqlite_engine, tmp_path):
    first = pd.DataFrame(long_rows({"Records": FULL_MARKS, "Estates": FULL_MARKS}),
                         columns=RETURN_HEADERS).to_csv(index=False).encode()
    fresh = return_service.check_return(sqlite_engine, first, "first.csv", "2026-Q1")
    assert fresh.replaces == () and fresh.replaced_scores == 0
    saved = return_service.save_preview(sqlite_engine, fresh, uploader="local-admin")
    again = pd.DataFrame(long_rows({"Records": FULL_MARKS}, evidence="New evidence"),
                         columns=RETURN_HEADERS).to_csv(index=False).encode()
    preview = return_service.check_return(sqlite_engine, again, "second.csv", "2026-Q1")
    assert len(preview.replaces) == 1
    earlier = preview.replaces[0]
    assert earlier.return_id == saved.return_id and earlier.file_name == "first.csv"
    assert earlier.uploader == "local-admin" and earlier.uploaded_at is not None
    assert earlier.scores == len(FULL_MARKS) and earlier.teams == 1   # only Records is replaced
    done = return_service.save_preview(sqlite_engine, preview, uploader="local-admin")
    assert done.superseded == preview.replaced_scores
