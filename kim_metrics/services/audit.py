"""The audit trail, for the KIM team and the board: who changed what, when, before and after."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain import access
from kim_metrics.domain.access import ADMIN, EXECUTIVE, Actor
from kim_metrics.domain.rounds import normalise_label
from kim_metrics.storage import audit


def audit_trail(engine: Engine, *, reader: Actor, round_label: str | None = None,
                actor: str | None = None, action: str | None = None) -> pd.DataFrame:
    """Audit records matching the filters. The records hold evidence and emails from every
    directorate, so only those who see everything may read them."""
    access.require(reader, {ADMIN, EXECUTIVE}, "read the audit trail")
    with engine.connect() as conn:
        return audit.trail(conn, round_label=normalise_label(round_label) if round_label else None,
                           actor=actor, action=action)
