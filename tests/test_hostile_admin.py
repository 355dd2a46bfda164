"""Hostile organisation workbooks and criteria files (``badfiles.ADMIN_CORPUS``): each is refused
with a located message through the service and the command line, never a traceback, and leaves
the database byte-for-byte unchanged, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from kim_metrics import cli
from kim_metrics.domain.access import local_admin
from kim_metrics.domain.criteria import decode_criteria
from kim_metrics.domain.errors import KimError, ValidationError
from kim_metrics.services import admin as admin_service
from kim_metrics.storage.engine import make_engine
from kim_metrics.storage.schema import ensure_schema
from tests.support.badfiles import ADMIN_CORPUS, ORG, ROUND, database_dump
from tests.support.databases import backends as _backends, postgres_engine as _postgres_engine

pytestmark = pytest.mark.xdist_group("hostile")


@pytest.fixture(scope="module", params=_backends())
def loaded(request, tmp_path_factory) -> Iterator[Engine]:
    """A database with an organisation and an open round, shared by every file."""
    def fill(engine: Engine) -> Engine:
        ensure_schema(engine)
        admin_service.save_organisation(engine, ORG)
        admin_service.open_round(engine, ROUND, actor=local_admin())
        return engine
    if request.param == "sqlite":
        engine = fill(make_engine(f"sqlite:///{tmp_path_factory.mktemp('admin') / 'kim.db'}"))
        yield engine
        engine.dispose()
        return
    for engine in _postgres_engine():
        yield fill(engine)


def _load(engine: Engine, kind: str, data: bytes, name: str) -> None:
    if kind == "org":
        admin_service.load_org(engine, data, name, actor=local_admin())
    else:
        admin_service.load_criteria(engine, decode_criteria(data, file_name=name), actor=local_admin(),
                                    file_name=name)


def test_the_admin_corpus_covers_names_identity_and_criteria():
    kinds = [f.kind for f in ADMIN_CORPUS.values()]
    assert kinds.count("org") >= 8 and kinds.count("criteria") >= 8
    assert all(f.says for f in ADMIN_CORPUS.values())


@pytest.mark.parametrize("name", list(ADMIN_CORPUS))
def test_each_admin_file_is_refused_with_where_and_changes_nothing(loaded, tmp_path, name):
    entry = ADMIN_CORPUS[name]
    data = entry.build()
    before = database_dump(loaded)
    with pytest.raises(KimError) as err:
        _load(loaded, entry.kind, data, name)
    text = str(err.value)
    for words in entry.says:
        assert words in text, text
    assert name in text
    if entry.where:
        assert isinstance(err.value, ValidationError)
        located = {(p.row, p.column) for p in err.value.problems}
        assert entry.where in located, located
    assert database_dump(loaded) == before


@pytest.mark.parametrize("name", list(ADMIN_CORPUS))
def test_each_admin_file_on_the_command_line(loaded, tmp_path, capsys, name):
    entry = ADMIN_CORPUS[name]
    path = tmp_path / name
    path.write_bytes(entry.build())
    url = loaded.url.render_as_string(hide_password=False)
    before = database_dump(loaded)
    argv = ["org", "load", str(path)] if entry.kind == "org" else ["criteria", "load", str(path)]
    assert cli.main(["--db", url, *argv]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and entry.says[0] in err, err
    assert database_dump(loaded) == before
