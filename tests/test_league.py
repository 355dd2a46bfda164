"""The ranker: ties, movement and levels, from tables of known values."""

import numpy as np
import pandas as pd
import pytest

from kim_metrics.domain.criteria import load_criteria
from kim_metrics.domain.league import build_league, league_records, movement_label, rank

CRITERIA = load_criteria()


@pytest.mark.parametrize(("scores", "ranks"), [
    ([90, 80, 80, 70], [1, 2, 2, 4]),
    ([50, 50, 50], [1, 1, 1]),
    ([10, np.nan, 20], [2, None, 1]),
    ([80.04, 80.01, 79.96], [1, 1, 1]),   # equal at the one decimal people read
    ([], []),
])
def test_rank_ties_share_and_skip(scores, ranks):
    out = rank(pd.Series(scores, dtype=float))
    assert [None if pd.isna(r) else int(r) for r in out] == ranks


@pytest.mark.parametrize(("moves", "ranked", "label"), [
    (3, True, "▲ 3"), (-1, True, "▼ 1"), (0, True, "–"), (pd.NA, True, "new"), (pd.NA, False, ""),
])
def test_movement_labels(moves, ranked, label):
    out = movement_label(pd.Series([moves], dtype="Int64"), pd.Series([ranked]))
    assert out.iloc[0] == label


def _teams(scores: dict[str, float | None], directorates: dict[str, str] | None = None) -> pd.DataFrame:
    names = list(scores)
    frame = pd.DataFrame({
        "team_id": range(1, len(names) + 1), "team": names,
        "directorate": [(directorates or {}).get(n, "D") for n in names], "group": "G",
        "score": [np.nan if v is None else v for v in scores.values()],
    })
    frame["returned"] = frame["score"].notna()
    frame["rag"] = CRITERIA.rag.classify(frame["score"].to_numpy())
    frame["unevidenced"] = 0
    for c in CRITERIA:
        frame[f"{c.id}.percent"] = frame["score"]
        frame[f"{c.id}.rag"] = frame["rag"]
        frame[f"{c.id}.evidenced"] = True
    return frame


def test_league_orders_by_score_with_ties_and_no_return_last():
    table = build_league(_teams({"A": 60, "B": 90, "C": None, "D": 60}), None, CRITERIA)
    assert table["name"].tolist() == ["B", "A", "D", "C"]
    assert [None if pd.isna(r) else int(r) for r in table["rank"]] == [1, 2, 2, None]
    assert table["movement_label"].tolist() == ["new", "new", "new", ""]


def test_movement_against_previous_round():
    before = _teams({"A": 90, "B": 80, "C": 70})
    now = _teams({"A": 60, "B": 80, "C": 95})
    table = build_league(now, before, CRITERIA).set_index("name")
    assert table.loc["C", "movement"] == 2 and table.loc["C", "movement_label"] == "▲ 2"
    assert table.loc["A", "movement"] == -2 and table.loc["A", "movement_label"] == "▼ 2"
    assert table.loc["B", "movement_label"] == "–"


def test_team_absent_last_round_is_new():
    before = _teams({"A": 90, "B": None})
    now = _teams({"A": 80, "B": 85})
    table = build_league(now, before, CRITERIA).set_index("name")
    assert table.loc["B", "movement_label"] == "new"
    assert table.loc["A", "movement_label"] == "▼ 1"


def test_directorate_level_ranks_rollups():
    teams = _teams({"A": 90, "B": 70, "C": 40, "D": None},
                   {"A": "D1", "B": "D1", "C": "D2", "D": "D3"})
    table = build_league(teams, None, CRITERIA, "directorate")
    assert table["name"].tolist() == ["D1", "D2", "D3"]
    assert table["score"].tolist()[:2] == [80.0, 40.0]
    assert table["rag"].tolist() == ["Green", "Red", "No return"]


def test_json_records_carry_the_design_fields():
    table = build_league(_teams({"A": 90, "B": 70}), _teams({"A": 70, "B": 90}), CRITERIA)
    records = league_records(table, CRITERIA)
    first = records[0]
    for key in ("rank", "name", "directorate", "group", "score", "rag", "movement", "criteria"):
        assert key in first
    assert first["movement"] == 1
    assert set(first["criteria"]) == set(CRITERIA.ids)
    assert set(first["criteria"]["naming"]) >= {"score", "rag", "evidenced"}


def test_ranks_invariants_on_random_scores():
    rng = np.random.default_rng(3)
    scores = pd.Series(np.round(rng.uniform(0, 100, 500), 0))
    ranks = rank(scores)
    # rank = 1 + number of strictly higher scores
    expected = scores.map(lambda s: 1 + int((scores > s).sum()))
    assert (ranks.astype(int) == expected).all()
