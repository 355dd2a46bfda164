"""The round calendar: deadlines, late returns, closing and reopening a round, and the listing."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kim_metrics.cli import main
from kim_metrics.domain.access import local_admin
from kim_metrics.domain.errors import PermissionDenied
from kim_metrics.services import admin as admin_service
from kim_metrics.services import audit as audit_service
from kim_metrics.services import returns as return_service
from kim_metrics.storage import audit
from kim_metrics.storage.models import Return
from tests.support.loop import FULL_MARKS, IM_TAX, NOTHING, ingest, load_org, open_round

TODAY = date.today()


@pytest.fixture
def org(engine):
    load_org(engine)
    return engine


def _late_flags(engine) -> list[bool]:
    with engine.connect() as conn:
        return [bool(v) for v in conn.scalars(select(Return.late).order_by(Return.id))]


def test_a_return_after_the_deadline_is_saved_and_marked_late(org, tmp_path):
    open_round(org, "2026-Q3", deadline=TODAY)
    on_time = ingest(org, tmp_path, {"Tax Policy": FULL_MARKS}, "2026-Q3", uploader=IM_TAX)
    admin_service.set_deadline(org, "2026-Q3", TODAY - timedelta(days=1), actor=local_admin())
    late = ingest(org, tmp_path, {"Tax Policy": NOTHING}, "2026-Q3", uploader=IM_TAX, name="again.csv")
    assert (on_time.late, late.late) == (False, True)
    assert _late_flags(org) == [False, True]
    listed = return_service.returns(org, actor=local_admin()).set_index("return_id")["late"]
    assert bool(listed[late.return_id]) and not bool(listed[on_time.return_id])


def test_a_round_without_a_deadline_marks_nothing_late(org, tmp_path):
    open_round(org, "2026-Q3")
    assert ingest(org, tmp_path, {"Tax Policy": FULL_MARKS}, "2026-Q3").late is False


def test_a_closed_round_refuses_returns_naming_it_until_an_admin_reopens_it(org, tmp_path):
    open_round(org, "2026-Q3")
    rnd, closed = admin_service.close_round(org, "2026-Q3", actor=local_admin())
    assert closed and rnd.closed
    with pytest.raises(PermissionDenied, match=r"Round 2026-Q3 is closed.*kim rounds --reopen 2026-Q3"):
        ingest(org, tmp_path, {"Tax Policy": FULL_MARKS}, "2026-Q3", uploader=IM_TAX)
    with org.connect() as conn:
        assert conn.scalar(select(Return.id)) is None
    with pytest.raises(PermissionDenied, match="may not reopen a round"):
        admin_service.reopen_round(org, "2026-Q3", actor=IM_TAX)
    _, reopened = admin_service.reopen_round(org, "2026-Q3", actor=local_admin())
    assert reopened
    assert ingest(org, tmp_path, {"Tax Policy": FULL_MARKS}, "2026-Q3", uploader=IM_TAX).scores == 7
    actions = audit_service.audit_trail(org, reader=local_admin())["action"].tolist()
    assert [a for a in actions if a in (audit.ROUND_CLOSED, audit.ROUND_REOPENED)] == [
        audit.ROUND_CLOSED, audit.ROUND_REOPENED]


def test_a_preview_checked_before_the_round_closed_still_saves_nothing(org, tmp_path):
    from tests.support.returns import long_rows, write_csv
    open_round(org, "2026-Q3")
    path = write_csv(tmp_path / "r.csv", long_rows({"Tax Policy": FULL_MARKS}, directorate="Policy"))
    preview = return_service.check_return(org, path.read_bytes(), path.name, "2026-Q3", uploader=IM_TAX)
    admin_service.close_round(org, "2026-Q3", actor=local_admin())
    with pytest.raises(PermissionDenied, match="2026-Q3 is closed"):
        return_service.save_preview(org, preview, uploader=IM_TAX)


def test_only_admins_close_rounds_or_set_deadlines(org):
    open_round(org, "2026-Q3")
    with pytest.raises(PermissionDenied):
        admin_service.close_round(org, "2026-Q3", actor=IM_TAX)
    with pytest.raises(PermissionDenied):
        admin_service.set_deadline(org, "2026-Q3", TODAY, actor=IM_TAX)


def test_cli_opens_with_a_deadline_closes_reopens_and_lists(sqlite_engine, tmp_path, capsys):
    # SQLite only: the command line reaches a database by URL, and a PostgreSQL test schema
    # is not part of the URL.
    org = sqlite_engine
    load_org(org)
    url = org.url.render_as_string(hide_password=False)
    assert main(["--db", url, "rounds", "--open", "2026-Q3", "--deadline", "2026-10-14"]) == 0
    assert "returns due by 14 Oct 2026" in capsys.readouterr().out
    ingest(org, tmp_path, {"Tax Policy": FULL_MARKS}, "2026-Q3")
    assert main(["--db", url, "rounds", "--close", "2026-Q3"]) == 0
    assert "Closed round 2026-Q3" in capsys.readouterr().out
    assert main(["--db", url, "rounds", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"label": "2026-Q3", "starts": "2026-07-01", "deadline": "2026-10-14",
                     "closed": True, "teams_returned": 1, "teams": 3}]
    assert main(["--db", url, "rounds"]) == 0
    table = capsys.readouterr().out
    assert "14 Oct 2026" in table and "closed" in table
    assert main(["--db", url, "rounds", "--reopen", "2026-Q3"]) == 0
    assert "Reopened round 2026-Q3" in capsys.readouterr().out
    with pytest.raises(SystemExit) as bad_date:
        main(["--db", url, "rounds", "--open", "2026-Q4", "--deadline", "14/01/2027"])
    assert bad_date.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err
    assert main(["--db", url, "rounds", "--close", "2026-Q3", "--reopen", "2026-Q3"]) == 2
