"""Small SQL helpers shared by the repositories."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func
from sqlalchemy.engine import Connection

from kim_metrics.domain.scoring import EVIDENCE_BLANKS


def chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def frame_of(conn: Connection, stmt, columns: list[str]) -> pd.DataFrame:
    """``stmt``'s rows as a DataFrame built column by column, fetched through the driver's own
    cursor inside the connection's transaction.

    For the reads with a row per score or per team (tens of thousands): SQLAlchemy's result
    rows cost several times what the database takes to produce them. Values come back as the
    driver gives them (SQLite booleans as 0/1, dates as text), so callers set the types they
    rely on.
    """
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = (tuple(compiled.params[name] for name in compiled.positiontup)
              if compiled.positional else compiled.params)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(dict(zip(columns, map(list, zip(*rows)))))


def has_text(conn: Connection, column):
    trimmed = (func.btrim(column, EVIDENCE_BLANKS) if conn.dialect.name == "postgresql"
               else func.trim(column, EVIDENCE_BLANKS))
    return trimmed != ""


def bulk_insert(conn: Connection, table: str, columns: dict[str, list]) -> None:
    """Insert many rows the fastest way each database offers, inside the caller's transaction.

    SQLAlchemy's generic executemany builds a dict per row; a return of 70,000 scores
    spends longer on that than the database spends storing them. ``table`` and the column
    names are the application's own, never a user's.
    """
    names = list(columns)
    rows = list(zip(*columns.values()))
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        with conn.connection.dbapi_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    placeholders = ", ".join("?" if conn.dialect.paramstyle == "qmark" else "%s" for _ in names)
    conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders})", rows)
