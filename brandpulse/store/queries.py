"""Read-side query functions (dashboard, alerts, status). They return DataFrames or plain values.

Dashboards read the hourly rollups, never a scan of all mentions; only evidence and
"latest posts" lists read mentions, always bounded by brand, time and a LIMIT.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, func, literal, select

from brandpulse.model_key import ModelKey
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import AlertRow, AuthorRow, CursorRow, MentionRow, RollupRow, ScoreRow


def current_model(engine: Engine) -> ModelKey | None:
    """The model the dashboard shows: the one whose rollups cover the most mentions; of models covering as
    many, the one that scored last (a newer model that re-scored everything replaces the old one)."""
    q = select(RollupRow.model_key, func.sum(RollupRow.count).label("n")).group_by(RollupRow.model_key)
    with session_scope(engine) as s:
        rows = list(s.execute(q))
        if not rows:
            return None
        most = max(r.n for r in rows)
        keys = [ModelKey.parse(r.model_key) for r in rows if r.n == most]
        if len(keys) == 1:
            return keys[0]

        def last_score(key: ModelKey) -> int:
            return int(s.scalar(select(func.max(ScoreRow.id)).where(ScoreRow.model == key.name,
                                                                  ScoreRow.revision == key.revision)) or 0)

        return max(keys, key=last_score)


def latest_model_key(engine: Engine) -> str | None:
    """`current_model` as its "name@revision" string (what rollups and alerts are keyed by)."""
    key = current_model(engine)
    return str(key) if key is not None else None


def _score_of(key: ModelKey) -> Any:
    """Join condition: a mention's score from model `key` (one per mention, so a re-scored mention shows once)."""
    return and_(ScoreRow.mention_id == MentionRow.id, ScoreRow.model == key.name, ScoreRow.revision == key.revision)


def rollups(
    engine: Engine,
    model_key: ModelKey | str,
    brands: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    q = select(RollupRow.brand, RollupRow.hour, RollupRow.sentiment, RollupRow.count, RollupRow.reach).where(
        RollupRow.model_key == str(model_key)
    )
    if brands:
        q = q.where(RollupRow.brand.in_(brands))
    if since is not None:
        q = q.where(RollupRow.hour >= since)
    if until is not None:
        q = q.where(RollupRow.hour < until)
    with session_scope(engine) as s:
        rows = [r._asdict() for r in s.execute(q.order_by(RollupRow.hour))]
    df = pd.DataFrame(rows, columns=["brand", "hour", "sentiment", "count", "reach"])
    if not df.empty:
        df["hour"] = pd.to_datetime(df["hour"], utc=True)
    return df


def volume_by_sentiment(engine: Engine, model_key: ModelKey | str, brands: list[str] | None = None,
                        freq: str = "h") -> pd.DataFrame:
    """brand × period × sentiment counts (period = hour or day), for the volume/sentiment charts."""
    df = rollups(engine, model_key, brands)
    if df.empty:
        return df
    df["period"] = df["hour"].dt.floor(freq)
    return df.groupby(["brand", "period", "sentiment"], as_index=False)[["count", "reach"]].sum()


def brand_totals(engine: Engine, model_key: ModelKey | str) -> pd.DataFrame:
    """Per brand: mentions, negative share, reach — also the share of voice."""
    df = rollups(engine, model_key)
    if df.empty:
        return pd.DataFrame(columns=["brand", "mentions", "negative", "positive", "negative_share", "reach", "share_of_voice"])
    piv = df.pivot_table(index="brand", columns="sentiment", values="count", aggfunc="sum", fill_value=0)
    out = pd.DataFrame({"mentions": piv.sum(axis=1)})
    out["negative"] = piv.get("negative", 0)
    out["positive"] = piv.get("positive", 0)
    out["negative_share"] = (out["negative"] / out["mentions"]).round(3)
    out["reach"] = df.groupby("brand")["reach"].sum()
    out["share_of_voice"] = (out["mentions"] / out["mentions"].sum()).round(3)
    return out.reset_index().sort_values("mentions", ascending=False)


def alerts_frame(engine: Engine, states: tuple[str, ...] = ("open", "acknowledged")) -> pd.DataFrame:
    q = select(AlertRow).where(AlertRow.state.in_(states)).order_by(AlertRow.window_start.desc())
    with session_scope(engine) as s:
        rows = [
            {
                "id": a.id, "brand": a.brand, "rule": a.rule, "start": a.window_start, "end": a.window_end,
                "severity": a.severity, "state": a.state, "metrics": a.metrics, "evidence": a.evidence,
            }
            for a in s.scalars(q)
        ]
    return pd.DataFrame(rows, columns=["id", "brand", "rule", "start", "end", "severity", "state", "metrics", "evidence"])


def counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        def n(model: Any) -> int:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

        return {
            "mentions": n(MentionRow),
            "scored": int(s.scalar(select(func.count(func.distinct(ScoreRow.mention_id)))) or 0),
            "authors": n(AuthorRow),
            "open_alerts": int(s.scalar(select(func.count()).select_from(AlertRow).where(AlertRow.state == "open")) or 0),
            "cursors": n(CursorRow),
        }


def latest_mentions(engine: Engine, brand: str | None = None, limit: int = 50, label: str | None = None,
                    model: ModelKey | None = None) -> pd.DataFrame:
    """The newest mentions with their score from `model` (default: `current_model`), each mention once;
    label and confidence are empty where that model has not scored the mention yet."""
    key = model if model is not None else current_model(engine)
    score_of = _score_of(key) if key is not None else literal(False)
    q = (
        select(MentionRow.id, MentionRow.created_at, MentionRow.brand, MentionRow.platform, MentionRow.author_handle,
               MentionRow.lang, MentionRow.text, ScoreRow.label, ScoreRow.confidence)
        .outerjoin(ScoreRow, score_of)
        .order_by(MentionRow.created_at.desc(), MentionRow.id.desc())
        .limit(limit)
    )
    if brand:
        q = q.where(MentionRow.brand == brand)
    if label:
        q = q.where(ScoreRow.label == label)
    with session_scope(engine) as s:
        rows = [r._asdict() for r in s.execute(q)]
    return pd.DataFrame(rows, columns=["id", "created_at", "brand", "platform", "author_handle", "lang", "text", "label",
                                       "confidence"])


def matching_mentions(engine: Engine, predicate: Any, *, scan: int = 20_000, limit: int = 20) -> tuple[int, int, list[Any]]:
    """Apply a local filter to the newest `scan` stored mentions: (scanned, matched, first `limit` matches)."""
    from brandpulse.types import AuthorRef, Engagement, Mention

    q = (
        select(MentionRow.platform, MentionRow.native_id, MentionRow.text, MentionRow.created_at, MentionRow.author_handle,
               MentionRow.lang, MentionRow.brand)
        .order_by(MentionRow.created_at.desc())
        .limit(scan)
    )
    scanned = matched = 0
    hits: list[Any] = []
    with session_scope(engine) as s:
        for r in s.execute(q):
            scanned += 1
            m = Mention(platform=r.platform, native_id=r.native_id, text=r.text, created_at=r.created_at,
                        author=AuthorRef(r.author_handle), language=r.lang, engagement=Engagement(), brand=r.brand)
            if predicate(m):
                matched += 1
                if len(hits) < limit:
                    hits.append(m)
    return scanned, matched, hits
