"""Query functions for the dashboard's pages. Charts and KPIs read only the hourly rollups (`rollups_hourly`,
`rollup_dims`); the feed, top posts and term samples read mentions, always bounded by time and a LIMIT, paged by
keyset on an index (never OFFSET, never a scan of all mentions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, String, and_, cast, exists, func, literal, select, tuple_

from brandpulse.model_key import ModelKey
from brandpulse.store.engine import session_scope
from brandpulse.store.rollups import hour_of
from brandpulse.store.schema import MentionBrandRow, MentionRow, RollupDimRow, RollupRow, ScoreRow

SERIES_COLUMNS = ["brand", "hour", "value", "count", "reach"]
KPI_COLUMNS = ["brand", "mentions", "negative", "negative_share", "reach",
               "prev_mentions", "prev_negative_share", "prev_reach"]
FEED_COLUMNS = ["id", "created_at", "brand", "platform", "author_handle", "author_followers", "url", "lang", "text",
                "label", "confidence", "emotions", "likes", "reposts", "replies"]
SORTS = ("time", "reach")


def latest_hour(engine: Engine, model_key: ModelKey | str) -> datetime | None:
    """The newest hour with scored mentions of this model (what "now" is when the store holds old data)."""
    with session_scope(engine) as s:
        value = s.scalar(select(func.max(RollupRow.hour)).where(RollupRow.model_key == str(model_key)))
    return hour_of(value) if value is not None else None


def brand_names(engine: Engine, model_key: ModelKey | str) -> list[str]:
    """The brands with scored mentions of this model, most mentioned first."""
    q = (select(RollupRow.brand).where(RollupRow.model_key == str(model_key)).group_by(RollupRow.brand)
         .order_by(func.sum(RollupRow.count).desc(), RollupRow.brand))
    with session_scope(engine) as s:
        return list(s.scalars(q))


def series(engine: Engine, model_key: ModelKey | str, dim: str, brands: list[str] | None, since: datetime,
           until: datetime) -> pd.DataFrame:
    """brand × hour × value: count, reach for `dim` = sentiment | emotion | platform | language, over [since, until)."""
    if dim == "sentiment":
        t: Any = RollupRow
        q = select(t.brand, t.hour, t.sentiment.label("value"), t.count, t.reach)
    else:
        t = RollupDimRow
        q = select(t.brand, t.hour, t.value, t.count, t.reach).where(t.dim == dim)
    q = q.where(t.model_key == str(model_key), t.hour >= since, t.hour < until)
    if brands:
        q = q.where(t.brand.in_(brands))
    with session_scope(engine) as s:
        rows = [tuple(r) for r in s.execute(q.order_by(t.hour))]
    df = pd.DataFrame(rows, columns=SERIES_COLUMNS)
    df["hour"] = pd.to_datetime(df["hour"], utc=True)
    df["count"] = df["count"].astype("int64")
    df["reach"] = df["reach"].astype("int64")
    return df


def _totals(engine: Engine, key: str, brands: list[str] | None, since: datetime, until: datetime) -> pd.DataFrame:
    q = (select(RollupRow.brand, RollupRow.sentiment, func.sum(RollupRow.count), func.sum(RollupRow.reach))
         .where(RollupRow.model_key == key, RollupRow.hour >= since, RollupRow.hour < until)
         .group_by(RollupRow.brand, RollupRow.sentiment))
    if brands:
        q = q.where(RollupRow.brand.in_(brands))
    with session_scope(engine) as s:
        rows = [(b, sent, int(c or 0), int(r or 0)) for b, sent, c, r in s.execute(q)]
    df = pd.DataFrame(rows, columns=["brand", "sentiment", "count", "reach"])
    if df.empty:
        return pd.DataFrame(columns=["mentions", "negative", "reach"], index=pd.Index([], name="brand"))
    g = df.groupby("brand")
    out = pd.DataFrame({"mentions": g["count"].sum(), "reach": g["reach"].sum()})
    out["negative"] = df[df["sentiment"] == "negative"].groupby("brand")["count"].sum().reindex(out.index, fill_value=0)
    return out


def kpis(engine: Engine, model_key: ModelKey | str, brands: list[str] | None, since: datetime,
         until: datetime) -> pd.DataFrame:
    """Per brand, for [since, until) and the period of the same length before it: mentions, negative share, reach."""
    key = str(model_key)
    now = _totals(engine, key, brands, since, until)
    prev = _totals(engine, key, brands, since - (until - since), since)
    index = now.index.union(prev.index)
    now, prev = now.reindex(index, fill_value=0), prev.reindex(index, fill_value=0)
    out = pd.DataFrame(index=index)
    out["mentions"] = now["mentions"].astype("int64")
    out["negative"] = now["negative"].astype("int64")
    out["negative_share"] = (now["negative"] / now["mentions"].where(now["mentions"] > 0)).round(4)
    out["reach"] = now["reach"].astype("int64")
    out["prev_mentions"] = prev["mentions"].astype("int64")
    out["prev_negative_share"] = (prev["negative"] / prev["mentions"].where(prev["mentions"] > 0)).round(4)
    out["prev_reach"] = prev["reach"].astype("int64")
    out.index.name = "brand"
    return out.reset_index().sort_values(["mentions", "brand"], ascending=[False, True])[KPI_COLUMNS] \
        .reset_index(drop=True)


def _in_brand(brand: str) -> Any:
    return exists().where(MentionBrandRow.mention_id == MentionRow.id, MentionBrandRow.brand == brand)


def top_posts(engine: Engine, model_key: ModelKey | str, brand: str, since: datetime, until: datetime,
              limit: int = 10) -> pd.DataFrame:
    """The period's posts about `brand` with the widest reach (author followers), with this model's label."""
    return feed(engine, model_key, FeedFilter(brand=brand, since=since, until=until, sort="reach"), limit=limit)[0]


def period_texts(engine: Engine, brand: str, since: datetime, until: datetime, limit: int = 2000) -> list[str]:
    """The newest `limit` texts about `brand` in [since, until) (a bounded sample for rising terms)."""
    q = (select(MentionRow.text).where(MentionRow.created_at >= since, MentionRow.created_at < until, _in_brand(brand))
         .order_by(MentionRow.created_at.desc(), MentionRow.id.desc()).limit(limit))
    with session_scope(engine) as s:
        return list(s.scalars(q))


@dataclass(frozen=True)
class FeedFilter:
    brand: str | None = None
    platform: str | None = None
    #: a score label: negative | neutral | positive | uncertain
    sentiment: str | None = None
    emotion: str | None = None
    #: a language code; "und" = unknown
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    author: str | None = None
    sort: str = "time"


#: A page's position: the (sort value, id) of the last row shown.
Cursor = tuple[Any, int]


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def feed(engine: Engine, model_key: ModelKey | str | None, flt: FeedFilter, *, after: Cursor | None = None,
         limit: int = 50) -> tuple[pd.DataFrame, Cursor | None]:
    """One page of the mentions feed, newest (or widest reach) first, with `model_key`'s score, and the cursor of
    the next page (None on the last page). Keyset paging: each page costs the same however deep it is."""
    key = ModelKey.parse(str(model_key)) if model_key is not None else None
    score_on = (and_(ScoreRow.mention_id == MentionRow.id, ScoreRow.model == key.name, ScoreRow.revision == key.revision)
                if key is not None else literal(False))
    reach = func.coalesce(MentionRow.author_followers, 0)
    order_value: Any = MentionRow.created_at if flt.sort != "reach" else reach
    # the page's ids first (on the index, joining scores only to filter by them), then its rows with their scores
    ids = select(MentionRow.id, order_value.label("sort_value"))
    needs_score = bool(flt.sentiment or flt.emotion)
    if needs_score:
        ids = ids.join(ScoreRow, score_on)
    conds: list[Any] = []
    if flt.brand:
        conds.append(_in_brand(flt.brand))
    if flt.platform:
        conds.append(MentionRow.platform == flt.platform)
    if flt.sentiment:
        conds.append(ScoreRow.label == flt.sentiment)
    if flt.emotion:
        conds.append(cast(ScoreRow.emotions["labels"], String).like(_like(f'"{flt.emotion}"'), escape="\\"))
    if flt.language:
        conds.append(MentionRow.lang.is_(None) if flt.language == "und" else MentionRow.lang == flt.language)
    if flt.since is not None:
        conds.append(MentionRow.created_at >= flt.since)
    if flt.until is not None:
        conds.append(MentionRow.created_at < flt.until)
    if flt.text:
        conds.append(MentionRow.text.ilike(_like(flt.text), escape="\\"))
    if flt.author:
        conds.append(MentionRow.author_handle.ilike(_like(flt.author.strip().lstrip("@")), escape="\\"))
    if after is not None:
        conds.append(tuple_(order_value, MentionRow.id) < tuple_(literal(after[0], order_value.type), after[1]))
    page = ids.where(*conds).order_by(order_value.desc(), MentionRow.id.desc()).limit(limit + 1).subquery()
    q = (select(MentionRow.id, MentionRow.created_at, MentionRow.brand, MentionRow.platform, MentionRow.author_handle,
                MentionRow.author_followers, MentionRow.url, MentionRow.lang, MentionRow.text, ScoreRow.label,
                ScoreRow.confidence, ScoreRow.emotions, MentionRow.likes, MentionRow.reposts, MentionRow.replies,
                page.c.sort_value)
         .join(page, page.c.id == MentionRow.id).outerjoin(ScoreRow, score_on)
         .order_by(page.c.sort_value.desc(), MentionRow.id.desc()))
    with session_scope(engine) as s:
        rows = [r._asdict() for r in s.execute(q)]
    more = len(rows) > limit
    rows = rows[:limit]
    cursor: Cursor | None = (rows[-1]["sort_value"], int(rows[-1]["id"])) if more and rows else None
    for r in rows:
        labels = (r["emotions"] or {}).get("labels") if isinstance(r["emotions"], dict) else None
        r["emotions"] = ", ".join(labels) if labels else ""
        r.pop("sort_value")
    df = pd.DataFrame(rows, columns=FEED_COLUMNS)
    if not df.empty:
        df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df, cursor


def facet_values(engine: Engine, model_key: ModelKey | str, dim: str) -> list[str]:
    """The values a dimension takes in the rollups (the feed's platform and language choices)."""
    q = select(RollupDimRow.value).where(RollupDimRow.model_key == str(model_key), RollupDimRow.dim == dim).distinct()
    with session_scope(engine) as s:
        return sorted(s.scalars(q))


def platform_volume(engine: Engine, model_key: ModelKey | str, since: datetime) -> pd.DataFrame:
    """platform × hour: scored mentions since `since` (from the rollups; a post about two brands counts twice)."""
    df = series(engine, model_key, "platform", None, since, since + timedelta(days=3650))
    if df.empty:
        return pd.DataFrame(columns=["platform", "hour", "count"])
    return df.groupby(["value", "hour"], as_index=False)["count"].sum().rename(columns={"value": "platform"})
