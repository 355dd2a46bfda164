"""The frames that pass between modules satisfy their declared schemas, on the demo department."""

from __future__ import annotations

import pandas as pd
import pandera.errors
import pytest

from kim_metrics.domain import frames
from kim_metrics.domain.access import local_admin
from kim_metrics.domain.frame_schemas import ACTIONS, LEAGUE, SCORES, TEAM_SCORES, check
from kim_metrics.services import league as league_service
from kim_metrics.services import scores as score_service
from kim_metrics.services import views
from tests.support.hostile_demo import ROUND


@pytest.fixture(scope="module")
def scored(hostile_demo):
    return score_service.scored_round(hostile_demo, ROUND, actor=local_admin())


def test_scores_and_team_scores_fit_their_schemas(scored):
    check(scored.scores, SCORES)
    check(scored.teams, TEAM_SCORES)
    # Every criterion has its block of columns, named one way.
    for c in scored.criteria:
        for field in frames.TEAM_CRITERION_FIELDS:
            assert frames.criterion_column(c.id, field) in scored.teams.columns
    assert not scored.teams["returned"].all()   # the demo has non-returns: the schema saw NaN scores


@pytest.mark.parametrize("level", ["team", "directorate", "group"])
def test_league_fits_its_schema_at_every_level(hostile_demo, level):
    table = league_service.league(hostile_demo, ROUND, level).table
    check(table, LEAGUE)
    assert set(frames.LEAGUE_COLUMNS) <= set(table.columns)


def test_actions_fit_their_schema(scored):
    actions = views.improvement_actions(scored.teams, scored.scores, scored.criteria)
    assert len(actions) > 0
    assert list(actions.columns) == list(frames.ACTION_COLUMNS)
    check(actions, ACTIONS)


def test_a_frame_missing_a_column_or_out_of_range_is_refused(scored):
    with pytest.raises(pandera.errors.SchemaError, match="rag"):
        check(scored.teams.drop(columns="rag"), TEAM_SCORES)
    bad = scored.teams.copy()
    bad.loc[bad.index[0], "score"] = 140.0
    with pytest.raises(pandera.errors.SchemaError, match="score"):
        check(bad, TEAM_SCORES)
    wrong = scored.scores.copy()
    wrong["criterion"] = pd.Series([1] * len(wrong), index=wrong.index, dtype=object)
    with pytest.raises(pandera.errors.SchemaError, match="criterion"):
        check(wrong, SCORES)
