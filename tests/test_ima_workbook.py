"""Reading the IMA workbook: the good one, every kind of mistake located, nothing saved on error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from kim_metrics.domain.errors import ValidationError
from kim_metrics.domain.ima import ACTION_STATUSES, ASSESSMENT, PROGRESS_REVIEW, load_framework
from kim_metrics.reading.ima_workbook import parse_date, parse_ima_workbook
from kim_metrics.reading.reader import read_workbook
from kim_metrics.services import ima
from kim_metrics.services.demo_ima import ACTIONS_HEADERS, IMA, RATINGS_HEADERS, REVIEW
from kim_metrics.storage import ima as store
from kim_metrics.storage.models import AuditRecord
from tests.support.ima import demo_rows, write_ima_xlsx

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "demo-ima.xlsx"
ADMIN = "local-admin"


@pytest.fixture(scope="module")
def fw():
    return load_framework()


def parse(path: Path, fw, known=None):
    return parse_ima_workbook(read_workbook(path), fw, known)


def problems_of(path: Path, fw, known=None) -> list:
    with pytest.raises(ValidationError) as caught:
        parse(path, fw, known)
    return caught.value.problems


# The good workbook ---------------------------------------------------------------------------

def test_the_sample_workbook_reads_whole(fw):
    parsed = parse(SAMPLE, fw)
    assert [a.name for a in parsed.assessments] == [IMA, REVIEW]
    first, second = parsed.assessments
    assert (first.kind, first.date) == (ASSESSMENT, dt.date(2013, 8, 8))
    assert (second.kind, second.date) == (PROGRESS_REVIEW, dt.date(2015, 9, 30))
    assert first.assessor == "The National Archives"
    assert set(first.ratings) == set(second.ratings) == {s.id for s in fw.sub_areas}
    assert first.ratings["managing_information_as_an_asset"] == "development_area"
    assert second.ratings["providing_guidance"] == "good_practice"
    # Narrative given on an area's first row only, blank after: one per area.
    assert set(first.narratives) == {a.id for a in fw.areas}
    assert all(n.situation and not n.progress for n in first.narratives.values())
    assert all(n.progress and not n.situation for n in second.narratives.values())
    assert len(parsed.recommendations) == 11 and parsed.action_count == 18
    assert parsed.recommending == (IMA, REVIEW)
    statuses = {a.status for r in parsed.recommendations for a in r.actions}
    assert statuses == set(ACTION_STATUSES)
    repeated = [r for r in parsed.recommendations if r.repeated_at]
    assert [(r.assessment, r.repeated_at) for r in repeated] == [(IMA, REVIEW)]
    assert sum(r.next_step for r in parsed.recommendations) == 6
    # Blank recommendation cells continue the recommendation above.
    assert [len(r.actions) for r in parsed.recommendations][:2] == [2, 2]


def test_the_committed_sample_is_the_demos(fw):
    from kim_metrics.services.demo_ima import workbook_bytes
    demo = parse_ima_workbook(read_workbook(workbook_bytes(), file_name=SAMPLE.name), fw)
    assert parse(SAMPLE, fw) == demo


def test_headers_and_names_match_however_written(tmp_path, fw):
    ratings, actions = demo_rows()
    headers = ["ASSESSMENT", "kind", "date of assessment", "Assessed by", "area_name", "SUB AREA",
               "Performance rating", "Situation at the time of the IMA", "progress-since"]
    for row in ratings:
        # Ids as well as names, in any case.
        row[4] = {"The value of information": "VALUE_OF_INFORMATION"}.get(row[4], row[4])
        row[5] = row[5].lower().replace(" ", "_") if row[5] else row[5]
        row[6] = {"Good practice": "good practice", "Satisfactory": "SATISFACTORY"}.get(row[6], row[6])
    path = write_ima_xlsx(tmp_path / "odd.xlsx", ratings, actions, ratings_headers=headers,
                          actions_headers=[h.upper() for h in ACTIONS_HEADERS])
    assert parse(path, fw).assessments == parse(SAMPLE, fw).assessments


def test_a_narrative_repeated_the_same_on_every_row_is_fine(tmp_path, fw):
    ratings, actions = demo_rows()
    for row in ratings:
        if row[0] == IMA:
            row[7] = next(r[7] for r in ratings if r[0] == IMA and r[4] == row[4] and r[7])
    path = write_ima_xlsx(tmp_path / "repeat.xlsx", ratings, actions)
    assert parse(path, fw).assessments[0].narratives == parse(SAMPLE, fw).assessments[0].narratives


def test_csv_holds_one_sheet_told_apart_by_its_headers(tmp_path, fw):
    ratings, actions = demo_rows()
    rated = tmp_path / "ratings.csv"
    pd.DataFrame(ratings, columns=RATINGS_HEADERS).to_csv(rated, index=False)
    parsed = parse(rated, fw)
    assert parsed.has_ratings and not parsed.has_actions and len(parsed.assessments) == 2
    acted = tmp_path / "actions.csv"
    pd.DataFrame(actions, columns=ACTIONS_HEADERS).to_csv(acted, index=False)
    known = {IMA: dt.date(2013, 8, 8), REVIEW: dt.date(2015, 9, 30)}
    parsed = parse(acted, fw, known)
    assert parsed.has_actions and not parsed.assessments and parsed.action_count == 18
    # Without those assessments stored, the actions name assessments nobody knows.
    assert any("is not an assessment" in p.message for p in problems_of(acted, fw))


def test_ods_reads_the_same_as_xlsx(tmp_path, fw):
    ratings, actions = demo_rows()
    path = tmp_path / "ima.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame(ratings, columns=RATINGS_HEADERS).to_excel(writer, sheet_name="Ratings", index=False)
        pd.DataFrame(actions, columns=ACTIONS_HEADERS).to_excel(writer, sheet_name="Actions", index=False)
    ods, xlsx = parse(path, fw), parse(SAMPLE, fw)
    assert ods.assessments == xlsx.assessments
    assert ods.recommendations == xlsx.recommendations


@pytest.mark.parametrize("text, expected", [
    ("2013-08-08", dt.date(2013, 8, 8)), ("8/8/2013", dt.date(2013, 8, 8)),
    ("08/09/2013", dt.date(2013, 9, 8)), ("8 August 2013", dt.date(2013, 8, 8)),
    ("8th Aug 2013", dt.date(2013, 8, 8)), ("September 2015", dt.date(2015, 9, 1)),
    (dt.datetime(2015, 9, 30, 0, 0), dt.date(2015, 9, 30)), ("2015-09-30 00:00:00", dt.date(2015, 9, 30)),
    ("31/02/2013", None), ("soon", None), (2013, None),
])
def test_dates_are_read_day_first(text, expected):
    assert parse_date(text) == expected


# Every kind of mistake, located ----------------------------------------------------------------

R, A = "Ratings", "Actions"
# Demo rows: ratings[0..9] are IMA 2013, [10..19] Review 2015; Excel row = index + 2.


def _set(rows, i, j, value):
    rows[i][j] = value


RATING_MISTAKES = {
    "unknown sub-area": (lambda r: _set(r, 5, 5, "Establishing controls"), 7, "Sub-area",
                         "'Establishing controls' is not a sub-area. Did you mean 'Establishing control'?"),
    "unknown rating": (lambda r: _set(r, 1, 6, "Satisfactroy"), 3, "Rating",
                       "Did you mean 'Satisfactory'?"),
    "unknown area": (lambda r: _set(r, 0, 4, "Value of informaton"), 2, "Area", "is not an area"),
    "sub-area in another area": (lambda r: _set(r, 0, 5, "Measuring impact"), 2, "Sub-area",
                                 "'Measuring impact' is a sub-area of 'Information risk, governance "
                                 "and oversight', not of 'The value of information'"),
    "two narratives for one area": (lambda r: _set(r, 1, 7, "Something else happened."), 3, "Situation",
                                    "already has a different situation for 'IMA 2013' on sheet "
                                    "'Ratings' row 2"),
    "two kinds": (lambda r: _set(r, 3, 1, "Progress review"), 5, "Kind",
                  "'IMA 2013' is assessment on sheet 'Ratings' row 2 but progress review here"),
    "two dates": (lambda r: _set(r, 4, 2, dt.datetime(2013, 9, 1)), 6, "Date",
                  "dated 8 August 2013 on sheet 'Ratings' row 2 but 1 September 2013 here"),
    "not a date": (lambda r: _set(r, 0, 2, "31/02/2013"), 2, "Date", "'31/02/2013' is not a date"),
    "unknown kind": (lambda r: _set(r, 10, 1, "audit"), 12, "Kind", "'audit' is not a kind of assessment"),
    "sub-area rated twice": (lambda r: _set(r, 1, 5, "Communicating and realising value"), 3, "Sub-area",
                             "already rates 'Communicating and realising value' on sheet 'Ratings' row 2"),
    "empty assessment": (lambda r: _set(r, 2, 0, None), 4, "Assessment", "The assessment is empty"),
    "rating without sub-area": (lambda r: _set(r, 3, 5, None), 5, "Sub-area", "A rating needs a sub-area"),
    "no kind at all": (lambda r: [_set(r, i, 1, None) for i in range(10, 20)], 12, "Kind",
                       "No kind is given for 'Review 2015'"),
}


@pytest.mark.parametrize("name", sorted(RATING_MISTAKES))
def test_ratings_mistakes_are_located(tmp_path, fw, name):
    change, row, column, words = RATING_MISTAKES[name]
    ratings, actions = demo_rows()
    change(ratings)
    problems = problems_of(write_ima_xlsx(tmp_path / "bad.xlsx", ratings, actions), fw)
    assert [(p.file, p.sheet, p.row, p.column) for p in problems] == [("bad.xlsx", R, row, column)], problems
    assert words in problems[0].message


# Actions rows: [0] rec 1 first action, [1] its second (blank recommendation cells), [2] rec 2 ...
ACTION_MISTAKES = {
    "unknown assessment": (lambda a: _set(a, 0, 1, "IMA 2031"), 2, "Assessment",
                           "'IMA 2031' is not an assessment. Did you mean 'IMA 2013'?"),
    "owner not an email": (lambda a: _set(a, 0, 8, "the DRO"), 2, "Owner", "'the dro' is not an email address"),
    "owner missing": (lambda a: _set(a, 1, 8, None), 3, "Owner", "The owner is empty"),
    "unknown status": (lambda a: _set(a, 2, 10, "finished"), 4, "Status", "'finished' is not a status"),
    "unknown priority": (lambda a: _set(a, 0, 4, "urgent"), 2, "Priority", "'urgent' is not a priority"),
    "repeated before it was made": (lambda a: _set(a, 0, 5, "IMA 2013"), 2, "Repeated at",
                                    "'IMA 2013' is not later than 'IMA 2013'"),
    "repeated as yes": (lambda a: _set(a, 0, 5, "Yes"), 2, "Repeated at",
                        "Give the name of the later assessment"),
    "next step not yes or no": (lambda a: _set(a, 0, 6, "maybe"), 2, "Next step", "'maybe' is not Yes or No"),
    "details without an action": (lambda a: _set(a, 1, 7, None), 3, "Action",
                                  "The action is empty but its owner is given"),
    "an action twice": (lambda a: _set(a, 1, 7, a[0][7]), 3, "Action", "already has this action"),
    "sub-area outside the area": (lambda a: _set(a, 0, 3, "Measuring impact"), 2, "Sub-area",
                                  "is a sub-area of 'Information risk, governance and oversight'"),
    "no recommendation to continue": (lambda a: a.insert(0, [None] * 7 + a[1][7:]), 2, "Recommendation",
                                      "The recommendation is empty"),
    "two priorities": (lambda a: _set(a, 1, 4, "Low"), 3, "Priority",
                       "already has priority 'high' (sheet 'Actions' row 2), not 'low'"),
    "not a due date": (lambda a: _set(a, 0, 9, "next spring"), 2, "Due date", "'next spring' is not a date"),
    "area empty": (lambda a: _set(a, 0, 2, None), 2, "Area", "The area is empty"),
}


@pytest.mark.parametrize("name", sorted(ACTION_MISTAKES))
def test_actions_mistakes_are_located(tmp_path, fw, name):
    change, row, column, words = ACTION_MISTAKES[name]
    ratings, actions = demo_rows()
    change(actions)
    problems = problems_of(write_ima_xlsx(tmp_path / "bad.xlsx", ratings, actions), fw)
    assert [(p.sheet, p.row, p.column) for p in problems] == [(A, row, column)], problems
    assert words in problems[0].message


def test_a_sheet_without_its_columns_is_named(tmp_path, fw):
    ratings, actions = demo_rows()
    headers = [h if h != "Rating" else "Score out of ten" for h in RATINGS_HEADERS]
    problems = problems_of(write_ima_xlsx(tmp_path / "cols.xlsx", ratings, actions, ratings_headers=headers), fw)
    assert [(p.sheet, p.row, p.column) for p in problems] == [(R, 1, None)]
    assert "missing the column Rating" in problems[0].message


def test_a_workbook_with_neither_sheet_says_what_is_wanted(tmp_path, fw):
    path = write_ima_xlsx(tmp_path / "other.xlsx", [["a", 1]], None, ratings_headers=["Team", "Score"],
                          names=("Sheet1", "x"))
    problems = problems_of(path, fw)
    assert len(problems) == 1 and "Found no Ratings or Actions sheet" in problems[0].message


def test_every_mistake_is_reported_at_once(tmp_path, fw):
    ratings, actions = demo_rows()
    ratings[1][6] = "Satisfactroy"
    ratings[12][5] = "Nowhere"
    actions[0][8] = "not-an-email"
    actions[3][10] = "finished"
    problems = problems_of(write_ima_xlsx(tmp_path / "many.xlsx", ratings, actions), fw)
    assert [(p.sheet, p.row, p.column) for p in problems] == [
        (A, 2, "Owner"), (A, 5, "Status"), (R, 3, "Rating"), (R, 14, "Sub-area")]


def test_an_overlong_cell_is_located(tmp_path, fw, monkeypatch):
    monkeypatch.setenv("KIM_MAX_CELL_CHARS", "1000")
    ratings, actions = demo_rows()
    ratings[0][7] = "x" * 1001
    problems = problems_of(write_ima_xlsx(tmp_path / "long.xlsx", ratings, actions), fw)
    assert [(p.sheet, p.row, p.column) for p in problems] == [(R, 2, "Situation")]
    assert "at most 1,000" in problems[0].message


# Nothing saved on error, checked in the database ----------------------------------------------------

def _state(engine) -> tuple[dict, int]:
    with engine.connect() as conn:
        return store.count_rows(conn), conn.scalar(select(func.count()).select_from(AuditRecord))


def test_a_workbook_with_a_mistake_saves_nothing(engine, tmp_path):
    empty = _state(engine)
    ratings, actions = demo_rows()
    actions[-1][8] = "nobody"   # the very last row is wrong; everything before it was fine
    bad = write_ima_xlsx(tmp_path / "bad.xlsx", ratings, actions).read_bytes()
    with pytest.raises(ValidationError):
        ima.load_workbook(engine, bad, "bad.xlsx", actor=ADMIN)
    assert _state(engine) == empty

    ima.load_workbook(engine, SAMPLE.read_bytes(), SAMPLE.name, actor=ADMIN)
    loaded = _state(engine)
    assert loaded[0]["ima_assessment"] == 2 and loaded[0]["ima_action"] == 18
    ratings, actions = demo_rows()
    ratings[15][6] = "Excellent"
    with pytest.raises(ValidationError) as caught:
        ima.load_workbook(engine, write_ima_xlsx(tmp_path / "bad2.xlsx", ratings, actions).read_bytes(),
                          "bad2.xlsx", actor=ADMIN)
    assert caught.value.problems[0].row == 17
    assert _state(engine) == loaded
    with engine.connect() as conn:
        assert store.ratings(conn)[REVIEW]["recognising_information_risk"] == "development_area"
