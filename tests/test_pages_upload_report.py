"""The upload page's report and preview through AppTest: grouped problems in full, the list
to download, and the notice that saving replaces an earlier return."""

from __future__ import annotations

import io

import openpyxl
import pytest

from kim_metrics.services import admin as admin_service
from kim_metrics.services import returns as return_service
from kim_metrics.storage.engine import make_engine

from .support.app import (XLSX, count_returns, demo_db, filled_return, open_app,  # noqa: F401
                          unescape, writable_url)

pytestmark = pytest.mark.xdist_group("pages")


def _unknown_team_on_every_row(engine, directorate: str, round_label: str) -> tuple[bytes, int]:
    """A filled template whose first team is misspelt on each of its rows."""
    wb = openpyxl.load_workbook(io.BytesIO(filled_return(engine, directorate, round_label)))
    ws = wb["Return"]
    col = {cell.value: i for i, cell in enumerate(ws[1])}
    first = ws.cell(row=2, column=col["Team"] + 1).value
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=col["Team"] + 1).value == first]
    for r in rows:
        ws.cell(row=r, column=col["Team"] + 1).value = "Team Of Nobody"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), rows


def test_identical_problems_are_one_line_with_their_rows_and_download(writable_url):
    engine = make_engine(writable_url)
    directorate = admin_service.organisation(engine)["directorate"].iloc[0]
    data, rows = _unknown_team_on_every_row(engine, directorate, "2026-Q3")
    engine.dispose()
    before = count_returns(writable_url)
    at = open_app("information_manager")
    at.file_uploader(key="upload_file").set_value(("bad.xlsx", data, XLSX))
    at.run()
    assert not at.exception
    assert f"{len(rows)} problems found" in at.error[0].value
    report = at.table[0].value
    assert list(report.columns) == ["Sheet", "Rows", "Column", "Message"]
    line = report[report["Message"].str.contains("Team Of Nobody")]
    assert len(line) == 1                                              # seven rows, one line
    assert line["Rows"].iloc[0] == f"{rows[0]}-{rows[-1]}"
    assert "None" not in report.to_csv(index=False)
    downloads = {b.proto.label: b for b in at.get("download_button")}
    assert {"Problems (Excel)", "Problems (CSV)"} <= set(downloads)
    assert downloads["Problems (Excel)"].proto.url                     # the file is served
    assert count_returns(writable_url) == before


def test_unknown_columns_point_to_the_form_not_to_map(writable_url):
    engine = make_engine(writable_url)
    directorate = admin_service.organisation(engine)["directorate"].iloc[0]
    data = filled_return(engine, directorate, "2026-Q3", rename={"Team": "Org unit"})
    engine.dispose()
    at = open_app("information_manager")
    at.file_uploader(key="upload_file").set_value(("odd.xlsx", data, XLSX))
    at.run()
    message = " ".join(at.table[0].value["Message"])
    assert "Match your columns" in message and "--map" not in message


def test_preview_says_which_return_saving_replaces_before_confirming(writable_url):
    engine = make_engine(writable_url)
    directorate = admin_service.organisation(engine)["directorate"].iloc[0]
    first = filled_return(engine, directorate, "2026-Q3", evidence="First evidence")
    saved = return_service.save_preview(
        engine, return_service.check_return(engine, first, "first.xlsx", "2026-Q3"),
        uploader="local-admin")
    second = filled_return(engine, directorate, "2026-Q3", evidence="Second evidence")
    engine.dispose()
    before = count_returns(writable_url)
    at = open_app("admin", "upload")
    at.selectbox(key="upload_round").set_value("2026-Q3").run()
    at.file_uploader(key="upload_file").set_value(("second.xlsx", second, XLSX))
    at.run()
    assert not at.exception
    notice = unescape(next(w.value for w in at.warning if "replaces" in w.value))
    assert f"replaces {saved.scores} earlier scores" in notice
    assert f"return {saved.return_id}" in notice and "first.xlsx" in notice
    assert "local-admin" in notice
    assert count_returns(writable_url) == before                      # said before, nothing saved
    at.button(key="upload_confirm").click().run()
    assert count_returns(writable_url) == before + 1
    assert f"replaces {saved.scores} earlier scores" in at.success[0].value
