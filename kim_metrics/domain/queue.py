"""What checking a claim is worth: the verification queue's order.

The KIM team cannot check every self-declared score, so the queue puts first the claims
whose checking matters most. Rules, all deliberate:

* **Points.** A claim's points are what it adds to its team's score over the lowest value:
  ``weight(c) × (percent(claimed) − percent(lowest)) / Σ weights of the team's criteria``.
  Refusing the claim (a challenge to the lowest value) takes them away.
* **Crosses a boundary.** A claim moves its team across a status boundary when the team's
  status with the claim counted differs from its status with the claim at the lowest value
  (team scores rounded as the league rounds them).
* **Green claim.** The claimed value reaches the criterion's best status.
* **Order.** Claims that cross a boundary first, then Green claims, then by points, then by
  team name and the criteria's order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.domain.scoring import SCORE_DECIMALS

IMPACT_COLUMNS = ["claimed_rag", "green_claim", "points", "status_with", "status_without",
                  "crosses_boundary"]


def claim_impact(scored: pd.DataFrame, criteria: CriteriaSet) -> pd.DataFrame:
    """``scored`` (``score_rows`` output, every criterion of each team present) with the
    columns of ``IMPACT_COLUMNS`` added, in the queue's order."""
    out = scored[scored["criterion"].isin(criteria.ids)].copy()
    if out.empty:
        for col in IMPACT_COLUMNS:
            out[col] = pd.Series(dtype=object)
        return out
    by_id = {c.id: c for c in criteria}
    weight = out["criterion"].map(criteria.weights).to_numpy(dtype=float)
    claimed_pct = np.empty(len(out))
    lowest_pct = np.empty(len(out))
    claimed_rag = np.empty(len(out), dtype=object)
    ids = out["criterion"].to_numpy(dtype=object)
    claimed = out["claimed"].to_numpy(dtype=float)
    for cid in set(ids):
        mask = ids == cid
        c = by_id[cid]
        claimed_pct[mask] = c.to_percent(claimed[mask])
        lowest_pct[mask] = c.to_percent(np.zeros(int(mask.sum())))
        claimed_rag[mask] = criteria.rag.classify(claimed[mask], c.rag)
    percent = out["percent"].to_numpy(dtype=float)
    present = ~np.isnan(percent)
    team = out["team_id"].to_numpy()
    frame = pd.DataFrame({"team": team, "w": np.where(present, weight, 0.0),
                          "wp": np.where(present, weight * np.nan_to_num(percent), 0.0)})
    totals = frame.groupby("team").sum()
    total_w = totals["w"].reindex(team).to_numpy()
    total_wp = totals["wp"].reindex(team).to_numpy()
    now = np.nan_to_num(percent)
    with np.errstate(invalid="ignore", divide="ignore"):
        with_claim = (total_wp - weight * now + weight * claimed_pct) / total_w
        without = (total_wp - weight * now + weight * lowest_pct) / total_w
        points = weight * (claimed_pct - lowest_pct) / total_w
    status_with = criteria.rag.classify(np.round(with_claim, SCORE_DECIMALS))
    status_without = criteria.rag.classify(np.round(without, SCORE_DECIMALS))
    best = criteria.rag.levels[-1]
    out["claimed_rag"] = claimed_rag
    out["green_claim"] = claimed_rag == best
    out["points"] = np.round(np.nan_to_num(points), 2)
    out["status_with"] = status_with
    out["status_without"] = status_without
    out["crosses_boundary"] = status_with != status_without
    order = {c.id: i for i, c in enumerate(criteria)}
    out["_order"] = out["criterion"].map(order)
    out = out.sort_values(["crosses_boundary", "green_claim", "points", "team", "_order"],
                          ascending=[False, False, False, True, True], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)
