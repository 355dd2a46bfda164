"""Databases for the tests: a fresh PostgreSQL schema each, and URLs a child process can open."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from kim_metrics.storage.engine import database_url

POSTGRES_ENV = "KIM_TEST_POSTGRES_URL"


def postgres_engine() -> Iterator[Engine]:
    """A fresh schema in the configured PostgreSQL database, dropped afterwards."""
    url = database_url(os.environ[POSTGRES_ENV])
    schema = f"kim_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def backends() -> list:
    params = ["sqlite"]
    params.append(pytest.param("postgres", marks=pytest.mark.skipif(
        not os.environ.get(POSTGRES_ENV), reason=f"set {POSTGRES_ENV} to test PostgreSQL")))
    return params


def child_url(engine: Engine) -> str:
    """A URL a new process can open to reach the same database (and, on PostgreSQL, schema)."""
    if engine.dialect.name == "sqlite":
        return f"sqlite:///{engine.url.database}"
    with engine.connect() as conn:
        schema = conn.scalar(text("SELECT current_schema()"))
    return engine.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
