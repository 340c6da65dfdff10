"""Near-duplicate campaigns in the store: new mentions join the group of an earlier near-identical one.

`mentions.dup_group` holds the row id of the group's first mention (set on every member once a
group has two), so a copy-paste campaign or a retweet storm counts as one voice, not thousands.
The index is warm-started from the store's recent mentions, so a restarted process keeps grouping.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from brandpulse.store.dedup import recent_mentions, set_dup_groups
from brandpulse.types import Mention
from listener.neardup import NearDupIndex


class StoreDeduper:
    def __init__(self, engine: Engine, *, window: timedelta = timedelta(days=7), max_items: int = 50_000) -> None:
        self.engine = engine
        self.window = window
        self.max_items = max_items
        self._index: NearDupIndex | None = None
        self._lock = threading.Lock()

    def _warm(self) -> NearDupIndex:
        index = NearDupIndex(max_items=self.max_items, max_age=self.window)
        for r in recent_mentions(self.engine, self.window, self.max_items):
            index.add(str(r.id), r.text, author=r.author_handle, at=r.created_at)
        return index

    def assign(self, session: Session, new_ids: dict[tuple[str, str], int], mentions: Sequence[Mention]) -> int:
        """Group the newly stored mentions; returns how many joined an existing group."""
        with self._lock:
            if self._index is None:
                self._index = self._warm()
            joined: dict[int, int] = {}
            for m in sorted((m for m in mentions if m.key in new_ids), key=lambda m: new_ids[m.key]):
                mid = new_ids[m.key]
                rep = self._index.add(str(mid), m.text, author=m.author.handle, at=m.created_at)
                if rep is not None:
                    joined[mid] = int(rep)
        set_dup_groups(session, joined)
        return len(joined)
