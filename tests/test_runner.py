"""The collection runner: cursors commit with their batch, deletions apply, a failing source never stops the others."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from brandpulse.errors import SourceError
from brandpulse.store.cursors import load_cursor, source_health
from brandpulse.store.queries import counts
from brandpulse.types import Cursor, Deletion, Mention
from listener.runner import collect_once, follow
from tests.conftest import make_mention


class ListCollector:
    """A collector over a fixed list; position = how many items were yielded; can fail after N items."""

    name: ClassVar[str] = "listsrc"

    def __init__(self, items: list[Mention | Deletion], key: str = "k", fail_after: int | None = None) -> None:
        self.items, self.key, self.fail_after = items, key, fail_after
        self.pos = 0

    def fetch(self, since: Cursor | None) -> Iterator[Mention | Deletion]:
        self.pos = int(since.position) if since else 0
        for item in self.items[self.pos :]:
            if self.fail_after is not None and self.pos >= self.fail_after:
                raise SourceError("HTTP 503 from the platform")
            self.pos += 1
            yield item

    def cursor(self) -> Cursor | None:
        return Cursor(self.name, self.key, str(self.pos)) if self.pos else None

    def health(self) -> dict[str, Any]:
        return {"rate_limit_remaining": 7, "rate_limit_reset": None, "last_error": None}


def test_failure_mid_stream_keeps_what_was_stored_and_resumes(engine) -> None:
    items: list[Mention | Deletion] = [make_mention(i) for i in range(30)]
    with pytest.raises(SourceError):
        collect_once(engine, ListCollector(items, fail_after=12), batch_size=5)
    assert counts(engine)["mentions"] == 12
    assert load_cursor(engine, "listsrc", "k").position == "12"
    (h,) = source_health(engine)
    assert h.error_count == 1 and "503" in (h.last_error or "")
    st = collect_once(engine, ListCollector(items), batch_size=5)
    assert (st.fetched, st.new) == (18, 18)
    assert counts(engine)["mentions"] == 30
    (h,) = source_health(engine)
    assert h.last_success is not None and h.rate_limit_remaining == 7


def test_deletions_remove_stored_posts(engine) -> None:
    collect_once(engine, ListCollector([make_mention(i) for i in range(3)]))
    collect_once(engine, ListCollector([Deletion("x", "1"), Deletion("x", "unknown")], key="d"))
    assert counts(engine)["mentions"] == 2


def test_follow_keeps_going_when_one_source_fails(engine) -> None:
    good = ListCollector([make_mention(i) for i in range(10)], key="good")
    bad = ListCollector([make_mention(100 + i) for i in range(10)], key="bad", fail_after=0)
    follow(engine, [good, bad], interval_s=0.01, max_rounds=3, stop=threading.Event())
    assert counts(engine)["mentions"] == 10
    health = {h.key: h for h in source_health(engine)}
    assert health["good"].last_success is not None
    assert health["bad"].error_count == 3 and health["bad"].last_success is None
