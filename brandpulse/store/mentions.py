"""Writing and reading mentions: bulk upsert (dedup on platform + native id), deletes, forget."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from brandpulse.errors import StoreError
from brandpulse.store import postgres_bulk, sqlite_bulk
from brandpulse.store.engine import session_scope
from brandpulse.store.erase import erase_mentions
from brandpulse.store.rollups import roll_in_links
from brandpulse.store.schema import MentionRow
from brandpulse.types import Mention

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InsertResult:
    new: int
    duplicates: int
    #: (platform, native id) → row id of each newly stored mention
    new_ids: dict[tuple[str, str], int] = field(default_factory=dict)


def insert_mentions_in(session: Session, mentions: Sequence[Mention]) -> InsertResult:
    """Bulk upsert inside an open transaction; duplicates (platform, native id) are ignored but their brands are linked."""
    unique: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        first = unique.setdefault((m.platform, m.native_id), m)  # m.key, without a property call per mention
        if first is not m:
            for brand in m.brands:
                first.link(brand)  # the same post found for two brands in one batch: stored once, linked to both
    batch = list(unique.values())
    if not batch:
        return InsertResult(0, len(mentions))
    bulk = {"sqlite": sqlite_bulk.insert_mentions, "postgresql": postgres_bulk.insert_mentions}.get(
        session.get_bind().dialect.name
    )
    if bulk is None:
        raise StoreError(f"database dialect {session.get_bind().dialect.name!r} is not supported (use SQLite or PostgreSQL)")
    new_ids, relinked = bulk(session.connection().connection.dbapi_connection, batch)
    if relinked:
        roll_in_links(session, relinked)  # an already scored post now also counts for the brand that found it later
    return InsertResult(new=len(new_ids), duplicates=len(mentions) - len(new_ids), new_ids=new_ids)


def insert_mentions(engine: Engine, mentions: Iterable[Mention]) -> InsertResult:
    """Store mentions in one transaction; returns how many were new."""
    batch = list(mentions)
    with session_scope(engine) as s:
        return insert_mentions_in(s, batch)


def delete_mentions_in(session: Session, keys: Iterable[tuple[str, str]]) -> int:
    """Delete mentions deleted upstream and every trace of them: scores (taken out of the rollups, rows that reach
    zero removed, as a recount has none), human labels, alert evidence rows and the post's text and URL in alerts'
    evidence JSON. The author row stays (the author may have other posts)."""
    rows = []
    for platform, native_id in dict.fromkeys(keys):
        r = session.execute(
            select(MentionRow.id, MentionRow.text, MentionRow.url)
            .where(MentionRow.platform == platform, MentionRow.native_id == native_id)
        ).first()
        if r is not None:
            rows.append(r)
    return erase_mentions(session, rows).mentions


def count_mentions(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(MentionRow)) or 0)
