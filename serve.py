"""Serve the dashboard with its libraries already loaded: what `kim serve` (and `make run`) runs.

``python serve.py [streamlit options]`` is ``streamlit run dashboard.py [options]`` in this very
process, after ``preload()``. Streamlit runs every page in the server's own process, so the
first page run after a start would otherwise import pandas, Arrow, SQLAlchemy and the whole
core (about a second, longer than the league read itself) while its visitor waits. The
Permanent Secretary opening the link from an email after a restart is that visitor.
Importing them here moves the wait to the server's start, before it accepts anyone.

Only modules are loaded: no data is read, so nothing here can go stale. The landing page's
cached functions get their keys made here too (Streamlit hashes each one's source when it is
decorated); the data they cache is still read by the first page run, from the database.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DASHBOARD = ROOT / "dashboard.py"

# What the pages a visitor lands on import (the league table, the directorate page and the
# upload page, by role). A test runs the league page after preload() and fails if its first
# run imports any module of ours, pandas, Arrow or SQLAlchemy. Plotly is left out on purpose:
# the league page loads it only when someone opens a chart tab, and it costs memory.
PRELOAD = (
    "pages._shared",
    "pages._followup",
    "pages._actions",
    "kim_metrics.reports.exports",
    "kim_metrics.services.documents",
    "kim_metrics.services.returns",
    "kim_metrics.reports.template",
    "pandas.io.formats.style",   # the coloured league table (pandas' Styler and its templates)
    "PIL.PngImagePlugin",        # the tab icon, read by st.set_page_config
)


# Decorating a cached function before the server's runtime exists logs "No runtime found"
# once per function: Streamlit only checks the cache settings then, and makes the cache itself
# at the first call, inside the runtime. Quiet while preloading, so the log stays readable.
_CACHE_LOGGERS = ("streamlit.runtime.caching.cache_data_api",
                  "streamlit.runtime.caching.cache_resource_api")


def preload() -> None:
    if str(ROOT) not in sys.path:   # the pages import their helpers as pages._shared
        sys.path.insert(0, str(ROOT))
    import streamlit  # noqa: F401 - it sets its loggers' levels when first imported
    loggers = [logging.getLogger(name) for name in _CACHE_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        for name in PRELOAD:
            importlib.import_module(name)
        _load_on_first_use()
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _load_on_first_use() -> None:
    """What libraries import only when first used: the database's dialect and driver (named by
    the URL the dashboard will use; no connection is made), and Arrow's bridge to pandas,
    which every read of stored results goes through."""
    import pandas as pd
    import pyarrow as pa
    from sqlalchemy.engine import make_url

    from kim_metrics.storage.engine import database_url
    make_url(database_url()).get_dialect()
    # A stored table round trip in miniature: text, and a whole number with gaps (the ranks).
    warm = pd.DataFrame({"name": ["a", None], "rank": pd.array([1, None], dtype="Int64")})
    pa.Table.from_pandas(warm, preserve_index=False).to_pandas()


def main(argv: list[str]) -> int:
    from kim_metrics.domain.errors import KimError
    try:
        preload()
    except KimError as exc:   # a setting the server cannot start with: say which, no traceback
        print(f"kim serve: {exc}", file=sys.stderr)
        return 1
    from streamlit.web import cli as streamlit_cli
    sys.argv = ["streamlit", "run", str(DASHBOARD), *argv]
    return streamlit_cli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
