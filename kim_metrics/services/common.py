"""What every service shares: who is acting, reading a file, progress, and write transactions.

Services are the functions the command line and the pages call, one per thing a person does.
Each takes an engine and plain arguments and returns plain data (dataclasses and DataFrames);
each write is one transaction that also brings the stored results up to date. Caching
belongs to the dashboard, not here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from kim_metrics.domain.access import Actor
from kim_metrics.domain.errors import KimError, NotFoundError
from kim_metrics.storage import people
from kim_metrics.storage import rounds as round_store
from kim_metrics.storage.audit import data_version as _data_version

Progress = Callable[[float, str], None]


def quiet(_fraction: float, _message: str) -> None:
    """A progress report nobody reads (the command line's default)."""


def resolve_actor(engine: Engine, who: Actor | str) -> Actor:
    """The person acting, with the roles and scope their email gives them."""
    if isinstance(who, Actor):
        return who
    with engine.connect() as conn:
        return people.resolve(conn, who)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_file(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise KimError(f"{path}: no such file. Check the name and folder.") from None
    except IsADirectoryError:
        raise KimError(f"{path} is a folder, not a file.") from None
    except PermissionError:
        raise KimError(f"{path}: permission denied. Check you can open the file.") from None


def resolve_round(conn: Connection, label: str | None) -> round_store.RoundInfo:
    """The round named, or the latest when none is."""
    if label:
        return round_store.get_round(conn, label)
    found = round_store.list_rounds(conn)
    if not found:
        raise NotFoundError("There are no rounds yet. Load returns with `kim ingest FILE --round "
                            "2026-Q3`, or load the demo department with `kim demo`.")
    return found[-1]


def data_version(engine: Engine) -> int:
    """A number that rises with every saved change: the key the dashboard caches on."""
    with engine.connect() as conn:
        return _data_version(conn)
