"""Schemas of the frames that pass between modules (see ``frames``), as pandera checks them.

``check(frame, SCHEMA)`` returns the frame when it fits and raises ``pandera.errors.SchemaError``
naming the column when it does not. The tests run every real frame through these; extra
columns are allowed (a frame may carry more than its contract), missing or mistyped ones are not.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from kim_metrics.domain import frames as f

_PER_CRITERION = r"^[^.]+\.{}$"


def _text(nullable: bool = False) -> pa.Column:
    # Text columns are pandas' ``str`` or ``object`` dtype depending on how they were built;
    # what matters is that every value is text.
    return pa.Column(None, nullable=nullable,
                     checks=pa.Check(lambda s: s.dropna().map(lambda v: isinstance(v, str)).all(),
                                     error="every value must be text"))


def _number(nullable: bool = True, **checks) -> pa.Column:
    return pa.Column(float, nullable=nullable, checks=[pa.Check.in_range(**checks)] if checks else None)


def _whole(nullable: bool = False, dtype=int) -> pa.Column:
    return pa.Column(dtype, nullable=nullable, checks=pa.Check.ge(0))


SCORES = pa.DataFrameSchema({
    f.TEAM_ID: pa.Column(int),
    f.CRITERION: _text(),
    f.CLAIMED: _number(),
    f.EVIDENCED: pa.Column(bool),
    f.UNEVIDENCED: pa.Column(bool),
    f.COUNTED: _number(),
    f.PERCENT: _number(min_value=0, max_value=100),
    f.RAG: _text(),
    f.REVIEW_STATUS: _text(nullable=True),
}, strict=False, name="scores")

TEAM_SCORES = pa.DataFrameSchema({
    f.TEAM_ID: pa.Column(int, unique=True),
    f.TEAM: _text(),
    f.DIRECTORATE: _text(),
    f.GROUP: _text(),
    f.SCORE: _number(min_value=0, max_value=100),
    f.RETURNED: pa.Column(bool),
    f.RAG: _text(),
    f.UNEVIDENCED: _whole(),
    _PER_CRITERION.format(f.PERCENT): pa.Column(float, nullable=True, regex=True,
                                                checks=pa.Check.in_range(0, 100)),
    _PER_CRITERION.format(f.RAG): pa.Column(None, nullable=True, regex=True),
}, strict=False, name="team scores")

LEAGUE = pa.DataFrameSchema({
    f.NAME: _text(),
    f.DIRECTORATE: _text(),
    f.GROUP: _text(),
    f.SCORE: _number(min_value=0, max_value=100),
    f.RAG: _text(),
    f.RANK: pa.Column("Int64", nullable=True, checks=pa.Check.ge(1)),
    f.TEAMS: _whole(),
    f.RETURNED_TEAMS: _whole(),
    f.RETURNED: pa.Column(bool),
    f.PREVIOUS_RANK: pa.Column("Int64", nullable=True),
    f.PREVIOUS_SCORE: _number(),
    f.MOVEMENT: pa.Column(nullable=True),
    f.MOVEMENT_LABEL: _text(),
}, strict=False, name="league")

ACTIONS = pa.DataFrameSchema({
    f.TEAM_ID: pa.Column(int),
    f.TEAM: _text(),
    f.CRITERION: _text(),
    "criterion_name": _text(),
    "kind": pa.Column(None, checks=pa.Check.isin(["evidence", "next level"])),
    "now": _text(),
    f.RAG: _text(),
    "target": _text(),
    "target_rag": _text(),
    "action": _text(),
    "team_gain": _number(nullable=False, min_value=0, max_value=100),
    "gain": _number(nullable=False, min_value=0, max_value=100),
}, strict=False, ordered=False, name="actions")


def check(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """``frame`` when it satisfies ``schema``; ``pandera.errors.SchemaError`` naming what does not."""
    return schema.validate(frame, lazy=False)
