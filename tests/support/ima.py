"""IMA workbooks on disk for the tests: the demo's rows, changed one cell at a time."""

from __future__ import annotations

import copy
from pathlib import Path

from openpyxl import Workbook

from kim_metrics.services.demo_ima import ACTIONS_HEADERS, RATINGS_HEADERS, actions_rows, ratings_rows

# A sensible mapping of the seven default criteria to the sub-areas they evidence.
MAPPING = {
    "naming": "supporting_information_through_technology",
    "corporate_system": "supporting_information_through_technology",
    "what_to_keep": "communicating_and_realising_value",
    "asset_register": "managing_information_as_an_asset",
    "information_manager": "establishing_control",
    "training": "providing_guidance",
    "legacy_review": "implementing_disposal_decisions",
}


def demo_rows() -> tuple[list[list[object]], list[list[object]]]:
    """Fresh copies of the demo's Ratings and Actions rows, to change at will."""
    return copy.deepcopy(ratings_rows()), copy.deepcopy(actions_rows())


def write_ima_xlsx(path: Path, ratings: list[list[object]] | None, actions: list[list[object]] | None,
                   *, ratings_headers: list[str] = RATINGS_HEADERS,
                   actions_headers: list[str] = ACTIONS_HEADERS,
                   names: tuple[str, str] = ("Ratings", "Actions")) -> Path:
    """A workbook with a Ratings sheet and an Actions sheet (either left out when None)."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, headers, rows in ((names[0], ratings_headers, ratings), (names[1], actions_headers, actions)):
        if rows is None:
            continue
        ws = wb.create_sheet(name)
        ws.append(headers)
        for row in rows:
            ws.append(row)
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"   # text that looks like a formula, as a person may type it
    wb.save(path)
    return path
