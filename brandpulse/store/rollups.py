"""Hourly rollups, maintained incrementally in the scoring transaction and corrected when mentions are deleted.

- `rollups_hourly`: model × brand × hour × sentiment: count, reach (alerts and the dashboard read it);
- `rollup_dims`: model × dim × brand × hour × value: count, reach, for dim in emotion | platform | language.

A mention counts once per linked brand (`mention_brands`); an emotion row counts each emotion label its score carries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, select, update
from sqlalchemy.orm import Session

from brandpulse.model_key import ModelKey
from brandpulse.store.dialect import upsert_insert
from brandpulse.store.dirty_hours import mark_dirty_hours
from brandpulse.store.schema import MentionBrandRow, MentionRow, RollupDimRow, RollupRow, ScoreRow

#: The extra dimensions in `rollup_dims` (sentiment lives in `rollups_hourly`).
DIMS = ("emotion", "platform", "language")
UNKNOWN_LANGUAGE = "und"

SentimentKey = tuple[str, str, datetime, str]  # model_key, brand, hour, sentiment
DimKey = tuple[str, str, str, datetime, str]  # model_key, dim, brand, hour, value


def hour_of(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def emotion_labels(emotions: Any) -> list[str]:
    """The emotion labels of a stored score's `emotions` JSON ({"probs": …, "labels": […]}); [] for other shapes."""
    if isinstance(emotions, dict) and isinstance(emotions.get("labels"), list):
        return [str(e) for e in emotions["labels"]]
    return []


def dim_values(platform: str, lang: str | None, emotions: Iterable[str]) -> list[tuple[str, str]]:
    """The (dim, value) pairs one scored mention adds to `rollup_dims`."""
    return [("platform", platform), ("language", (lang or UNKNOWN_LANGUAGE)[:64]), *(("emotion", e) for e in emotions)]


def add_to_rollups(
    session: Session, model_key: ModelKey | str, items: Iterable[tuple[str | None, datetime, str, int | None]]
) -> int:
    """Add (brand, created_at, label, followers) items to the rollups; returns rows touched."""
    counts: Counter[tuple[str, datetime, str]] = Counter()
    reach: Counter[tuple[str, datetime, str]] = Counter()
    for brand, created_at, label, followers in items:
        if brand is None:
            continue
        k = (brand, hour_of(created_at), label)
        counts[k] += 1
        reach[k] += followers or 0
    if not counts:
        return 0
    table = RollupRow.__table__
    # Sorted so concurrent scoring workers lock rollup rows in one order (no deadlock on PostgreSQL).
    rows = [
        {"model_key": str(model_key), "brand": b, "hour": h, "sentiment": s, "count": c, "reach": reach[(b, h, s)]}
        for (b, h, s), c in sorted(counts.items())
    ]
    stmt = upsert_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["model_key", "brand", "hour", "sentiment"],
        set_={"count": table.c.count + stmt.excluded.count, "reach": table.c.reach + stmt.excluded.reach},
    )
    session.execute(stmt, rows)  # one statement compiled once, executed for every row (no huge multi-VALUES)
    mark_dirty_hours(session, str(model_key), {(b, h) for b, h, _ in counts})
    return len(rows)


def add_to_dim_rollups(
    session: Session,
    model_key: ModelKey | str,
    items: Iterable[tuple[str | None, datetime, int | None, Iterable[tuple[str, str]]]],
) -> int:
    """Add (brand, created_at, followers, [(dim, value), …]) items to `rollup_dims`; returns rows touched."""
    counts: Counter[tuple[str, str, datetime, str]] = Counter()
    reach: Counter[tuple[str, str, datetime, str]] = Counter()
    for brand, created_at, followers, pairs in items:
        if brand is None:
            continue
        hour = hour_of(created_at)
        for dim, value in pairs:
            k = (dim, brand, hour, value)
            counts[k] += 1
            reach[k] += followers or 0
    if not counts:
        return 0
    table = RollupDimRow.__table__
    rows = [
        {"model_key": str(model_key), "dim": d, "brand": b, "hour": h, "value": v, "count": c, "reach": reach[(d, b, h, v)]}
        for (d, b, h, v), c in sorted(counts.items())
    ]
    stmt = upsert_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["model_key", "dim", "brand", "hour", "value"],
        set_={"count": table.c.count + stmt.excluded.count, "reach": table.c.reach + stmt.excluded.reach},
    )
    session.execute(stmt, rows)
    return len(rows)


def _deltas(session: Session, mention_ids: Sequence[int]) -> tuple[int, Counter[SentimentKey], Counter[SentimentKey],
                                                                   Counter[DimKey], Counter[DimKey]]:
    sn: Counter[SentimentKey] = Counter()
    sr: Counter[SentimentKey] = Counter()
    dn: Counter[DimKey] = Counter()
    dr: Counter[DimKey] = Counter()
    scores = select(ScoreRow.mention_id).where(ScoreRow.mention_id.in_(list(mention_ids)))
    n = len(list(session.scalars(scores)))
    q = (
        select(ScoreRow.model, ScoreRow.revision, ScoreRow.label, ScoreRow.emotions, MentionBrandRow.brand,
               MentionRow.created_at, MentionRow.author_followers, MentionRow.platform, MentionRow.lang)
        .join(MentionRow, MentionRow.id == ScoreRow.mention_id)
        .join(MentionBrandRow, MentionBrandRow.mention_id == MentionRow.id)
        .where(ScoreRow.mention_id.in_(list(mention_ids)))
    )
    for r in session.execute(q):
        key, hour, followers = str(ModelKey(r.model, r.revision)), hour_of(r.created_at), r.author_followers or 0
        sn[(key, r.brand, hour, r.label)] += 1
        sr[(key, r.brand, hour, r.label)] += followers
        for dim, value in dim_values(r.platform, r.lang, emotion_labels(r.emotions)):
            dn[(key, dim, r.brand, hour, value)] += 1
            dr[(key, dim, r.brand, hour, value)] += followers
    return n, sn, sr, dn, dr


def unroll_mentions(session: Session, mention_ids: Sequence[int]) -> int:
    """Subtract these mentions' scores from all rollups (once per linked brand) before the mentions are deleted;
    rows that reach zero are removed, so the rollups equal a recount of what is left. Returns the scores found."""
    if not mention_ids:
        return 0
    n, sn, sr, dn, dr = _deltas(session, mention_ids)
    rt, dt = cast(Table, RollupRow.__table__), cast(Table, RollupDimRow.__table__)
    if sn:
        s_match = and_(rt.c.model_key == bindparam("k"), rt.c.brand == bindparam("b"), rt.c.hour == bindparam("h"),
                       rt.c.sentiment == bindparam("v"))
        params = [{"k": k, "b": b, "h": h, "v": v, "n": sn[(k, b, h, v)], "r": sr[(k, b, h, v)]}
                  for (k, b, h, v) in sorted(sn)]
        session.execute(update(rt).where(s_match).values(count=rt.c.count - bindparam("n"),
                                                        reach=rt.c.reach - bindparam("r")), params)
        session.execute(delete(rt).where(s_match, rt.c.count <= 0), [{k: p[k] for k in "kbhv"} for p in params])
    if dn:
        d_match = and_(dt.c.model_key == bindparam("k"), dt.c.dim == bindparam("d"), dt.c.brand == bindparam("b"),
                       dt.c.hour == bindparam("h"), dt.c.value == bindparam("v"))
        dparams = [{"k": k, "d": d, "b": b, "h": h, "v": v, "n": dn[(k, d, b, h, v)], "r": dr[(k, d, b, h, v)]}
                   for (k, d, b, h, v) in sorted(dn)]
        session.execute(update(dt).where(d_match).values(count=dt.c.count - bindparam("n"),
                                                        reach=dt.c.reach - bindparam("r")), dparams)
        session.execute(delete(dt).where(d_match, dt.c.count <= 0), [{k: p[k] for k in "kdbhv"} for p in dparams])
    return n


def roll_in_links(session: Session, links: Sequence[tuple[int, str]]) -> int:
    """Count already scored mentions for brands they were linked to after scoring (a post a second brand's collector
    found later), so every rollup still equals a recount. Returns the scores added."""
    if not links:
        return 0
    brands: dict[int, set[str]] = {}
    for mention_id, brand in links:
        brands.setdefault(mention_id, set()).add(brand)
    q = (
        select(ScoreRow.mention_id, ScoreRow.model, ScoreRow.revision, ScoreRow.label, ScoreRow.emotions,
               MentionRow.created_at, MentionRow.author_followers, MentionRow.platform, MentionRow.lang)
        .join(MentionRow, MentionRow.id == ScoreRow.mention_id)
        .where(ScoreRow.mention_id.in_(sorted(brands)))
    )
    sentiment: dict[str, list[tuple[str | None, datetime, str, int | None]]] = {}
    dims: dict[str, list[tuple[str | None, datetime, int | None, list[tuple[str, str]]]]] = {}
    n = 0
    for r in session.execute(q):
        key = str(ModelKey(r.model, r.revision))
        pairs = dim_values(r.platform, r.lang, emotion_labels(r.emotions))
        for brand in sorted(brands[r.mention_id]):
            sentiment.setdefault(key, []).append((brand, r.created_at, r.label, r.author_followers))
            dims.setdefault(key, []).append((brand, r.created_at, r.author_followers, pairs))
            n += 1
    for key in sorted(sentiment):
        add_to_rollups(session, key, sentiment[key])
        add_to_dim_rollups(session, key, dims[key])
    return n


def recount(session: Session) -> tuple[dict[SentimentKey, tuple[int, int]], dict[DimKey, tuple[int, int]]]:
    """Every rollup recomputed from the stored scores: ({sentiment key: (count, reach)}, {dim key: (count, reach)})."""
    q = (
        select(ScoreRow.model, ScoreRow.revision, ScoreRow.label, ScoreRow.emotions, MentionBrandRow.brand,
               MentionRow.created_at, MentionRow.author_followers, MentionRow.platform, MentionRow.lang)
        .join(MentionRow, MentionRow.id == ScoreRow.mention_id)
        .join(MentionBrandRow, MentionBrandRow.mention_id == MentionRow.id)
    )
    sent: dict[SentimentKey, tuple[int, int]] = {}
    dims: dict[DimKey, tuple[int, int]] = {}
    for r in session.execute(q):
        key, hour, followers = str(ModelKey(r.model, r.revision)), hour_of(r.created_at), r.author_followers or 0
        c, rr = sent.get((key, r.brand, hour, r.label), (0, 0))
        sent[(key, r.brand, hour, r.label)] = (c + 1, rr + followers)
        for dim, value in dim_values(r.platform, r.lang, emotion_labels(r.emotions)):
            c, rr = dims.get((key, dim, r.brand, hour, value), (0, 0))
            dims[(key, dim, r.brand, hour, value)] = (c + 1, rr + followers)
    return sent, dims


def stored(session: Session) -> tuple[dict[SentimentKey, tuple[int, int]], dict[DimKey, tuple[int, int]]]:
    """The rollups as stored, in `recount`'s shape (to compare the two)."""
    sent = {(r.model_key, r.brand, hour_of(r.hour), r.sentiment): (r.count, r.reach) for r in session.scalars(select(RollupRow))}
    dims = {(r.model_key, r.dim, r.brand, hour_of(r.hour), r.value): (r.count, r.reach)
            for r in session.scalars(select(RollupDimRow))}
    return sent, dims
