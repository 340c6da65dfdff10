"""Writing and reading mentions: bulk upsert (dedup on platform + native id), deletes, forget."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from brandpulse.store.dialect import upsert_insert
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import AuthorRow, MentionRow, RollupRow, ScoreRow
from brandpulse.types import Mention, utcnow

log = logging.getLogger(__name__)

#: Rows per INSERT statement (keeps SQLite under its bound-parameter limit).
CHUNK = 400


@dataclass(frozen=True)
class InsertResult:
    new: int
    duplicates: int
    #: (platform, native id) → row id of each newly stored mention
    new_ids: dict[tuple[str, str], int] = field(default_factory=dict)


def _upsert_authors(session: Session, mentions: Sequence[Mention]) -> dict[tuple[str, str], int]:
    latest: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        k = (m.platform, m.author.handle)
        if k not in latest or m.created_at >= latest[k].created_at:
            latest[k] = m
    rows = [
        {
            "platform": p,
            "handle": h,
            "display_name": m.author.display_name,
            "followers": m.author.followers,
            "crm_confirmed": False,
            "first_seen": m.created_at,
            "last_seen": m.created_at,
        }
        for (p, h), m in latest.items()
    ]
    table = AuthorRow.__table__
    for i in range(0, len(rows), CHUNK):
        stmt = upsert_insert(session, table).values(rows[i : i + CHUNK])
        stmt = stmt.on_conflict_do_update(
            index_elements=["platform", "handle"],
            set_={
                "display_name": func.coalesce(stmt.excluded.display_name, table.c.display_name),
                "followers": func.coalesce(stmt.excluded.followers, table.c.followers),
                "last_seen": func.max(stmt.excluded.last_seen, table.c.last_seen)
                if session.get_bind().dialect.name == "sqlite"
                else func.greatest(stmt.excluded.last_seen, table.c.last_seen),
                "first_seen": func.min(stmt.excluded.first_seen, table.c.first_seen)
                if session.get_bind().dialect.name == "sqlite"
                else func.least(stmt.excluded.first_seen, table.c.first_seen),
            },
        )
        session.execute(stmt)
    ids: dict[tuple[str, str], int] = {}
    keys = list(latest)
    for i in range(0, len(keys), CHUNK):
        part = keys[i : i + CHUNK]
        for platform in {p for p, _ in part}:
            handles = [h for p, h in part if p == platform]
            q = select(AuthorRow.id, AuthorRow.platform, AuthorRow.handle).where(
                AuthorRow.platform == platform, AuthorRow.handle.in_(handles)
            )
            for row in session.execute(q):
                ids[(row.platform, row.handle)] = row.id
    return ids


def insert_mentions_in(session: Session, mentions: Sequence[Mention]) -> InsertResult:
    """Bulk upsert inside an open transaction; duplicates (platform, native id) are ignored."""
    unique: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        unique.setdefault(m.key, m)
    batch = list(unique.values())
    if not batch:
        return InsertResult(0, len(mentions))
    author_ids = _upsert_authors(session, batch)
    now = utcnow()
    rows = [
        {
            "platform": m.platform,
            "native_id": m.native_id,
            "url": m.url,
            "author_id": author_ids[(m.platform, m.author.handle)],
            "author_handle": m.author.handle,
            "author_followers": m.author.followers,
            "text": m.text,
            "lang": m.language,
            "created_at": m.created_at,
            "likes": m.engagement.likes,
            "reposts": m.engagement.reposts,
            "replies": m.engagement.replies,
            "parent_id": m.parent_id,
            "brand": m.brand,
            "query": m.query,
            "raw": m.raw,
            "ingested_at": now,
        }
        for m in batch
    ]
    new_ids: dict[tuple[str, str], int] = {}
    table = MentionRow.__table__
    for i in range(0, len(rows), CHUNK):
        stmt = (
            upsert_insert(session, table)
            .values(rows[i : i + CHUNK])
            .on_conflict_do_nothing(index_elements=["platform", "native_id"])
            .returning(table.c.id, table.c.platform, table.c.native_id)
        )
        for r in session.execute(stmt):
            new_ids[(r.platform, r.native_id)] = r.id
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
        session.execute(delete(MentionRow).where(MentionRow.id == mid))
        removed += 1
    return removed


def _unroll(session: Session, mention_ids: Sequence[int]) -> None:
    """Subtract scored mentions from the hourly rollups before they are deleted."""
    from brandpulse.store.rollups import hour_of

    q = (
        select(ScoreRow.model, ScoreRow.revision, ScoreRow.label, MentionRow.brand, MentionRow.created_at,
               MentionRow.author_followers)
        .join(MentionRow, MentionRow.id == ScoreRow.mention_id)
        .where(ScoreRow.mention_id.in_(mention_ids))
    )
    for r in session.execute(q):
        if r.brand is None:
            continue
        row = session.get(RollupRow, (f"{r.model}@{r.revision}", r.brand, hour_of(r.created_at), r.label))
        if row is not None:
            row.count = max(0, row.count - 1)
            row.reach = max(0, row.reach - (r.author_followers or 0))


def count_mentions(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(MentionRow)) or 0)
