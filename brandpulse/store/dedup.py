"""Near-duplicate groups in the store: the recent mentions a deduper warms up from, and `mentions.dup_group` updates.

The grouping itself (which mention joins which group) is the listener's (`listener.dedup`); this module only
reads and writes the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from brandpulse.store.engine import session_scope
from brandpulse.store.schema import MentionRow


@dataclass(frozen=True)
class RecentMention:
    """What near-duplicate grouping needs of a stored mention."""

    id: int
    text: str
    author_handle: str
    created_at: datetime


def recent_mentions(engine: Engine, window: timedelta, limit: int) -> Iterator[RecentMention]:
    """The newest `limit` mentions created within `window` of the newest one, oldest first."""
    with session_scope(engine) as s:
        newest = s.scalar(select(func.max(MentionRow.created_at)))
        if newest is None:
            return
        q = (
            select(MentionRow.id, MentionRow.text, MentionRow.author_handle, MentionRow.created_at)
            .where(MentionRow.created_at >= newest - window)
            .order_by(MentionRow.id.desc())
            .limit(limit)
        )
        rows = s.execute(q).all()
    for r in reversed(rows):
        yield RecentMention(r.id, r.text, r.author_handle, r.created_at)


def set_dup_groups(session: Session, joined: Mapping[int, int]) -> None:
    """Mark each mention id in `joined` and its group's first mention (the value) as members of that group."""
    for mid, group in joined.items():
        session.execute(update(MentionRow).where(MentionRow.id.in_([mid, group])).values(dup_group=group))
