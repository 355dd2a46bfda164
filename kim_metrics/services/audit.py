"""The audit trail, for the KIM team and the board: who changed what, when, before and after."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain import access
from kim_metrics.domain.access import ADMIN, EXECUTIVE, Actor
from kim_metrics.domain.rounds import normalise_label
from kim_metrics.storage import audit

ACTIONS = (audit.RETURN_SAVED, audit.SCORE_VERIFIED, audit.SCORE_CHALLENGED, audit.COMMENT_ADDED,
           audit.CRITERIA_LOADED, audit.ROUND_OPENED, audit.ROUND_DELETED, audit.ROUND_DEADLINE_SET,
           audit.ROUND_CLOSED, audit.ROUND_REOPENED, audit.ACTION_ADOPTED, audit.ACTION_UPDATED,
           audit.ACTION_CLOSED, audit.ORG_LOADED, audit.ROLE_GRANTED, audit.ROLE_REVOKED)


def audit_trail(engine: Engine, *, reader: Actor, round_label: str | None = None,
                actor: str | None = None, action: str | None = None, since: date | None = None,
                until: date | None = None, newest_first: bool = False) -> pd.DataFrame:
    """Audit records matching the filters (``since``/``until`` are days, both included),
    oldest first unless ``newest_first``. The records hold evidence and emails from every
    directorate, so only those who see everything may read them."""
    access.require(reader, {ADMIN, EXECUTIVE}, "read the audit trail")
    with engine.connect() as conn:
        found = audit.trail(conn, round_label=normalise_label(round_label) if round_label else None,
                            actor=actor, action=action,
                            since=datetime.combine(since, time.min) if since else None)
    if until is not None:
        found = found[pd.to_datetime(found["at"]) < datetime.combine(until + timedelta(days=1), time.min)]
    found = found.reset_index(drop=True)
    return found.iloc[::-1].reset_index(drop=True) if newest_first else found


def audit_people(engine: Engine, *, reader: Actor) -> list[str]:
    """Everyone who appears as the doer of a change: the "who" filter's choices."""
    trail = audit_trail(engine, reader=reader)
    return sorted(trail["actor"].dropna().unique().tolist())


def audit_actions(engine: Engine, *, reader: Actor) -> list[str]:
    """The kinds of change recorded, the usual ones first: the "what" filter's choices."""
    found = set(audit_trail(engine, reader=reader)["action"].dropna())
    return [a for a in ACTIONS if a in found] + sorted(found - set(ACTIONS))


# Before and after, field by field ------------------------------------------------------------

CHANGE_COLUMNS = ["field", "before", "after", "changed"]
# The columns that name a row of a table kept as columns (a saved return's scores).
_ROW_KEYS = ("team", "criterion")


def field_changes(before: str | None, after: str | None) -> pd.DataFrame:
    """An audit record's before and after (its JSON texts) as one row per field.

    Nested values are named by their path ("scores.naming"); a table kept as columns of
    equal length (a return's team, criterion, score and evidence) is one field per row and
    column, named by the row's team and criterion ("Records: naming · score"). Fields only on
    one side show an empty other side. Rows that changed come first, in field order.
    """
    old, new = _flatten(_load(before)), _flatten(_load(after))
    fields = list(dict.fromkeys([*old, *new]))
    rows = [{"field": f, "before": _text(old.get(f)), "after": _text(new.get(f)),
             "changed": old.get(f) != new.get(f)} for f in fields]
    frame = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    if frame.empty:
        return frame
    frame["changed"] = frame["changed"].astype(bool)
    return frame.sort_values("changed", ascending=False, kind="stable").reset_index(drop=True)


def _load(text: str | None) -> Any:
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict) and _is_column_table(value):
        return _flatten_table(value, prefix)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        # A list of records (an IMA plan's actions): one field per record and key.
        out = {}
        for i, item in enumerate(value, start=1):
            out.update(_flatten(item, f"{prefix}[{i}]" if prefix else f"[{i}]"))
        return out
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            name = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(_flatten(v, name))
            else:
                out[name] = v
        return out
    return {prefix or "value": value}


def _is_column_table(value: dict) -> bool:
    lists = [v for v in value.values() if isinstance(v, list)]
    return (len(lists) == len(value) >= 2 and len({len(v) for v in lists}) == 1
            and all(k in value for k in _ROW_KEYS))


def _flatten_table(value: dict, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    n = len(next(iter(value.values())))
    others = [k for k in value if k not in _ROW_KEYS]
    for i in range(n):
        row = f"{value['team'][i]}: {value['criterion'][i]}"
        for k in others:
            name = f"{row} · {k}"
            out[f"{prefix}.{name}" if prefix else name] = value[k][i]
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
