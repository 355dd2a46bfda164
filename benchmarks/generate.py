"""A synthetic department: organisation, stored rounds of scores and a return workbook.

Everything comes from one seed, so the same arguments give the same department on every
machine. Each round's scores are drawn from their own generator (seeded by the seed and the
round's position), so round *i* can be made without making rounds 0..i-1 first, and the
benchmark can stream 20 rounds × 50,000 teams into a database one round at a time.

The model: every team has an ability and a trend; each round a criterion's value is that
ability, plus the trend times the round, plus the criterion's difficulty, plus noise, put on
the criterion's scale (level 0-3, percent, Yes/No). Most claims above the lowest level carry
evidence, some do not (the evidence rule then counts them as the lowest); a few scores have been
verified or challenged by the KIM team.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from kim_metrics.domain.criteria import CriteriaSet, load_criteria
from kim_metrics.domain.rounds import next_label, normalise_label

FIRST_ROUND = "2021-Q1"
TEAMS_PER_DIRECTORATE = 50
DIRECTORATES_PER_GROUP = 10
RETURN_HEADERS = ["Group", "Directorate", "Team", "Criterion", "Score", "Evidence",
                  "Evidence link", "Comment"]
SCORE_FIELDS = ["team_id", "criterion", "claimed_raw", "claimed", "evidence", "evidence_link",
                "comment", "review_status", "reviewed_value", "reviewer", "review_note",
                "reviewed_at"]
BASE_TIME = datetime(2021, 1, 4, 9, 0, 0)

_GROUPS = ("Corporate Services", "Policy and Strategy", "Operations", "Digital and Data",
           "Finance and Commercial", "People and Capability", "Legal", "Communications",
           "Regulation", "Delivery")
_FUNCTIONS = ("Records", "Policy", "Casework", "Analysis", "Finance", "Estates", "Digital",
              "Commercial", "Private Office", "Communications", "Legal Advice", "Security",
              "Data", "Programme", "Workforce", "Audit", "Insight", "Grants")
_EVIDENCE = ("Spot check of {n} files", "Screenshot of the team site, {m}", "Minutes of the team "
             "meeting, {m}", "Register extract, {m}", "Training report from Civil Service "
             "Learning, {m}", "Disposal log, {m}", "Schedule signed off by the director, {m}")
_COMMENTS = ("Lead changed this quarter.", "Catching up after the restructure.",
             "Shared drive migration in progress.", "See linked plan.")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


@dataclass(frozen=True)
class Department:
    """The organisation and the rounds of a synthetic department (scores are made on demand)."""

    n_teams: int
    n_rounds: int
    seed: int
    criteria: CriteriaSet = field(repr=False)
    teams_per_directorate: int = TEAMS_PER_DIRECTORATE

    @cached_property
    def round_labels(self) -> list[str]:
        labels = [FIRST_ROUND]
        while len(labels) < self.n_rounds:
            labels.append(next_label(labels[-1]))
        return labels[: self.n_rounds]

    @property
    def return_round(self) -> str:
        """The round the generated return workbook is for: the one after the stored rounds."""
        return next_label(self.round_labels[-1]) if self.n_rounds else normalise_label(FIRST_ROUND)

    @cached_property
    def directorates(self) -> pd.DataFrame:
        """directorate_id (1..D), directorate, group, director."""
        n = max(1, math.ceil(self.n_teams / self.teams_per_directorate))
        ids = np.arange(1, n + 1)
        group_no = (ids - 1) // DIRECTORATES_PER_GROUP
        groups = [_GROUPS[g % len(_GROUPS)] + (f" {g // len(_GROUPS) + 1}" if g >= len(_GROUPS) else "")
                  for g in group_no]
        names = [f"{_FUNCTIONS[(i - 1) % len(_FUNCTIONS)]} Directorate {i:04d}" for i in ids]
        return pd.DataFrame({"directorate_id": ids, "directorate": names, "group": groups,
                             "director": [f"director.{i:04d}@dept.example.gov.uk" for i in ids]})

    @cached_property
    def teams(self) -> pd.DataFrame:
        """One row per team: team_id (1..N), team, directorate_id, directorate, group, director,
        information_managers (a "; "-separated string)."""
        ids = np.arange(1, self.n_teams + 1)
        d_ids = (ids - 1) // self.teams_per_directorate + 1
        d = self.directorates.set_index("directorate_id").loc[d_ids]
        names = [f"{_FUNCTIONS[(i * 7) % len(_FUNCTIONS)]} Team {i:05d}" for i in ids]
        ims = [f"im.{i:05d}@dept.example.gov.uk" + (f"; deputy.im.{i:05d}@dept.example.gov.uk"
                                                     if i % 3 == 0 else "") for i in ids]
        return pd.DataFrame({"team_id": ids, "team": names, "directorate_id": d_ids,
                             "directorate": d["directorate"].to_numpy(),
                             "group": d["group"].to_numpy(), "director": d["director"].to_numpy(),
                             "information_managers": ims})

    @cached_property
    def _ability(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, 0])
        ability = rng.uniform(0.1, 0.9, self.n_teams)
        trend = rng.normal(0.012, 0.02, self.n_teams)
        difficulty = rng.normal(0.0, 0.08, len(self.criteria))
        return ability, trend, difficulty

    def round_scores(self, index: int) -> pd.DataFrame:
        """Round ``index`` (0-based; ``n_rounds`` is the return's round): one row per team ×
        criterion, teams in id order, criteria in the file's order. Columns ``SCORE_FIELDS``."""
        n, ids = self.n_teams, self.criteria.ids
        k = len(ids)
        rng = np.random.default_rng([self.seed, index + 1])
        ability, trend, difficulty = self._ability
        latent = (ability + trend * index)[:, None] + difficulty[None, :] + rng.normal(0, 0.12, (n, k))
        latent = np.clip(latent, 0.0, 1.0)
        claimed = np.empty((n, k))
        raw = np.empty((n, k), dtype=object)
        for j, c in enumerate(self.criteria):
            col = latent[:, j]
            if c.scale == "level":
                v = np.clip(np.rint(col * c.top), 0, c.top)
                raw[:, j] = v.astype(int).astype(str)
            elif c.scale == "percent":
                v = np.clip(np.rint(col * 100 + rng.normal(0, 8, n)), 0, 100)
                raw[:, j] = v.astype(int).astype(str)
            else:
                v = (col + rng.normal(0, 0.1, n) > 0.4).astype(float)
                raw[:, j] = np.where(v > 0, "Yes", "No")
            claimed[:, j] = v
        # Evidence: most claims above the lowest carry it; some do not (flagged as unevidenced).
        has_evidence = rng.random((n, k)) < np.where(claimed > 0, 0.92, 0.4)
        has_link = has_evidence & (rng.random((n, k)) < 0.6)
        has_comment = rng.random((n, k)) < 0.08
        template = rng.integers(0, len(_EVIDENCE), (n, k))
        month = _MONTHS[(index * 3 + 2) % 12]
        texts = np.array([t.format(n=12, m=month) for t in _EVIDENCE], dtype=object)
        evidence = np.where(has_evidence, texts[template], "")
        team_ids = np.repeat(np.arange(1, n + 1), k)
        crit = np.tile(np.array(ids, dtype=object), n)
        link_ids = np.arange(n * k)
        links = np.where(has_link.ravel(),
                         np.char.add(f"https://intranet.dept.example.gov.uk/kim/{self.round_label(index)}/",
                                     link_ids.astype(str)).astype(object), "")
        comments = np.array(_COMMENTS, dtype=object)[rng.integers(0, len(_COMMENTS), n * k)]
        comments = np.where(has_comment.ravel(), comments, "")
        # Review: 5 % verified, 1 % challenged one step down (0 stays 0).
        review = rng.random(n * k)
        status = np.where(review < 0.01, "challenged", np.where(review < 0.06, "verified",
                                                                "self-declared")).astype(object)
        flat_claimed = claimed.ravel()
        top = np.tile(np.array([c.top for c in self.criteria]), n)
        step = np.where(top == 100.0, 20.0, 1.0)
        reviewed_value = np.where(status == "challenged", np.maximum(flat_claimed - step, 0.0),
                                  np.where(status == "verified", flat_claimed, np.nan))
        reviewed = status != "self-declared"
        reviewer = np.where(reviewed, "kim.team@dept.example.gov.uk", None).astype(object)
        note = np.where(status == "challenged", "Evidence does not show this level yet.",
                        np.where(status == "verified", "Checked against the evidence.", None))
        when = BASE_TIME + timedelta(days=91 * index + 30)
        reviewed_at = np.where(reviewed, when, None).astype(object)
        return pd.DataFrame({
            "team_id": team_ids, "criterion": crit, "claimed_raw": raw.ravel(),
            "claimed": flat_claimed, "evidence": evidence.ravel(), "evidence_link": links,
            "comment": comments, "review_status": status, "reviewed_value": reviewed_value,
            "reviewer": reviewer, "review_note": note.astype(object), "reviewed_at": reviewed_at,
        }, columns=SCORE_FIELDS)

    def round_label(self, index: int) -> str:
        return self.return_round if index == self.n_rounds else self.round_labels[index]

    def all_scores(self) -> pd.DataFrame:
        """Every stored round's scores with a ``round`` column (for small scales and tests)."""
        frames = [self.round_scores(i).assign(round=label) for i, label in enumerate(self.round_labels)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*SCORE_FIELDS, "round"])

    def return_rows(self) -> list[list[object]]:
        """The return for ``return_round`` in the long layout, as an information manager types it:
        criterion names, scores as numbers mostly, some as level labels, "Yes"/"No" and "85%"."""
        scores = self.round_scores(self.n_rounds)
        rng = np.random.default_rng([self.seed, 10_000])
        by_id = {c.id: c for c in self.criteria}
        teams = self.teams.set_index("team_id")
        group = teams["group"].reindex(scores["team_id"]).to_numpy()
        directorate = teams["directorate"].reindex(scores["team_id"]).to_numpy()
        team = teams["team"].reindex(scores["team_id"]).to_numpy()
        as_label = rng.random(len(scores)) < 0.15
        rows = []
        for i, (cid, claimed, evidence, link, comment) in enumerate(zip(
                scores["criterion"], scores["claimed"], scores["evidence"],
                scores["evidence_link"], scores["comment"])):
            c = by_id[cid]
            if c.scale == "level":
                value: object = c.levels[int(claimed)] if as_label[i] else int(claimed)
            elif c.scale == "percent":
                value = f"{int(claimed)}%" if as_label[i] else int(claimed)
            else:
                value = "Yes" if claimed else "No"
            rows.append([group[i], directorate[i], team[i], c.name, value, evidence or None,
                         link or None, comment or None])
        return rows


def generate_department(teams: int, rounds: int, seed: int, *,
                        teams_per_directorate: int = TEAMS_PER_DIRECTORATE,
                        criteria: CriteriaSet | None = None) -> Department:
    if teams < 1 or rounds < 0:
        raise ValueError("need at least one team and zero or more rounds")
    return Department(n_teams=teams, n_rounds=rounds, seed=seed,
                      criteria=criteria or load_criteria(),
                      teams_per_directorate=teams_per_directorate)


def write_return_xlsx(dept: Department, path: Path, *, sheet: str = "Return") -> Path:
    """Write the department's return (``return_round``) as an .xlsx in the long layout.

    openpyxl's write-only mode streams rows to the file, so 350,000 rows stay cheap in memory.
    """
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(RETURN_HEADERS)
    for row in dept.return_rows():
        ws.append(row)
    wb.save(path)
    return path


def org_rows(dept: Department) -> list[list[object]]:
    """The organisation workbook's rows (header first), as ``kim org load`` takes them."""
    t = dept.teams
    return [["Group", "Directorate", "Team", "Director", "Information managers"],
            *map(list, zip(t["group"], t["directorate"], t["team"], t["director"],
                           t["information_managers"]))]
