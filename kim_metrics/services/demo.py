"""A believable demo department, made by code from a fixed seed.

Four groups, sixteen directorates and 120 teams with four quarterly rounds of returns, so
every page of the dashboard has something true-looking to show: teams that rise and fall,
teams that did not return, claims without evidence and teams that tie.

Each team's numbers come from its own random stream, keyed by the seed and the team's name
rather than its position or database id, so the same team gets the same story whichever
subset of the organisation is asked about and whatever ids the database handed out.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.styles import Font
from sqlalchemy.engine import Engine

from kim_metrics.domain.criteria import CriteriaSet, Criterion, load_criteria
from kim_metrics.domain.errors import KimError
from kim_metrics.reading.returns import FIELD_LABELS, ParsedReturn
from kim_metrics.domain.rounds import start_date
from kim_metrics.storage.criteria import current_criteria
from kim_metrics.storage.schema import ensure_schema
from kim_metrics.storage.rounds import list_rounds
from kim_metrics.storage.organisation import org_frame
from kim_metrics.services import actions as action_service
from kim_metrics.services.admin import close_round, open_round, save_organisation, set_deadline
from kim_metrics.domain.access import local_admin
from kim_metrics.services.comments import add_comment
from kim_metrics.services.returns import save_parsed
from kim_metrics.services.scores import scored_round
from kim_metrics.services.views import improvement_actions
from kim_metrics.reports.template import write_template
from kim_metrics.reports.cells import neutralise_workbook
from kim_metrics.reports.files import slug as _slug
from kim_metrics.services.demo_ima import load_demo_ima

DEMO_SEED = 2026
# Returns arrive 40-59 days after a round starts; a deadline at 56 days makes a few late.
DEADLINE_DAYS = 56
# The round after which the demo's directors commit to actions, so the next round's returns
# close some of them automatically and the rest stay open or fall overdue.
ACTIONS_ROUND = "2026-Q2"
ACTIONS_ADOPTED_ON = date(2026, 7, 20)
ACTION_DIRECTORATES = 4
DEMO_DOMAIN = "kim-demo.gov.uk"
DEMO_ROUNDS = ("2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3")
SAMPLE_ROUND = "2026-Q3"
SAMPLE_DIRECTORATE = "Estates and Security Directorate"
INTRANET = f"https://intranet.{DEMO_DOMAIN}"

# Group → directorate → teams. Eight teams each; the seed drops one team from half the
# directorates, so the department always has 120 teams but not always the same 120.
DEPARTMENT: dict[str, dict[str, tuple[str, ...]]] = {
    "Policy and Strategy Group": {
        "Tax Policy Directorate": (
            "Tax Policy Analysis", "Personal Tax Policy", "Business Tax Policy",
            "Indirect Tax Policy", "Tax Administration Policy", "Tax Legislation",
            "Tax Evidence and Costings", "Devolved Tax Liaison"),
        "Economic Strategy Directorate": (
            "Macroeconomic Forecasting", "Fiscal Strategy", "Growth and Productivity",
            "Regional Economies", "Labour Markets Analysis", "Spending Review Coordination",
            "Economic Modelling", "Strategy Unit"),
        "International Directorate": (
            "International Trade Policy", "European Relations", "Overseas Development Liaison",
            "International Tax Agreements", "Treaties and Negotiations", "Global Partnerships",
            "Export Controls Policy", "International Secondments"),
        "Parliamentary and Ministerial Directorate": (
            "Parliamentary Business", "Bill Team", "Secondary Legislation",
            "Ministerial Correspondence", "Private Office Support", "Select Committee Liaison",
            "Freedom of Information", "Public Inquiries Response"),
    },
    "Operations Group": {
        "Customer Services Directorate": (
            "Contact Centre North", "Contact Centre South", "Complaints Handling",
            "Customer Insight", "Digital Channels Support", "Extra Support Service",
            "Customer Correspondence", "Quality Assurance"),
        "Compliance and Enforcement Directorate": (
            "Risk and Intelligence", "Large Business Compliance", "Small Business Compliance",
            "Fraud Investigation", "Debt Management", "Criminal Investigation Support",
            "Compliance Analytics", "Enforcement Operations"),
        "Regional Operations Directorate": (
            "Regional Hub Scotland", "Regional Hub Wales", "Regional Hub North East",
            "Regional Hub Midlands", "Regional Hub South West", "Regional Hub London",
            "Field Operations Planning", "Operational Resilience"),
        "Casework and Appeals Directorate": (
            "Appeals and Reviews", "Tribunal Casework", "Litigation Support", "Casework Standards",
            "Payments and Repayments", "Case Progression", "Subject Access Requests",
            "Ombudsman Liaison"),
    },
    "Corporate Services Group": {
        "Finance Directorate": (
            "Financial Accounting", "Management Accounts", "Budgeting and Planning",
            "Audit and Risk Assurance", "Payroll Services", "Accounts Payable",
            "Financial Systems", "Investment Appraisal"),
        "People and Capability Directorate": (
            "HR Business Partners", "Recruitment and Resourcing", "Learning and Development",
            "Employee Relations", "Pay and Reward", "Diversity and Inclusion",
            "Health and Wellbeing", "Workforce Planning"),
        "Estates and Security Directorate": (
            "Estates Management", "Facilities Services", "Physical Security",
            "Hybrid Working Programme", "Sustainability and Net Zero", "Business Continuity",
            "Health and Safety", "Property Transactions"),
        "Commercial Directorate": (
            "Procurement Policy", "Contract Management", "Supplier Relationships",
            "Commercial Assurance", "Category Management", "Grants Management",
            "Commercial Systems", "Sourcing Operations"),
    },
    "Digital and Data Group": {
        "Digital Services Directorate": (
            "Digital Product Delivery", "User Research", "Service Design", "Content Design",
            "Web Publishing", "Digital Accessibility", "Agile Delivery Office",
            "Platform Engineering"),
        "Data and Analytics Directorate": (
            "Data Science", "Official Statistics", "Data Engineering", "Data Governance",
            "Analytical Standards", "Management Information", "Geospatial Data",
            "Data Sharing Agreements"),
        "Technology Directorate": (
            "Infrastructure and Hosting", "End User Computing", "Service Desk",
            "Network Services", "Enterprise Architecture", "Application Support",
            "Cloud Migration", "IT Asset Management"),
        "Security and Information Directorate": (
            "Cyber Security Operations", "Information Assurance",
            "Knowledge and Information Management", "Records Management",
            "Data Protection Office", "Departmental Security Unit", "Information Rights",
            "Archives and Transfer"),
    },
}

FIRST_NAMES = (
    "Aisha", "Alex", "Amara", "Andrew", "Bethan", "Callum", "Chloe", "Daniel", "Deepa", "Eilidh",
    "Emma", "Fatima", "Gareth", "Grace", "Hannah", "Harpreet", "Isaac", "James", "Joanne",
    "Kwame", "Laura", "Liam", "Mairead", "Marcus", "Megan", "Mohammed", "Nadia", "Niamh",
    "Oliver", "Priya", "Rhys", "Rachel", "Samuel", "Sarah", "Siobhan", "Thomas", "Tomasz",
    "Victoria", "Wei", "Zara",
)
LAST_NAMES = (
    "Adeyemi", "Ahmed", "Bennett", "Campbell", "Chen", "Clarke", "Davies", "Edwards", "Evans",
    "Fraser", "Green", "Hughes", "Hussain", "Jones", "Kaur", "Kowalski", "Lewis", "MacDonald",
    "Morgan", "Murphy", "Nowak", "Okafor", "Owen", "Patel", "Price", "Roberts", "Robinson",
    "Scott", "Shah", "Singh", "Smith", "Stewart", "Taylor", "Thomas", "Thompson", "Walker",
    "Watson", "White", "Williams", "Wright",
)

# How far each group and criterion sits from the department's typical maturity. Corporate
# services and digital teams tend to be ahead; legacy shared drives are everyone's hardest job.
GROUP_MATURITY = {"Policy and Strategy Group": -0.04, "Operations Group": -0.08,
                  "Corporate Services Group": 0.06, "Digital and Data Group": 0.08}
CRITERION_EASE = {"naming": 0.10, "corporate_system": 0.0, "what_to_keep": -0.06,
                  "asset_register": 0.02, "information_manager": 0.25, "training": 0.12,
                  "legacy_review": -0.22}
# Naming an information manager is one step that most teams take early: it is claimed from a
# lower maturity (above 0.3) than the halfway point a rounded step would need.
STEP_LIFT = {"information_manager": 0.2}

NO_RETURN_SHARE = (0.12, 0.05)          # first round, later rounds
UNEVIDENCED_SHARE = 0.08                # of claims above the lowest value
LINK_SHARE = 0.4                        # of evidenced claims
SETBACK_SHARE = 0.07                    # team-rounds hit by a restructure or a departure

# Evidence people write, by criterion and by the value claimed. Placeholders: {day} {month}
# {next_review} {n} {k} {pct} {done} {headcount} {im} {name}.
EVIDENCE: dict[str, dict[int, tuple[str, ...]]] = {
    "naming": {
        1: ("Naming convention shared at the team meeting on {day} {month}; new files from "
            "{month} follow it.",
            "Convention circulated by email on {day} {month}; spot check found {k} of {n} new "
            "files named correctly."),
        2: ("Spot check of {n} files in {month}: {k} of {n} followed the naming convention.",
            "Naming convention applied to the team's main folders; checklist on the team site."),
        3: ("Naming convention published on intranet page; spot check of {n} files in {month} "
            "found no exceptions.",
            "Convention is part of the team induction pack; monthly spot checks since {month} "
            "all passed."),
    },
    "corporate_system": {
        1: ("Team area created in the corporate records system in {month}; current casework "
            "not yet moved.",
            "List of information of value agreed at the team meeting on {day} {month}."),
        2: ("Most current work moved from the shared drive to the records system; {pct}% of new "
            "documents in the {month} sample were filed there.",
            "Weekly filing reminder in the team diary; {pct}% of staff have moved records out "
            "of their email folders."),
        3: ("All new work saved to the records system; team shared drive made read-only on "
            "{day} {month}.",
            "Quarterly check in {month} found no records held only in email or personal drives."),
    },
    "what_to_keep": {
        1: ("Draft What to Keep schedule prepared with the KIM team; awaiting director sign-off.",
            "First draft of the schedule covers the main record series; review meeting booked "
            "for {month}."),
        2: ("What to Keep schedule signed off by the director on {day} {month}; applied to the "
            "main casework series.",
            "Schedule agreed and applied to {k} of {n} record series."),
        3: ("Schedule applied to all record series and reviewed in {month}; next review due in "
            "{next_review}.",
            "Annual review of the What to Keep schedule completed {day} {month}; no changes "
            "needed."),
    },
    "asset_register": {
        1: ("{n} information assets listed and sent to the KIM team on {day} {month}.",
            "Asset list drafted at the team meeting on {day} {month}; owners not yet named."),
        2: ("All {n} assets in the register; owners named for {k} of them.",
            "Register updated {day} {month}; two assets still need an owner."),
        3: ("Register entries reviewed in {month}; every asset has a named owner who has "
            "confirmed their duties.",
            "Quarterly register review done {day} {month}: {n} assets, all owned, one retired."),
    },
    "information_manager": {
        1: ("{im} nominated as information manager; attended the network meeting in {month}.",
            "Information manager ({im}) on the network distribution list and completed the IM "
            "induction in {month}."),
    },
    "training": {
        1: ("{done} of {headcount} staff completed the mandatory KIM training (learning system "
            "report, {day} {month}).",
            "Learning system report run {day} {month}: {pct}% of the team completed KIM training "
            "in the last year."),
    },
    "legacy_review": {
        1: ("Shared drive survey done in {month}: {n} GB across {k} top-level folders; review "
            "plan agreed with the KIM team.",
            "Legacy stores listed and review plan drafted on {day} {month}."),
        2: ("Highest-risk folders reviewed; {n} GB disposed of under the retention schedule in "
            "{month}.",
            "Review {pct}% complete; disposal log kept on the team site since {month}."),
        3: ("Legacy review finished; shared drive closed to new work on {day} {month}; disposal "
            "log kept.",
            "All legacy folders reviewed by {month}; {n} GB disposed of and the log signed off."),
    },
}
GENERIC_EVIDENCE = ("{name}: evidence held on the team site, last checked {day} {month}.",)
EVIDENCE_DOCUMENTS = {
    "naming": "naming-convention-spot-check", "corporate_system": "records-system-filing-check",
    "what_to_keep": "what-to-keep-schedule", "asset_register": "information-asset-register",
    "information_manager": "im-network-nomination", "training": "kim-training-report",
    "legacy_review": "shared-drive-review-log",
}
SETBACK_COMMENTS = (
    "Team restructured in {month}; KIM work paused while new staff are inducted.",
    "Information manager left in {month}; cover arranged while a replacement is nominated.",
    "Office move in {month} disrupted filing; catching up next quarter.",
)
UNEVIDENCED_COMMENTS = ("Evidence to follow.", "Evidence with the team leader; will send on.", "")
PLANNED_COMMENTS = ("Planned for next quarter.", "Waiting for KIM team support.", "")
ROUTINE_COMMENTS = ("Self-assessment agreed at the team meeting.",
                    "Checked with the team leader on {day} {month}.")

SCORE_COLUMNS = ["team_id", "team", "directorate", "group", "criterion", "claimed_raw", "claimed",
                 "evidence", "evidence_link", "comment", "sheet", "row"]
ORG_COLUMNS = ["team", "directorate", "group", "director", "information_managers"]
ORG_HEADERS = ("Group", "Directorate", "Team", "Director", "Information managers")
_SPLIT_EMAILS = re.compile(r"[;,]")


def demo_rounds() -> list[str]:
    """The demo's quarterly rounds, oldest first; fixed so the demo never depends on today."""
    return list(DEMO_ROUNDS)


def demo_org(seed: int = DEMO_SEED) -> pd.DataFrame:
    """The demo organisation in the shape ``org.parse_org`` returns."""
    rng = np.random.default_rng(seed)
    directorates = [(g, d, teams) for g, ds in DEPARTMENT.items() for d, teams in ds.items()]
    shortened = set(rng.choice(len(directorates), size=len(directorates) // 2, replace=False).tolist())
    pool_sizes = rng.integers(2, 5, size=len(directorates))
    people = _people(rng, len(directorates) + int(pool_sizes.sum()))
    records = []
    for i, (group, directorate, names) in enumerate(directorates):
        director, people = people[0], people[1:]
        pool, people = people[:pool_sizes[i]], people[pool_sizes[i]:]
        teams = list(names)
        if i in shortened:
            teams.pop(int(rng.integers(len(teams))))
        for n, team in enumerate(teams):
            # The lead information manager covers the first teams; colleagues share the rest.
            first = pool[0] if n < 3 else pool[int(rng.integers(len(pool)))]
            ims = [first]
            if rng.random() < 0.3:
                second = pool[int(rng.integers(len(pool)))]
                if second != first:
                    ims.append(second)
            records.append({"team": team, "directorate": directorate, "group": group,
                            "director": director, "information_managers": ims})
    return pd.DataFrame(records, columns=ORG_COLUMNS)


def _people(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct demo email addresses, firstname.lastname@."""
    picks = rng.choice(len(FIRST_NAMES) * len(LAST_NAMES), size=count, replace=False)
    return [f"{FIRST_NAMES[p // len(LAST_NAMES)]}.{LAST_NAMES[p % len(LAST_NAMES)]}@{DEMO_DOMAIN}".lower()
            for p in picks]


def demo_scores(org_with_ids: pd.DataFrame, criteria: CriteriaSet, round_label: str,
                seed: int = DEMO_SEED) -> pd.DataFrame:
    """One round's scores for the teams in ``org_with_ids``, in ``ParsedReturn.scores`` shape.

    ``org_with_ids`` needs team_id, team, directorate and group (``store.org_frame`` shape);
    information_managers, when present, names the information manager in the evidence.
    Teams that did not return in the round have no rows. ``row`` counts from 2 within each
    directorate, as in that directorate's return file.
    """
    if round_label not in DEMO_ROUNDS:
        raise KimError(f"'{round_label}' is not a demo round. Demo rounds: {', '.join(DEMO_ROUNDS)}.")
    index = DEMO_ROUNDS.index(round_label)
    months = _months(round_label)
    records: list[dict] = []
    for team in org_with_ids.itertuples(index=False):
        records.extend(_team_rows(team, criteria, index, months, seed))
    frame = pd.DataFrame(records, columns=SCORE_COLUMNS)
    frame["row"] = frame.groupby("directorate").cumcount() + 2
    return frame


def _months(round_label: str) -> list[date]:
    """The three months of a quarter, for dates quoted in evidence."""
    first = start_date(round_label)
    return [date(first.year, first.month + k, 1) for k in range(3)]


def _team_key(directorate: str, team: str) -> int:
    return zlib.crc32(f"{directorate}/{team}".encode())


def _maturity(team: Any, criteria: CriteriaSet, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A team's latent maturity per round, its setback rounds, its criterion offsets, headcount.

    Maturity drifts upward with noise (a random walk around a trend), and an occasional
    setback knocks it back, so most teams improve and some fall.
    """
    rng = np.random.default_rng([seed, _team_key(team.directorate, team.team)])
    directorate_effect = np.random.default_rng([seed, zlib.crc32(team.directorate.encode())]).normal(0, 0.1)
    start = 0.42 + GROUP_MATURITY.get(team.group, 0.0) + directorate_effect + rng.normal(0, 0.16)
    trend = rng.normal(0.06, 0.04)
    shocks = rng.normal(0, 0.07, size=len(DEMO_ROUNDS))
    setbacks = rng.random(len(DEMO_ROUNDS)) < SETBACK_SHARE
    setbacks[0] = False  # a setback is a fall, so it needs a round before it
    path = start + trend * np.arange(len(DEMO_ROUNDS)) + np.cumsum(shocks) - 0.25 * np.cumsum(setbacks)
    offsets = rng.normal(0, 0.1, size=len(criteria))
    headcount = int(rng.integers(6, 41))
    return path, setbacks, offsets, headcount


def _team_rows(team: Any, criteria: CriteriaSet, index: int, months: list[date], seed: int) -> list[dict]:
    path, setbacks, offsets, headcount = _maturity(team, criteria, seed)
    rng = np.random.default_rng([seed, _team_key(team.directorate, team.team), index])
    if rng.random() < NO_RETURN_SHARE[0 if index == 0 else 1]:
        return []
    managers = _emails(getattr(team, "information_managers", []))
    im = _person(managers[0]) if managers else "The team's information manager"
    slug = _slug(team.team)
    setback_comment = str(rng.choice(SETBACK_COMMENTS)) if setbacks[index] else ""
    rows = []
    for n, c in enumerate(criteria):
        latent = path[index] + CRITERION_EASE.get(c.id, 0.0) + offsets[n] + rng.normal(0, 0.05)
        value = _value(c, latent, headcount, rng)
        month = months[int(rng.integers(len(months)))]
        # Draw every choice for every row, used or not, so one row's outcome never shifts the
        # random stream of the rows after it.
        unevidenced = rng.random() < UNEVIDENCED_SHARE
        linked = rng.random() < LINK_SHARE
        template_pick, comment_pick, comment_roll = rng.random(3)
        n_items = int(rng.integers(10, 41))
        # Counts quoted in evidence ("18 of 25 files") follow the claim, within reason.
        share = min(0.95, max(0.3, value / c.top))
        context = {
            "day": int(rng.integers(1, 29)), "month": f"{month:%B}",
            "next_review": f"{month:%B} {month.year + 1}", "n": n_items,
            "k": max(1, round(n_items * share)),
            # Percentages quoted in evidence: the claim itself on a scale of any number (a
            # headcount share), else the share of items the level suggests.
            "pct": round(100 * share) if c.measure.stepped else round(float(c.to_percent(value))),
            "done": round(headcount * float(c.to_percent(value)) / 100),
            "headcount": headcount, "im": im, "name": c.name,
        }
        evidence = link = comment = ""
        if value > 0 and not unevidenced:
            evidence = _pick(_evidence_texts(c, value), template_pick).format(**context)
            if linked:
                link = f"{INTRANET}/teams/{slug}/kim/{EVIDENCE_DOCUMENTS.get(c.id, _slug(c.id))}"
        if value > 0 and unevidenced:
            comment = _pick(UNEVIDENCED_COMMENTS, comment_pick)
        elif value == 0:
            comment = _pick(PLANNED_COMMENTS, comment_pick)
        elif comment_roll < 0.05:
            comment = _pick(ROUTINE_COMMENTS, comment_pick).format(**context)
        if n == 0 and setback_comment:
            comment = setback_comment.format(**context)
        rows.append({
            "team_id": team.team_id, "team": team.team, "directorate": team.directorate,
            "group": team.group, "criterion": c.id, "claimed_raw": c.label(value),
            "claimed": value, "evidence": evidence, "evidence_link": link, "comment": comment,
            "sheet": "Return", "row": 0,
        })
    return rows


def _value(c: Criterion, latent: float, headcount: int, rng: np.random.Generator) -> float:
    """A claim on the criterion's own scale from a latent maturity around 0-1."""
    if c.measure.stepped:
        return float(np.clip(round(latent * c.top + STEP_LIFT.get(c.id, 0.0)), 0, c.top))
    # A share such as training completion is counted in people, so teams land on a few
    # shared values, which with the stepped scales gives the league the ties a real one has.
    done = rng.binomial(headcount, float(np.clip(0.4 + 0.55 * latent, 0.0, 0.98)))
    return float(round(c.top * done / headcount))


def _evidence_texts(c: Criterion, value: float) -> tuple[str, ...]:
    by_value = EVIDENCE.get(c.id)
    if not by_value:
        return GENERIC_EVIDENCE
    return by_value.get(int(value)) or by_value[max(by_value)]


def _pick(options: tuple[str, ...], draw: float) -> str:
    return options[int(draw * len(options))]


def _emails(value: object) -> list[str]:
    """Information managers as a list: ``parse_org`` gives a list, the database a "; " string."""
    if isinstance(value, str):
        return [e.strip() for e in _SPLIT_EMAILS.split(value) if e.strip()]
    return list(value) if isinstance(value, Iterable) else []


def _person(email: str) -> str:
    return " ".join(part.capitalize() for part in email.split("@")[0].split("."))


def _lead_information_managers(org: pd.DataFrame) -> dict[str, str]:
    """Each directorate's information manager who covers the most teams: the demo's uploader."""
    leads: dict[str, str] = {}
    for directorate, teams in org.groupby("directorate", sort=False):
        counts = Counter(e for ims in teams["information_managers"] for e in _emails(ims))
        leads[directorate] = counts.most_common(1)[0][0] if counts else f"kim.team@{DEMO_DOMAIN}"
    return leads


def load_demo(engine: Engine, *, seed: int = DEMO_SEED) -> dict[str, object]:
    """Load the demo organisation and its rounds into an empty database.

    Idempotent and careful: when the database already has rounds or an organisation it does
    nothing and returns ``{"loaded": False, "reason": ...}``, because saving the demo
    organisation would retire a real department's teams.
    """
    ensure_schema(engine)
    with engine.connect() as conn:
        if list_rounds(conn):
            return {"loaded": False, "reason": "The database already has rounds."}
        if not org_frame(conn, include_inactive=True).empty:
            return {"loaded": False, "reason": "The database already has an organisation."}
    teams = demo_org(seed)
    save_organisation(engine, teams)
    with engine.connect() as conn:
        org = org_frame(conn)
        _, criteria = current_criteria(conn)
    uploaders = _lead_information_managers(teams)
    returns = scores = 0
    for round_label in DEMO_ROUNDS:
        # The KIM team opens each round with its deadline before the returns come in.
        open_round(engine, round_label, actor=local_admin())
        set_deadline(engine, round_label, start_date(round_label) + timedelta(days=DEADLINE_DAYS),
                     actor=local_admin())
        round_scores = demo_scores(org, criteria, round_label, seed=seed)
        for directorate, rows in round_scores.groupby("directorate", sort=True):
            parsed = ParsedReturn(file_name=f"{_slug(directorate)}-{round_label}.xlsx",
                                  layout="long", scores=rows.reset_index(drop=True))
            digest = hashlib.sha256(f"kim-demo/{seed}/{round_label}/{directorate}".encode()).hexdigest()
            # Returns arrive in the weeks after a round starts, not all on the day the demo loads.
            arrived = datetime.combine(start_date(round_label), datetime.min.time()) + timedelta(
                days=40 + zlib.crc32(f"{round_label}/{directorate}".encode()) % 20, hours=10)
            save_parsed(engine, parsed, round_label, uploader=uploaders[directorate], file_hash=digest,
                        uploaded_at=arrived)
            returns += 1
            scores += len(rows)
        if round_label == ACTIONS_ROUND:
            _demo_actions(engine, teams, round_label)
    close_round(engine, DEMO_ROUNDS[0], actor=local_admin())
    _demo_conversation(engine, uploaders)
    load_demo_ima(engine)
    return {"loaded": True, "groups": teams["group"].nunique(),
            "directorates": teams["directorate"].nunique(), "teams": len(teams),
            "rounds": len(DEMO_ROUNDS), "returns": returns, "scores": scores}


def _demo_actions(engine: Engine, org: pd.DataFrame, round_label: str) -> None:
    """Directors of a few directorates adopt their two most valuable next steps after
    ``round_label``: one due before the next round's returns, one due later. The next round's
    scores close some of them automatically; one is under way and one was dropped."""
    scored = scored_round(engine, round_label, actor=local_admin())
    directors = org.drop_duplicates("directorate").set_index("directorate")["director"]
    adopted = []
    for directorate in sorted(scored.teams["directorate"].unique())[:ACTION_DIRECTORATES]:
        steps = improvement_actions(scored.teams, scored.scores, scored.criteria, directorate).head(2)
        for n, step in enumerate(steps.itertuples(index=False)):
            due = date(2026, 9, 30) if n == 0 else date(2027, 1, 29)
            adopted.append(action_service.adopt(
                engine, team=int(step.team_id), criterion=str(step.criterion),
                owner=str(directors[directorate]), due=due, round_label=round_label,
                note=f"Agreed at the {directorate} management meeting.", actor=local_admin(),
                today=ACTIONS_ADOPTED_ON))
    if len(adopted) >= 2:
        action_service.set_status(engine, adopted[1].action_id, "in_progress",
                                  note="Drafting has started.", actor=local_admin())
    if len(adopted) >= 4:
        action_service.set_status(engine, adopted[3].action_id, "dropped",
                                  note="The team is merging with another next quarter.",
                                  actor=local_admin())


def _demo_conversation(engine: Engine, uploaders: dict[str, str]) -> None:
    """One comment thread in the latest round, so the queue and team pages show one: the KIM
    team asks for the evidence behind an unevidenced claim and the team answers."""
    scores = scored_round(engine, DEMO_ROUNDS[-1], actor=local_admin()).scores
    bare = scores[scores["unevidenced"]].sort_values(["directorate", "team", "criterion"])
    if bare.empty:
        return
    first = bare.iloc[0]
    add_comment(engine, int(first["score_id"]), "There is no evidence with this claim. Which "
                "document shows it? Reply here; no new return is needed.", actor=local_admin())
    add_comment(engine, int(first["score_id"]), "It is in the team's site under Guidance; we will "
                "add the link to next quarter's return.", actor=uploaders[first["directorate"]])


def write_org_workbook(path: str | PathLike, org: pd.DataFrame) -> None:
    """The organisation workbook ``kim org load`` reads: one row per team."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Organisation"
    ws.append(ORG_HEADERS)
    for r in org.itertuples(index=False):
        ws.append([r.group, r.directorate, r.team, r.director,
                   "; ".join(_emails(r.information_managers))])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for column, width in zip("ABCDE", (28, 40, 36, 38, 60)):
        ws.column_dimensions[column].width = width
    neutralise_workbook(wb).save(path)


def write_samples(folder: str | PathLike, *, seed: int = DEMO_SEED) -> list[Path]:
    """Sample files for people to try: the organisation workbook and one directorate's filled
    return for ``SAMPLE_ROUND`` in both layouts (long .xlsx from the template, wide .csv)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    org = demo_org(seed)
    org_path = folder / "demo-organisation.xlsx"
    write_org_workbook(org_path, org)

    criteria = load_criteria()
    teams = org[org["directorate"] == SAMPLE_DIRECTORATE].assign(team_id=lambda f: range(1, len(f) + 1))
    scores = demo_scores(teams, criteria, SAMPLE_ROUND, seed=seed)
    returned = teams[teams["team_id"].isin(scores["team_id"])]

    long_path = folder / "sample-return-long.xlsx"
    long_path.write_bytes(_filled_template(criteria, returned, scores))
    wide_path = folder / "sample-return-wide.csv"
    wide_path.write_text(_wide_csv(criteria, scores), encoding="utf-8", newline="")
    return [org_path, long_path, wide_path]


def _filled_template(criteria: CriteriaSet, teams: pd.DataFrame, scores: pd.DataFrame) -> bytes:
    """The template as the app hands it out, filled in the way an information manager would."""
    blank = write_template(io.BytesIO(), criteria=criteria, teams=teams, round_label=SAMPLE_ROUND,
                           directorate=SAMPLE_DIRECTORATE)
    wb = openpyxl.load_workbook(io.BytesIO(blank))
    ws = wb["Return"]
    headers = [cell.value for cell in ws[1]]
    col = {field: headers.index(label) for field, label in FIELD_LABELS.items()}
    by_name = {c.name: c for c in criteria}
    given = scores.set_index(["team", "criterion"])
    for row in ws.iter_rows(min_row=2):
        c = by_name[row[col["criterion"]].value]
        score = given.loc[(row[col["team"]].value, c.id)]
        # A score with no drop-down is typed as a whole number, as the template's validation asks.
        row[col["score"]].value = score["claimed_raw"] if c.choices() else int(score["claimed"])
        for field in ("evidence", "evidence_link", "comment"):
            row[col[field]].value = score[field] or None
    out = io.BytesIO()
    neutralise_workbook(wb).save(out)
    return out.getvalue()


def _wide_csv(criteria: CriteriaSet, scores: pd.DataFrame) -> str:
    """One row per team; a score, evidence, evidence link and comment column per criterion."""
    header = ["Group", "Directorate", "Team"]
    for c in criteria:
        header += [c.name, f"{c.name} evidence", f"{c.name} evidence link", f"{c.name} comment"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for (group, directorate, team), rows in scores.groupby(["group", "directorate", "team"], sort=False):
        by_criterion = rows.set_index("criterion")
        line = [group, directorate, team]
        for c in criteria:
            r = by_criterion.loc[c.id]
            line += [r["claimed_raw"], r["evidence"], r["evidence_link"], r["comment"]]
        writer.writerow(line)
    return out.getvalue()
