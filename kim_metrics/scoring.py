"""Scores to statuses: the evidence rule, weighted team scores and RAG roll-ups.

Edge-case rules, all deliberate:

* **Evidence rule.** A claim above the lowest value counts only when it has evidence text
  or an evidence link. Otherwise it counts as the lowest value, is flagged ``unevidenced``
  and the claim is kept, so the team can see what it asked for.
* **Review.** A challenged score counts at the reviewer's value, whatever was claimed.
* **Team score.** Each criterion is made 0-100 (a level as its position over the top
  position, a percent as itself, yes 100 and no 0) and the team score is the weighted
  mean, rounded to one decimal before anything ranks or colours it, so the table, the RAG
  and the rank always agree with the number a person reads.
* **No return.** A team without a return in the round has no score and the status
  ``No return``; it is never Red or Green by default.
* **Roll-ups.** A directorate's (group's, department's) score is the mean of the scores of
  its teams that returned; its status comes from the team thresholds; when none of its
  teams returned it is ``No return``. How many teams returned is always shown beside it.

Everything is vectorised with pandas: the loops below run once per criterion or per level,
never once per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .criteria import NO_RETURN, CriteriaSet

SCORE_DECIMALS = 1
CHALLENGED = "challenged"
VERIFIED = "verified"
SELF_DECLARED = "self-declared"
LEVELS = ("team", "directorate", "group")


def score_rows(scores: pd.DataFrame, criteria: CriteriaSet) -> pd.DataFrame:
    """Add ``evidenced``, ``unevidenced``, ``counted``, ``percent`` and ``rag`` to each score.

    ``scores`` holds one row per team × criterion with ``criterion``, ``claimed``,
    ``evidence``, ``evidence_link`` and optionally ``review_status`` / ``reviewed_value``.
    """
    out = scores.copy()
    evidence = out["evidence"].fillna("").astype(str).str.strip()
    link = out["evidence_link"].fillna("").astype(str).str.strip()
    out["evidenced"] = (evidence != "") | (link != "")
    claimed = out["claimed"].astype(float)
    out["unevidenced"] = (claimed > 0) & ~out["evidenced"]
    counted = claimed.where(~out["unevidenced"], 0.0)
    if "review_status" in out.columns:
        challenged = out["review_status"].eq(CHALLENGED) & out["reviewed_value"].notna()
        counted = counted.where(~challenged, out["reviewed_value"].astype(float))
    else:
        out["review_status"] = SELF_DECLARED
    out["counted"] = counted
    out["percent"] = np.nan
    out["rag"] = NO_RETURN
    for c in criteria:
        mask = out["criterion"].eq(c.id).to_numpy()
        if mask.any():
            values = out.loc[mask, "counted"].to_numpy(dtype=float)
            out.loc[mask, "percent"] = c.to_percent(values)
            out.loc[mask, "rag"] = criteria.rag.classify(values, c.rag)
    return out


def team_scores(scored: pd.DataFrame, teams: pd.DataFrame, criteria: CriteriaSet) -> pd.DataFrame:
    """One row per team in ``teams``: weighted score 0-100, RAG, and whether it returned.

    ``teams`` has ``team_id``, ``team``, ``directorate`` and ``group``. Per-criterion
    columns ``<id>.percent``, ``<id>.rag``, ``<id>.evidenced``, ``<id>.counted`` and
    ``<id>.claimed`` are added for the table's criterion cells.
    """
    out = teams[["team_id", "team", "directorate", "group"]].copy()
    ids = criteria.ids
    wide = scored.pivot_table(index="team_id", columns="criterion", values="percent",
                              aggfunc="first").reindex(columns=ids)
    weights = pd.Series(criteria.weights).reindex(ids).to_numpy(dtype=float)
    present = wide.notna().to_numpy()
    weighted = np.nansum(wide.to_numpy(dtype=float) * weights, axis=1)
    total_weight = (present * weights).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        team_score = np.where(total_weight > 0, weighted / total_weight, np.nan)
    score = pd.Series(np.round(team_score, SCORE_DECIMALS), index=wide.index)
    out["score"] = out["team_id"].map(score).astype(float)
    out["returned"] = out["score"].notna()
    out["rag"] = criteria.rag.classify(out["score"].to_numpy())
    by_team = scored.set_index(["team_id", "criterion"])
    for field in ("percent", "rag", "evidenced", "counted", "claimed", "review_status"):
        table = by_team[field].unstack("criterion").reindex(columns=ids)
        for cid in ids:
            out[f"{cid}.{field}"] = out["team_id"].map(table[cid]) if cid in table else np.nan
    unevidenced = scored.groupby("team_id")["unevidenced"].sum()
    out["unevidenced"] = out["team_id"].map(unevidenced).fillna(0).astype(int)
    return out


def rollup(teams: pd.DataFrame, criteria: CriteriaSet, by: str | None) -> pd.DataFrame:
    """Roll team scores up to ``directorate``, ``group`` or (``by=None``) the department."""
    frame = teams.assign(_all="Department")
    key = by or "_all"
    returned = frame[frame["returned"]]
    grouped = frame.groupby(key, sort=True)
    out = pd.DataFrame({
        "teams": grouped.size(),
        "returned_teams": grouped["returned"].sum().astype(int),
        "score": returned.groupby(key)["score"].mean().round(SCORE_DECIMALS),
    })
    out["score"] = out["score"].astype(float)
    for status in (*criteria.rag.levels, NO_RETURN):
        out[f"teams.{status}"] = frame[frame["rag"] == status].groupby(key).size()
    out = out.fillna({c: 0 for c in out.columns if c.startswith("teams.")})
    out["rag"] = criteria.rag.classify(out["score"].to_numpy())
    for c in criteria:
        mean_pct = returned.groupby(key)[f"{c.id}.percent"].mean()
        out[f"{c.id}.percent"] = mean_pct.round(SCORE_DECIMALS)
        out[f"{c.id}.rag"] = criteria.rag.classify(out[f"{c.id}.percent"].to_numpy() / 100 * c.top,
                                                   c.rag)
        out[f"{c.id}.evidenced"] = np.nan
    if by == "directorate":
        groups = frame.drop_duplicates("directorate").set_index("directorate")["group"]
        out["group"] = groups.reindex(out.index)
    out = out.rename_axis("name").reset_index()
    for col in [c for c in out.columns if c.startswith("teams.")]:
        out[col] = out[col].astype(int)
    return out


def rag_mix(teams: pd.DataFrame, criteria: CriteriaSet) -> dict[str, int]:
    """How many teams have each status, ``No return`` included, in the scale's order."""
    counts = teams["rag"].value_counts()
    return {s: int(counts.get(s, 0)) for s in (*criteria.rag.levels, NO_RETURN)}


def review_mix(scored: pd.DataFrame) -> dict[str, int]:
    """How many of a round's counting scores are verified, challenged and self-declared."""
    counts = scored["review_status"].fillna(SELF_DECLARED).value_counts() if len(scored) else {}
    return {s: int(counts.get(s, 0)) for s in (VERIFIED, CHALLENGED, SELF_DECLARED)}
