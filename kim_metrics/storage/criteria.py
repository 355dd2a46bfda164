"""Criteria versions: each load is a new version; a round keeps the version it opened with."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from kim_metrics.domain.criteria import CriteriaSet, parse_criteria
from kim_metrics.domain.errors import KimError
from kim_metrics.storage import audit
from kim_metrics.storage.models import CriteriaVersion, utcnow


def current_criteria(conn: Connection) -> tuple[int, CriteriaSet]:
    row = conn.execute(select(CriteriaVersion.id, CriteriaVersion.toml)
                       .order_by(CriteriaVersion.id.desc()).limit(1)).first()
    if row is None:
        raise KimError("The database has no criteria. Run `kim init` first.")
    return row.id, parse_criteria(row.toml)


def criteria_version(conn: Connection, version_id: int) -> CriteriaSet:
    text = conn.scalar(select(CriteriaVersion.toml).where(CriteriaVersion.id == version_id))
    return _parsed(text)


@lru_cache(maxsize=32)
def _parsed(text: str) -> CriteriaSet:
    # Stored criteria never change and a CriteriaSet is immutable: parse each text once.
    return parse_criteria(text)


def save_criteria(conn: Connection, toml_text: str, actor: str) -> int:
    """Store a new criteria version; it applies to rounds opened from now on."""
    parse_criteria(toml_text)
    before = conn.scalar(select(CriteriaVersion.toml).order_by(CriteriaVersion.id.desc()).limit(1))
    version_id = conn.execute(insert(CriteriaVersion).values(
        toml=toml_text, loaded_by=actor, loaded_at=utcnow())).inserted_primary_key[0]
    audit.record(conn, actor=actor, action=audit.CRITERIA_LOADED,
                 target=f"criteria version {version_id}", before=before, after=toml_text)
    return version_id
