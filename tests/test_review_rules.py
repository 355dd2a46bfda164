"""Reviewing a claim: an unevidenced claim cannot be verified; bulk review is all or none."""

from __future__ import annotations

import pandas as pd
import pytest

from kim_metrics.domain.access import local_admin
from kim_metrics.domain.scoring import is_unevidenced
from kim_metrics.services import returns as return_service
from kim_metrics.services import review as review_service
from kim_metrics.services import scores as score_service

from tests.support.returns import FULL_MARKS, RETURN_HEADERS, long_rows


def _saved(engine, evidence_for: dict[str, str]) -> pd.DataFrame:
    rows = []
    for team, evidence in evidence_for.items():
        rows += long_rows({team: FULL_MARKS}, evidence=evidence)
    data = pd.DataFrame(rows, columns=RETURN_HEADERS).to_csv(index=False).encode()
    return_service.save_preview(engine, return_service.check_return(engine, data, "r.csv", "2026-Q1"),
                                uploader="local-admin")
    return score_service.scored_round(engine, "2026-Q1", actor=local_admin()).scores


def test_the_evidence_rule_in_one_place():
    assert is_unevidenced(3, "", None) and is_unevidenced(1, " \n", "")
    assert not is_unevidenced(3, "Spot check", "") and not is_unevidenced(3, None, "https://x")
    assert not is_unevidenced(0, "", "")


def test_verifying_an_unevidenced_claim_is_refused_and_nothing_changes(engine):
    scores = _saved(engine, {"Records": "", "Estates": "Spot check"})
    bare = scores[(scores["team"] == "Records") & scores["unevidenced"]].iloc[0]
    with pytest.raises(review_service.UnevidencedClaim, match="no evidence.*Challenge it"):
        review_service.review_score(engine, int(bare["score_id"]), status="verified", actor=local_admin())
    after = score_service.scored_round(engine, "2026-Q1", actor=local_admin()).scores
    assert after.set_index("score_id").loc[int(bare["score_id"]), "review_status"] == "self-declared"
    # A challenge of the same claim is allowed: it says what it counts at and why.
    review_service.review_score(engine, int(bare["score_id"]), status="challenged", value=0,
                                note="No evidence given", actor=local_admin())


def test_bulk_verify_is_all_or_none(engine):
    scores = _saved(engine, {"Records": "", "Estates": "Spot check"})
    good = scores.loc[scores["team"] == "Estates", "score_id"].astype(int).tolist()
    bare = int(scores.loc[(scores["team"] == "Records") & scores["unevidenced"], "score_id"].iloc[0])
    with pytest.raises(review_service.UnevidencedClaim):
        review_service.review_scores(engine, [*good, bare], status="verified", actor=local_admin())
    mid = score_service.scored_round(engine, "2026-Q1", actor=local_admin()).scores
    assert set(mid["review_status"]) == {"self-declared"}
    review_service.review_scores(engine, good, status="verified", actor=local_admin())
    done = score_service.scored_round(engine, "2026-Q1", actor=local_admin()).scores.set_index("score_id")
    assert (done.loc[good, "review_status"] == "verified").all()
