"""Writing and reading mentions: bulk upsert (dedup on platform + native id), deletes, forget."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from brandpulse.errors import StoreError
from brandpulse.store import postgres_bulk, sqlite_bulk
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import MentionBrandRow, MentionRow, ScoreRow
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
        first = unique.setdefault(m.key, m)
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
    new_ids = bulk(session.connection().connection.dbapi_connection, batch)
    return InsertResult(new=len(new_ids), duplicates=len(mentions) - len(new_ids), new_ids=new_ids)


def insert_mentions(engine: Engine, mentions: Iterable[Mention]) -> InsertResult:
    """Store mentions in one transaction; returns how many were new."""
    batch = list(mentions)
    with session_scope(engine) as s:
        return insert_mentions_in(s, batch)


def delete_mentions_in(session: Session, keys: Iterable[tuple[str, str]]) -> int:
    """Delete mentions (e.g. deleted upstream) and take them out of the rollups."""
    removed = 0
    for platform, native_id in keys:
        mid = session.scalar(
            select(MentionRow.id).where(MentionRow.platform == platform, MentionRow.native_id == native_id)
        )
        if mid is None:
            continue
        _unroll(session, [mid])
        session.execute(delete(ScoreRow).where(ScoreRow.mention_id == mid))
        session.execute(delete(MentionBrandRow).where(MentionBrandRow.mention_id == mid))
        session.execute(delete(MentionRow).where(MentionRow.id == mid))
        removed += 1
    return removed


def _unroll(session: Session, mention_ids: Sequence[int]) -> None:
    """Subtract scored mentions from all rollups (once per linked brand) before they are deleted."""
    from brandpulse.store.rollups import unroll_mentions

    unroll_mentions(session, mention_ids)


def count_mentions(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(MentionRow)) or 0)
