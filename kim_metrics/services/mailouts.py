"""Documents by email: each director's letter as a PDF, and the board pack, through the one
delivery interface (``kim_metrics.delivery``), each recorded and never sent twice for a round."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine

from kim_metrics.delivery import Attachment, Kind, Message, SendReport, Transport, send
from kim_metrics.domain.access import ADMIN, Actor, require
from kim_metrics.domain.errors import KimError
from kim_metrics.reports.files import letter_file_names
from kim_metrics.reports.registry import renderer
from kim_metrics.services import league as league_service
from kim_metrics.services.common import resolve_actor
from kim_metrics.services.documents import all_letters, boardpack_pdf

SENDER = "Knowledge and Information Management team"


def letter_messages(engine: Engine, round_label: str | None, *, actor: Actor,
                    written: date | None = None) -> tuple[list[Message], list[str]]:
    """One message per directorate with a director, its letter attached as a PDF; and the
    directorates left out because the organisation names no director for them."""
    letters = all_letters(engine, round_label, written, actor=actor)
    if not letters:
        return [], []
    pdf = renderer("letter", "pdf")
    names = letter_file_names([d.directorate for d in letters], letters[0].round, "pdf")
    messages, without = [], []
    for d in letters:
        if not d.director_email:
            without.append(d.directorate)
            continue
        body = (f"Dear {d.director_name},\n\nPlease find attached the results of the {d.round} "
                f"Knowledge and Information Management league table for {d.directorate}, with "
                "what each team must do next.\n\n" + SENDER)
        messages.append(Message(
            to=d.director_email, subject=f"KIM league {d.round}: results for {d.directorate}",
            body=body, kind=Kind.LETTER, round_label=d.round,
            reason=f"letter:{d.round}:{d.directorate}"[:500],
            attachment=Attachment(names[d.directorate], pdf.render(d))))
    return messages, without


def send_letters(engine: Engine, round_label: str | None, *, actor: Actor | str,
                 transport: Transport | None = None, dry_run: bool = False,
                 written: date | None = None) -> tuple[SendReport, list[str]]:
    """Email every director their letter as a PDF (the KIM team); each once per round."""
    who = resolve_actor(engine, actor)
    require(who, {ADMIN}, "send letters to directors")
    messages, without = letter_messages(engine, round_label, actor=who, written=written)
    return send(messages, transport, engine, dry_run=dry_run), without


def send_boardpack(engine: Engine, round_label: str | None, to: list[str], *, actor: Actor | str,
                   transport: Transport | None = None, dry_run: bool = False,
                   written: date | None = None) -> SendReport:
    """Email the board pack PDF to each address in ``to`` (the KIM team); each once per round."""
    who = resolve_actor(engine, actor)
    require(who, {ADMIN}, "send the board pack")
    if not to:
        raise KimError("Name at least one address to send the board pack to.")
    label = league_service.league(engine, round_label, "directorate").round.label
    content = boardpack_pdf(engine, label, written, actor=who)
    messages = [Message(to=address, subject=f"KIM league {label}: board pack",
                        body=(f"Please find attached the board pack for the {label} Knowledge and "
                              f"Information Management league table.\n\n{SENDER}"),
                        kind=Kind.BOARDPACK, round_label=label, reason=f"boardpack:{label}",
                        attachment=Attachment(f"kim-boardpack-{label}.pdf", content))
                for address in to]
    return send(messages, transport, engine, dry_run=dry_run)
