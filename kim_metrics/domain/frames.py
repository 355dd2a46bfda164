"""The columns of the frames that pass between modules, named once.

Four frames cross module boundaries:

* **scores**: one row per team × criterion, as ``scoring.score_rows`` leaves it;
* **team scores**: one row per team, as ``scoring.team_scores`` makes it, with a block of
  per-criterion columns named by ``criterion_column``;
* **league**: a ranked table at one level, as ``league.build_league`` makes it;
* **actions**: what each team must do next, as ``services.views.improvement_actions`` makes it.

Their schemas (types, which may be empty) are in ``kim_metrics.domain.frame_schemas``; the
tests check that the real frames satisfy them.
"""

from __future__ import annotations

# Columns shared by several frames.
TEAM_ID = "team_id"
TEAM = "team"
DIRECTORATE = "directorate"
GROUP = "group"
CRITERION = "criterion"
SCORE = "score"
RAG = "rag"
RETURNED = "returned"
UNEVIDENCED = "unevidenced"

# Scores: one row per team × criterion.
CLAIMED = "claimed"
EVIDENCED = "evidenced"
COUNTED = "counted"
PERCENT = "percent"
REVIEW_STATUS = "review_status"
SCORE_COLUMNS = (TEAM_ID, CRITERION, CLAIMED, EVIDENCED, UNEVIDENCED, COUNTED, PERCENT, RAG,
                 REVIEW_STATUS)

# Team scores: one row per team, then one block of columns per criterion.
TEAM_COLUMNS = (TEAM_ID, TEAM, DIRECTORATE, GROUP, SCORE, RETURNED, RAG, UNEVIDENCED)
TEAM_CRITERION_FIELDS = (PERCENT, RAG, EVIDENCED, COUNTED, CLAIMED, REVIEW_STATUS)

# League: a ranked table of teams, directorates or groups.
NAME = "name"
RANK = "rank"
TEAMS = "teams"
RETURNED_TEAMS = "returned_teams"
PREVIOUS_RANK = "previous_rank"
PREVIOUS_SCORE = "previous_score"
MOVEMENT = "movement"
MOVEMENT_LABEL = "movement_label"
LEAGUE_COLUMNS = (NAME, DIRECTORATE, GROUP, SCORE, RAG, RANK, TEAMS, RETURNED_TEAMS, RETURNED,
                  PREVIOUS_RANK, PREVIOUS_SCORE, MOVEMENT, MOVEMENT_LABEL)

# Actions: what a team must do next on one criterion.
ACTION_COLUMNS = (TEAM_ID, TEAM, CRITERION, "criterion_name", "kind", "now", RAG, "target",
                  "target_rag", "action", "team_gain", "gain")


def criterion_column(criterion_id: str, field: str) -> str:
    """The team-scores column holding ``field`` (percent, rag...) for one criterion."""
    return f"{criterion_id}.{field}"


def status_count_column(status: str) -> str:
    """A roll-up's column counting its teams with ``status``."""
    return f"teams.{status}"


STATUS_COUNT_PREFIX = status_count_column("")
