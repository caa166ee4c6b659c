"""A handler that fails with a bug of ours answers an error and leaves the engine serving."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crdt.commands import TABLE
from tests.helpers import EngineBox


def _broken(session: object, argv: list[bytes]) -> object:
    raise ZeroDivisionError("a bug\nover two lines")


@pytest.fixture
def box(monkeypatch: pytest.MonkeyPatch) -> Iterator[EngineBox]:
    # The engine copies handlers when it is built, so patch first.
    monkeypatch.setattr(TABLE.by_name["strlen"], "handler", _broken)
    monkeypatch.setattr(TABLE.by_name["object|encoding"], "handler", _broken)
    yield EngineBox()


def test_plain_path_answers_an_internal_error_and_goes_on(box: EngineBox) -> None:
    seen: list[tuple[list[bytes], Exception]] = []
    box.engine.on_internal_error = lambda argv, exc: seen.append((argv, exc))
    box("SET", "k", "v")
    assert box.err("STRLEN", "k") == (
        b"ERR internal error in 'strlen': ZeroDivisionError: a bug over two lines")
    assert box("GET", "k") == b"v"
    assert box.engine.internal_errors == 1
    assert [argv for argv, _ in seen] == [[b"STRLEN", b"k"]]
    assert isinstance(seen[0][1], ZeroDivisionError)


def test_checked_path_and_exec_answer_it_too(box: EngineBox) -> None:
    box("SET", "k", "v")
    assert box.err("OBJECT", "ENCODING", "k").startswith(b"ERR internal error in 'object|encoding'")
    box("MULTI")
    box("STRLEN", "k")
    box("INCR", "n")
    replies = box("EXEC")
    assert bytes(replies[0]).startswith(b"ERR internal error in 'strlen'")
    assert replies[1] == 1
    assert box.engine.internal_errors == 2
    info = box("INFO", "stats").decode()
    assert "total_error_replies:2" in info
