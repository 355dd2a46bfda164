"""Alembic environment: the engine comes from ``kim_metrics.storage.engine.init_db``, never from a file."""

from alembic import context

from kim_metrics.storage.models import Base
from kim_metrics.storage.engine import make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine()

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    context.run_migrations()
