"""A page's data dies with its run.

Streamlit keeps a session's download functions (and widget callbacks) until the session ends,
minutes after its tab is closed, and a function defined at a script's top level keeps that
script's whole namespace alive. So a page that read frames at its top level kept them per
visitor (8-10 MB a visit on a 10,000-team department). The pages run as functions; this
holds them to it: when a run ends, no page's top-level namespace holds a frame or a file.
"""

from __future__ import annotations

import importlib
import sys
import types

import pandas as pd
import pytest

# By name: `st.navigation` (the function) hides the subpackage from a dotted `import ... as`.
streamlit_page = importlib.import_module("streamlit.navigation.page")

from .support.app import ROOT, demo_db, demo_url, open_app  # noqa: F401  (fixtures)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from pages._shared import PAGES  # noqa: E402  (the dashboard's own table of pages)

pytestmark = pytest.mark.xdist_group("pages")


@pytest.fixture
def page_namespaces(monkeypatch) -> list[types.ModuleType]:
    """Every module Streamlit makes to run a page in, kept (whatever Streamlit itself keeps)."""
    made: list[types.ModuleType] = []

    class Kept(types.ModuleType):
        def __init__(self, name: str) -> None:
            super().__init__(name)
            made.append(self)

    monkeypatch.setattr(streamlit_page, "types", types.SimpleNamespace(ModuleType=Kept))
    return made


@pytest.mark.parametrize("page", sorted(PAGES))   # every page the dashboard has, new ones too
def test_no_frame_outlives_the_run_in_a_pages_namespace(demo_url, page_namespaces, page):
    page_file = PAGES[page].path
    app = open_app("admin", page)
    assert app.title and not app.exception
    runs = [m for m in page_namespaces if str(m.__dict__.get("__file__", "")).endswith(page_file)]
    assert runs, f"{page_file} did not run"
    for module in runs:
        held = sorted(name for name, value in vars(module).items()
                      if isinstance(value, (pd.DataFrame, pd.Series, bytes)) and len(value) > 0)
        assert held == [], f"{page_file} keeps {held} after its run: move them into the page's function"
