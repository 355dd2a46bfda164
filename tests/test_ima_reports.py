"""What the IMA writes: the action plan workbook, the progress review (Word and PDF) and the
league's evidence for each sub-area."""

from __future__ import annotations

import re

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from pypdf import PdfReader

from kim_metrics.domain.access import local_admin
from kim_metrics.domain.criteria import parse_criteria
from kim_metrics.domain.ima import ACTION_LABELS, ACTION_STATUS_SET, CLOSED
from kim_metrics.reports.ima_report import render_report
from kim_metrics.services.ima import report_data
from kim_metrics.services import admin as admin_service
from kim_metrics.services import league as league_service
from kim_metrics.services import scores as score_service
from kim_metrics.services import ima
from kim_metrics.services.demo_ima import IMA, REVIEW
from tests.support.ima import MAPPING, demo_rows, write_ima_xlsx

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ADMIN = "local-admin"
WRITTEN = date(2026, 11, 30)
PAYLOADS = ['=HYPERLINK("http://evil","x")', "+1+1", "@SUM(A1)", "-2+3"]


@pytest.fixture
def hostile_plan(sqlite_engine, tmp_path):
    """The demo's IMA with formula payloads typed into a recommendation, an action and a commentary."""
    ratings, actions = demo_rows()
    actions[0][0] = PAYLOADS[0]          # the first recommendation's text
    actions[2][7] = PAYLOADS[1]          # an action
    actions[3][11] = PAYLOADS[2]         # a commentary
    actions[4][7] = PAYLOADS[3]
    path = write_ima_xlsx(tmp_path / "hostile.xlsx", ratings, actions)
    ima.load_workbook(sqlite_engine, path.read_bytes(), path.name, actor=ADMIN)
    return sqlite_engine


# The action plan workbook ------------------------------------------------------------------------

def test_action_plan_has_the_national_archives_layout(hostile_plan):
    wb = openpyxl.load_workbook(io.BytesIO(ima.action_plan_xlsx(hostile_plan)))
    ws = wb["Action plan"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows.index(("Recommendation", "Action", "Owner", "Due date", "Status", "Commentary"))
    body = rows[header + 1:]
    fw = ima.framework(hostile_plan)
    plan = ima.actions(hostile_plan)
    # By area in the framework's order; within an area, as the plan lists them.
    plan = plan.sort_values("area", key=lambda s: s.map([a.id for a in fw.areas].index), kind="stable")
    # An area's heading row, then its recommendations, each merged down over its actions.
    area_rows = [r[0] for r in body if r[0] in {a.name for a in fw.areas}]
    assert area_rows == [a.name for a in fw.areas]
    actions = [r for r in body if r[0] not in area_rows]
    assert len(actions) == len(plan)
    assert [r[1] for r in actions] == ["'" + a if a in PAYLOADS else a for a in plan["action"]]
    assert [r[2] for r in actions] == list(plan["owner"])
    assert [r[3].date() if r[3] else None for r in actions] == list(plan["due"])
    assert [r[4] for r in actions] == [ACTION_LABELS[s] for s in plan["status"]]
    merged = {str(m) for m in ws.merged_cells.ranges}
    first_rec = header + 1 + 2      # after the header and the first area's row (1-based)
    assert f"A{first_rec}:A{first_rec + 1}" in merged, "the first recommendation spans its two actions"
    # Statuses coloured as the status set draws them, words kept.
    for row in ws.iter_rows(min_row=header + 2):
        status = row[4].value
        if status:
            assert row[4].fill.fgColor.rgb[-6:] == ACTION_STATUS_SET.style(status).background.lstrip("#")
    # Closed actions say who signed them off.
    closed = [r for r in actions if r[4] == ACTION_LABELS[CLOSED]]
    assert closed and all("Closure signed off by local-admin" in (r[5] or "") for r in closed)


def test_action_plan_neutralises_formula_text(hostile_plan):
    wb = openpyxl.load_workbook(io.BytesIO(ima.action_plan_xlsx(hostile_plan)))
    cells = [c for row in wb["Action plan"].iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells]
    for payload in PAYLOADS:
        assert not any(t.startswith(payload) for t in texts), payload
        assert any(t.startswith("'" + payload) for t in texts), payload


# The progress review ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def review(hostile_demo):
    return report_data(hostile_demo, REVIEW, WRITTEN, MAPPING)


def test_report_as_word_has_the_reviews_shape(review, hostile_demo):
    doc = Document(io.BytesIO(render_report(review, "docx")))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading 1")]
    areas = [a.name for a in review.record.framework.areas]
    assert headings == ["Background", "Progress to address recommendations and risk areas",
                        *[f"{n}  {a}" for n, a in enumerate(areas, start=1)], "Next steps"]
    assert doc.core_properties.title == "Information Management Assessment: Review 2015"
    # Each area's rating table: previous and this assessment, every sub-area.
    rating_tables = [t for t in doc.tables if t.rows[0].cells[0].text == "Sub-area"
                     and t.rows[0].cells[-1].text == REVIEW]
    assert len(rating_tables) == 4
    rated = {r.cells[0].text: (r.cells[1].text, r.cells[2].text) for t in rating_tables for r in t.rows[1:]}
    grid = ima.ratings_grid(review.record).set_index("Sub-area")
    assert rated == {s: (grid.loc[s, IMA], grid.loc[s, REVIEW]) for s in grid.index}
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Situation at the time of IMA 2013" in text and "Progress since IMA 2013" in text
    assert "we repeat our recommendation" in text and "we urge" in text
    # Recommendations with their actions and status; the league's evidence per area.
    action_tables = [t for t in doc.tables if t.rows[0].cells[0].text == "Action"]
    statuses = {r.cells[3].text for t in action_tables for r in t.rows[1:]}
    assert statuses == set(ACTION_LABELS.values())
    evidence = [t for t in doc.tables if t.rows[0].cells[1].text == "Criterion"]
    criteria = {r.cells[1].text for t in evidence for r in t.rows[1:]}
    assert criteria == {c.name for c in admin_service.current_criteria(hostile_demo) if c.id in MAPPING}
    steps = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert steps == list(ima.next_steps(review.record)["recommendation"])


def test_report_as_pdf_says_the_same_and_renders(review):
    data = render_report(review, "pdf")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    assert reader.metadata.title == "Information Management Assessment: Review 2015"
    for area in review.record.framework.areas:
        assert area.name in flat
    for word in ("Performance rating", "Situation at the time of IMA 2013", "Next steps",
                 "Evidence from the KIM league table", "Good practice", "Progressing towards"):
        assert word in flat, word
    for step in ima.next_steps(review.record)["recommendation"]:
        assert " ".join(step.split()[:6]) in flat
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "ima-report.pdf"
    pdf.write_bytes(data)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "3", str(pdf),
                        str(ARTIFACTS / "ima-report")], check=True, timeout=60)
        assert (ARTIFACTS / "ima-report-1.png").stat().st_size > 10_000


def test_report_of_the_first_assessment_has_no_previous_column(hostile_demo):
    d = report_data(hostile_demo, IMA, WRITTEN, MAPPING)
    doc = Document(io.BytesIO(render_report(d, "docx")))
    first = doc.tables[0]
    assert [c.text for c in first.rows[0].cells] == ["Sub-area", IMA]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "first assessment on record" in text and "Findings and recommendations" in text
    # Recommendations made later (at the review) are not in the 2013 report.
    assert "Digital Transfer team" not in " ".join(p.text for p in doc.paragraphs if p.runs and p.runs[0].bold)


def test_report_carries_typed_formulas_as_text(hostile_plan):
    doc = Document(io.BytesIO(render_report(report_data(hostile_plan, REVIEW, WRITTEN, {}), "docx")))
    texts = [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells]
    assert "'" + PAYLOADS[0] in texts and PAYLOADS[0] not in texts


# The league's evidence ------------------------------------------------------------------------------

def test_league_evidence_is_the_departments_mean_on_each_mapped_criterion(hostile_demo):
    evidence = ima.league_evidence(hostile_demo, MAPPING)
    labels = [r.label for r in league_service.rounds(hostile_demo)]
    assert evidence.rounds == tuple(labels)
    assert len(evidence.rows) == len(MAPPING) * len(labels)
    for label in labels:
        scored = score_service.scored_round(hostile_demo, label, actor=local_admin())
        for cid, sub in MAPPING.items():
            row = evidence.rows[(evidence.rows["round"] == label) & (evidence.rows["criterion_id"] == cid)].iloc[0]
            mine = scored.scores[scored.scores["criterion"] == cid]["percent"]
            assert row["sub_area_id"] == sub
            assert row["percent"] == pytest.approx(round(mine.mean(), 1))
            assert row["status"] in scored.criteria.rag.levels
    summary = evidence.summary()
    assert len(summary) == len(MAPPING)
    for r in summary.itertuples(index=False):
        series = evidence.rows[evidence.rows["criterion_id"] == r.criterion_id]["percent"].tolist()
        assert r.history == " → ".join(f"{p:.0f}" for p in series)
        delta = series[-1] - series[-2]
        assert r.trend == ("rising" if delta > 0 else "falling" if delta < 0 else "steady")
    assert set(evidence.summary("supporting_information_through_technology")["criterion_id"]) == {
        "naming", "corporate_system"}


def test_a_mapping_to_no_known_sub_area_gives_no_evidence(hostile_demo):
    evidence = ima.league_evidence(hostile_demo, {"naming": "no_such_sub_area"})
    assert evidence.rows.empty and evidence.summary().empty


def test_the_criteria_files_ima_field_maps_criteria_to_sub_areas(criteria):
    text = re.sub(r"^ima = .*\n", "", criteria.to_toml(), flags=re.M)
    assert ima.criteria_mapping(parse_criteria(text)) == {}
    for cid, sub in MAPPING.items():
        text = text.replace(f'id = "{cid}"\n', f'id = "{cid}"\nima = "{sub}"\n', 1)
    assert ima.criteria_mapping(parse_criteria(text)) == MAPPING
