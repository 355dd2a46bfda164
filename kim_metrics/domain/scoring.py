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

from kim_metrics.domain.criteria import NO_RETURN, CriteriaSet
from kim_metrics.domain.frames import (EVIDENCED, PERCENT, RAG, STATUS_COUNT_PREFIX, TEAM_CRITERION_FIELDS,
                                         criterion_column, status_count_column)

SCORE_DECIMALS = 1
CHALLENGED = "challenged"
VERIFIED = "verified"
SELF_DECLARED = "self-declared"
REVIEW_STATUSES = (VERIFIED, CHALLENGED, SELF_DECLARED)
LEVELS = ("team", "directorate", "group")


# Whitespace that does not count as evidence (store.round_scores applies the same rule in SQL).
EVIDENCE_BLANKS = " \t\r\n"


def has_evidence(evidence: object, link: object) -> bool:
    """Whether a score has evidence: text or a link that is more than whitespace."""
    return any(isinstance(v, str) and v.strip(EVIDENCE_BLANKS) for v in (evidence, link))


def is_unevidenced(claimed: float | None, evidence: object, link: object) -> bool:
    """A claim above the lowest value with no evidence: it counts as the lowest value."""
    return claimed is not None and float(claimed) > 0 and not has_evidence(evidence, link)


def score_rows(scores: pd.DataFrame, criteria: CriteriaSet) -> pd.DataFrame:
    """Add ``evidenced``, ``unevidenced``, ``counted``, ``percent`` and ``rag`` to each score.

    ``scores`` holds one row per team × criterion with ``criterion``, ``claimed`` and either
    ``evidenced`` or the ``evidence`` and ``evidence_link`` texts, and optionally
    ``review_status`` / ``reviewed_value``.
    """
    out = scores.copy()
    if "evidenced" not in out.columns:
        evidence = out["evidence"].fillna("").astype(str).str.strip(EVIDENCE_BLANKS)
        link = out["evidence_link"].fillna("").astype(str).str.strip(EVIDENCE_BLANKS)
        out["evidenced"] = (evidence != "") | (link != "")
    claimed = out["claimed"].to_numpy(dtype=float)
    evidenced = out["evidenced"].to_numpy(dtype=bool)
    unevidenced = (claimed > 0) & ~evidenced
    counted = np.where(unevidenced, 0.0, claimed)
    if "review_status" in out.columns:
        reviewed = out["reviewed_value"].to_numpy(dtype=float, na_value=np.nan) \
            if "reviewed_value" in out.columns else np.full(len(out), np.nan)
        challenged = (out["review_status"].to_numpy(dtype=object) == CHALLENGED) & ~np.isnan(reviewed)
        counted = np.where(challenged, reviewed, counted)
    else:
        out["review_status"] = SELF_DECLARED
    percent = np.full(len(out), np.nan)
    rag = np.full(len(out), NO_RETURN, dtype=object)
    ids = out["criterion"].to_numpy(dtype=object)
    for c in criteria:
        mask = ids == c.id
        if mask.any():
            percent[mask] = c.to_percent(counted[mask])
            rag[mask] = criteria.rag.classify(counted[mask], c.rag)
    out["unevidenced"] = unevidenced
    out["counted"] = counted
    out["percent"] = percent
    out["rag"] = rag
    return out


def team_scores(scored: pd.DataFrame, teams: pd.DataFrame, criteria: CriteriaSet) -> pd.DataFrame:
    """One row per team in ``teams``: weighted score 0-100, RAG, and whether it returned.

    ``teams`` has ``team_id``, ``team``, ``directorate`` and ``group``. Per-criterion
    columns ``<id>.percent``, ``<id>.rag``, ``<id>.evidenced``, ``<id>.counted``,
    ``<id>.claimed`` and ``<id>.review_status`` are added for the table's criterion cells.
    """
    out = teams[["team_id", "team", "directorate", "group"]].copy().reset_index(drop=True)
    ids = criteria.ids
    # Lay the scores out as a teams × criteria grid by position: no pivot, no per-row Python.
    row = pd.Index(out["team_id"]).get_indexer(scored["team_id"])
    col = pd.Index(ids).get_indexer(scored["criterion"])
    keep = (row >= 0) & (col >= 0)
    row, col = row[keep], col[keep]
    n_teams, n_criteria = len(out), len(ids)

    def grid(field: str, fill, dtype) -> np.ndarray:
        values = np.full((n_teams, n_criteria), fill, dtype=dtype)
        values[row, col] = scored[field].to_numpy()[keep]
        return values

    percent = grid("percent", np.nan, float)
    weights = np.array([criteria.weights[c] for c in ids], dtype=float)
    present = ~np.isnan(percent)
    total_weight = (present * weights).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        team_score = np.where(total_weight > 0, np.nansum(percent * weights, axis=1) / total_weight, np.nan)
    out["score"] = np.round(team_score, SCORE_DECIMALS)
    out["returned"] = ~np.isnan(out["score"].to_numpy())
    out["rag"] = criteria.rag.classify(out["score"].to_numpy())
    columns = {}
    for field in TEAM_CRITERION_FIELDS:
        values = percent if field == "percent" else grid(field, np.nan, object)
        for j, cid in enumerate(ids):
            columns[criterion_column(cid, field)] = values[:, j]
    unevidenced = np.zeros(n_teams, dtype=int)
    np.add.at(unevidenced, row, scored["unevidenced"].to_numpy(dtype=int)[keep])
    columns["unevidenced"] = unevidenced
    return pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)


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
        out[status_count_column(status)] = frame[frame["rag"] == status].groupby(key).size()
    out = out.fillna({c: 0 for c in out.columns if c.startswith(STATUS_COUNT_PREFIX)})
    out["rag"] = criteria.rag.classify(out["score"].to_numpy())
    for c in criteria:
        percent_col = criterion_column(c.id, PERCENT)
        mean_pct = returned.groupby(key)[percent_col].mean()
        out[percent_col] = mean_pct.round(SCORE_DECIMALS)
        out[criterion_column(c.id, RAG)] = criteria.rag.classify(
            out[percent_col].to_numpy() / 100 * c.top, c.rag)
        out[criterion_column(c.id, EVIDENCED)] = np.nan
    if by == "directorate":
        groups = frame.drop_duplicates("directorate").set_index("directorate")["group"]
        out["group"] = groups.reindex(out.index)
    out = out.rename_axis("name").reset_index()
    for col in [c for c in out.columns if c.startswith(STATUS_COUNT_PREFIX)]:
        out[col] = out[col].astype(int)
    return out


def rag_mix(teams: pd.DataFrame, criteria: CriteriaSet) -> dict[str, int]:
    """How many teams have each status, ``No return`` included, in the scale's order."""
    counts = teams["rag"].value_counts()
    return {s: int(counts.get(s, 0)) for s in (*criteria.rag.levels, NO_RETURN)}

