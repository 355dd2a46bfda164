"""Performance benchmarks for KIM League: `make bench` (``python -m benchmarks``).

A synthetic department (``generate``) is built at a given scale with a fixed seed and
written straight into the real schema with bulk inserts (``load``); each figure is then
measured in the same run (``measure``), the dashboard page in a child process (``page``).
The last line printed is one JSON object with every figure; people read the table above it.
"""

DEFAULT_TEAMS = 10_000
DEFAULT_ROUNDS = 12
DEFAULT_SEED = 20_260_301
POSTGRES_ENV = "KIM_TEST_POSTGRES_URL"

# Goals at the default scale on a 2-core machine: (figure, "<=" or ">=", bound).
GOALS = (
    ("ingest_vs_raw", "<=", 2.0),
    ("naive_vs_ingest", ">=", 10.0),
    ("league_vs_fetch", "<=", 1.5),
    ("page_s", "<=", 1.5),
    ("peak_rss_mb", "<=", 400.0),
    ("pg_league_s", "<=", 2.0),
)
