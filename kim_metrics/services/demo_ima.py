"""The demo department's Information Management Assessment, modelled on a National Archives
progress review: the IMA of 2013 and the progress review of 2015, what each found per area,
the recommendations ("we repeat our recommendation", "we urge") and an action plan with
actions in every status.

The record is written as the workbook ``kim ima load`` reads and loaded through the same
checks, so the sample file and the demo never disagree.
"""

from __future__ import annotations

import io
from datetime import date
from os import PathLike
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.engine import Engine

from kim_metrics.reading.ima_workbook import ACTION_LABELS, RATING_LABELS
from kim_metrics.services import ima
from kim_metrics.storage import ima as store

DOMAIN = "kim-demo.gov.uk"
LOADER = f"kim.team@{DOMAIN}"
SAMPLE_NAME = "demo-ima.xlsx"
IMA, REVIEW = "IMA 2013", "Review 2015"
TNA = "The National Archives"
DRO, KIM, SIRO, CIO = (f"{who}@{DOMAIN}" for who in
                       ("departmental.records.officer", "kim.team", "siro", "chief.information.officer"))

RATINGS_HEADERS = [RATING_LABELS[k] for k in ("assessment", "kind", "date", "assessor", "area",
                                              "sub_area", "rating", "situation", "progress")]
ACTIONS_HEADERS = list(ACTION_LABELS.values())

# Area → (situation at the IMA, progress since the IMA, as the review told it).
NARRATIVE = {
    "The value of information": (
        "The department had an information strategy (February 2012) with a set of information "
        "policies, but it was not embedded in practice. Information asset ownership was "
        "inconsistent, though there were pockets of excellence. After a restructure, roles such "
        "as the Senior Information Risk Owner and the Chief Information Officer overlapped, and "
        "there was no longer a forum for information stakeholders. What to Keep schedules were "
        "exemplary but not yet extended to new policy areas.",
        "The Board signed off a vision for information management in the digital age, with a "
        "governance structure and a way of measuring success. A network of information managers "
        "now spreads good practice, and teams have What to Keep workflows and guidance. The "
        "Permanent Secretary has backed the KIM agenda: a league table now shows each team's "
        "progress against seven criteria, with evidence for every score. The planned review of "
        "the 2012 strategy has not been carried out; we repeat our recommendation that it is. "
        "Information Asset Owners have taken the National Archives' information assurance "
        "training."),
    "Digital information and supporting technology": (
        "Digital information was captured in several systems that could not work together, "
        "including two electronic records management systems, besides shared drives and email, "
        "which staff often preferred. Growing volumes were kept with no automatic retention. "
        "The department needed clear business requirements for managing digital records.",
        "A Knowledge and Information Manager now works with the Government Digital Service on a "
        "technology strategy. Google Apps replaced the old EDRM in 2015, and information of value "
        "was migrated from shared drives. Retention schedules are being built in from the "
        "digital What to Keep schedules. The department should keep working closely with The "
        "National Archives as Google Apps is implemented."),
    "Information risk, governance and oversight": (
        "The security of information was a core strength, but wider information risks were not "
        "defined, documented or managed. We recommended extending existing structures to give "
        "control and oversight, adding KIM training to induction, and tracking and mitigating "
        "information risks.",
        "A statement on records management performance has been added to the corporate "
        "compliance statements, and progress will be tracked through a traffic light system: we "
        "urge that this is progressed as a priority. A new working group supports the SIRO; we "
        "recommend that records management is added to its terms of reference. The department "
        "is reviewing its risk appetite to include information management risks, on hold until "
        "a new SIRO is appointed: we urge the department to give this priority. Information "
        "management training is now part of corporate induction."),
    "Records, review and transfer": (
        "The department met its obligations under the Public Records Act, with good practice "
        "such as history days. Paper records were well managed and review for transfer was up "
        "to date. It was encouraged to keep this up by drawing up firm plans for records in all "
        "formats.",
        "Additional reviewers have been recruited and the inventory of information assets "
        "updated. The department has agreed with The National Archives to draw up an in-year, "
        "resourced plan. It holds many legacy digital records: reviewers must prepare for the "
        "scale and complexity of digital and hybrid records, and their digital continuity must "
        "be assured."),
}

# (area, sub-area, IMA 2013 rating, Review 2015 rating), as the review's tables give them.
RATINGS = (
    ("The value of information", "Communicating and realising value", "Satisfactory", "Satisfactory"),
    ("The value of information", "Managing information as an asset", "Development area", "Satisfactory"),
    ("Digital information and supporting technology", "Supporting information through technology",
     "Development area", "Progressing towards satisfactory"),
    ("Digital information and supporting technology", "Digital continuity and IT change",
     "Satisfactory", "Satisfactory"),
    ("Information risk, governance and oversight", "Recognising information risk",
     "Development area", "Development area"),
    ("Information risk, governance and oversight", "Establishing control", "Satisfactory", "Satisfactory"),
    ("Information risk, governance and oversight", "Providing guidance", "Satisfactory", "Good practice"),
    ("Information risk, governance and oversight", "Measuring impact",
     "Progressing towards satisfactory", "Satisfactory"),
    ("Records, review and transfer", "Oversight of records and selection", "Good practice", "Good practice"),
    ("Records, review and transfer", "Implementing disposal decisions", "Satisfactory", "Satisfactory"),
)

# Recommendation (made by, area, sub-area, text, priority, repeated at, next step) and its
# actions (text, owner, due, status, commentary).
RECOMMENDATIONS = (
    ((IMA, "The value of information", "Communicating and realising value",
      "Review the benefits of the 2012 information strategy: what worked, and what stood in the way "
      "of goals that still matter, so that an effective strategy for information in all formats "
      "can follow.", "High", REVIEW, "Yes"),
     (("Commission a review of the 2012 information strategy", KIM, date(2016, 3, 31), "Not started",
       "Waiting for the new strategy board to agree its scope."),
      ("Set the next information strategy from the review's findings", CIO, date(2016, 9, 30),
       "Not started", ""))),
    ((IMA, "The value of information", "Managing information as an asset",
      "Make information asset ownership consistent across the department.", "Medium", "", ""),
     (("Name an Information Asset Owner for every asset on the registers", DRO, date(2014, 6, 30),
       "Closed", "Every register now names an owner."),
      ("Train Information Asset Owners through the information assurance engagement programme", DRO,
       date(2015, 3, 31), "Closed", "All owners trained by March 2015."))),
    ((IMA, "The value of information", "",
      "Re-establish a forum where information stakeholders discuss policy and issues.", "Medium", "", ""),
     (("Set up a network of information managers across the department", KIM, date(2014, 12, 31),
       "Delivered", "The network meets monthly and shares hints and tips on records management."),)),
    ((IMA, "Digital information and supporting technology", "Supporting information through technology",
      "Establish clear business requirements for managing digital records, with retention built "
      "into the systems that hold them.", "High", "", ""),
     (("Migrate information of value from shared drives and the old EDRM to Google Apps", CIO,
       date(2015, 6, 30), "Delivered", "Migration completed in June 2015."),
      ("Build retention schedules into Google Apps from the digital What to Keep schedules", DRO,
       date(2016, 3, 31), "In progress", "Piloted with three teams; issues fixed as they arise."))),
    ((REVIEW, "Digital information and supporting technology", "Supporting information through technology",
      "Continue to work closely with The National Archives as Google Apps is implemented.", "Medium",
      "", "Yes"),
     (("Meet The National Archives each quarter during the Google Apps roll-out", CIO,
       date(2016, 12, 31), "In progress", "First two meetings held."),)),
    ((REVIEW, "Information risk, governance and oversight", "Recognising information risk",
      "Review the risk register so that the risk of not capturing and keeping the right records is "
      "given the priority it needs.", "High", "", "Yes"),
     (("Add information management risks to the risk appetite statement", SIRO, date(2016, 3, 31),
       "In progress", "Resumed now the new SIRO is in post."),
      ("Review the risk register with the new SIRO", SIRO, date(2016, 6, 30), "Not started", ""))),
    ((REVIEW, "Information risk, governance and oversight", "Establishing control",
      "Enact the agreed governance structure to oversee information management, with records "
      "management in the SIRO working group's terms of reference.", "High", "", "Yes"),
     (("Add records management to the working group's terms of reference", SIRO, date(2015, 12, 31),
       "Delivered", "Agreed at the December meeting."),
      ("Join up records governance across formats and both records teams", DRO, date(2016, 6, 30),
       "In progress", ""))),
    ((REVIEW, "Information risk, governance and oversight", "Measuring impact",
      "Progress the introduction of the traffic light system to monitor KIM performance.", "High", "", "Yes"),
     (("Run the KIM league table each quarter, with evidence for every score", KIM, date(2016, 3, 31),
       "Delivered", "First rounds run; directors receive letters after each round."),
      ("Report the league's results to the Board each quarter", KIM, date(2016, 6, 30), "In progress",
       "Board pack drafted."))),
    ((IMA, "Information risk, governance and oversight", "Providing guidance",
      "Include KIM training in induction for all staff.", "Medium", "", ""),
     (("Add information management to the corporate induction programme", KIM, date(2014, 9, 30),
       "Closed", "In the induction programme since September 2014."),)),
    ((REVIEW, "Records, review and transfer", "Implementing disposal decisions",
      "Engage with The National Archives' Digital Transfer team so that the department is prepared "
      "for its first digital transfers.", "High", "", "Yes"),
     (("Agree a digital transfer plan with The National Archives", DRO, date(2016, 6, 30),
       "Not started", ""),
      ("Prepare reviewers for the scale and complexity of digital and hybrid records", DRO,
       date(2016, 12, 31), "In progress", "Two reviewers trained."))),
    ((REVIEW, "Records, review and transfer", "Oversight of records and selection",
      "Draw up an in-year, resourced plan for reviewing and transferring records.", "Medium", "", ""),
     (("Agree the resourced plan with The National Archives", DRO, date(2015, 12, 31), "Delivered",
       "Plan agreed in November 2015."),)),
)
ASSESSMENTS = ((IMA, "Assessment", date(2013, 8, 8)), (REVIEW, "Progress review", date(2015, 9, 30)))


def ratings_rows() -> list[list[object]]:
    """The Ratings sheet: narrative on each area's first row, blank after it."""
    rows = []
    for name, kind, day in ASSESSMENTS:
        seen: set[str] = set()
        for area, sub_area, before, after in RATINGS:
            situation, progress = NARRATIVE[area]
            first = area not in seen
            seen.add(area)
            rows.append([name, kind, day, TNA, area, sub_area, before if name == IMA else after,
                         situation if first and name == IMA else None,
                         progress if first and name == REVIEW else None])
    return rows


def actions_rows() -> list[list[object]]:
    """The Actions sheet: a recommendation's later rows leave its columns blank."""
    rows = []
    for (made, area, sub_area, text, priority, repeated, next_step), acts in RECOMMENDATIONS:
        for i, (action, owner, due, status, commentary) in enumerate(acts):
            head = [text, made, area, sub_area or None, priority, repeated or None, next_step or None] \
                if i == 0 else [None] * 7
            rows.append([*head, action, owner, due, status, commentary or None])
    return rows


def workbook_bytes() -> bytes:
    wb = Workbook()
    ratings = wb.active
    ratings.title = "Ratings"
    actions = wb.create_sheet("Actions")
    for ws, headers, rows, widths in (
            (ratings, RATINGS_HEADERS, ratings_rows(), (14, 16, 12, 22, 34, 38, 30, 60, 60)),
            (actions, ACTIONS_HEADERS, actions_rows(), (60, 14, 34, 34, 10, 14, 10, 50, 36, 12, 12, 50))):
        ws.append(headers)
        for row in rows:
            ws.append(row)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for column, width in enumerate(widths, start=1):
            ws.column_dimensions[ws.cell(1, column).column_letter].width = width
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(vertical="top", wrap_text=True)
                if isinstance(cell.value, date):
                    cell.number_format = "d mmm yyyy"
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def write_ima_sample(folder: str | PathLike) -> Path:
    """The demo's IMA workbook, as ``kim ima load`` reads it."""
    path = Path(folder) / SAMPLE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(workbook_bytes())
    return path


def load_demo_ima(engine: Engine) -> dict[str, object]:
    """Load the demo IMA record into a database that has no assessments yet."""
    with engine.connect() as conn:
        if store.assessments(conn):
            return {"loaded": False, "reason": "The database already has IMA assessments."}
    parsed = ima.check_workbook(engine, workbook_bytes(), SAMPLE_NAME)
    saved = store.save_ima(engine, parsed, actor=LOADER)
    return {"loaded": True, "assessments": len(saved.assessments_added),
            "recommendations": saved.recommendations, "actions": saved.actions}
