"""Creating and upgrading the schema, and seeding an empty database."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from kim_metrics.domain.criteria import DEFAULT_CRITERIA_PATH, parse_criteria
from kim_metrics.storage.audit import SYSTEM_ACTOR
from kim_metrics.storage import results
from kim_metrics.storage.engine import init_db, schema_lock, write_transaction
from kim_metrics.storage.models import CriteriaVersion, utcnow


def ensure_schema(engine: Engine, default_criteria: str | None = None) -> None:
    """Create or upgrade the schema; load the shipped criteria into an empty database."""
    init_db(engine)
    with engine.connect() as conn:
        seeded = conn.scalar(select(func.count()).select_from(CriteriaVersion)) > 0
    if not seeded:
        # Under the schema lock, so starts racing on an empty database seed it once.
        with schema_lock(engine), engine.begin() as conn:
            if conn.scalar(select(func.count()).select_from(CriteriaVersion)) == 0:
                if default_criteria is None:
                    default_criteria = DEFAULT_CRITERIA_PATH.read_text(encoding="utf-8")
                parse_criteria(default_criteria)
                conn.execute(insert(CriteriaVersion).values(toml=default_criteria, loaded_by=SYSTEM_ACTOR,
                                                            loaded_at=utcnow()))
    with engine.connect() as conn:
        missing = results.rounds_without_results(conn)
    if missing:
        # A database from before results were stored, or loaded behind the application's back.
        with write_transaction(engine) as conn:
            results.rebuild(conn, results.rounds_without_results(conn))
