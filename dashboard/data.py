"""Cached access to the store for the dashboard pages (the pages only lay things out)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from brandpulse.config import Settings, load_settings
from brandpulse.model_key import ModelKey
from brandpulse.store import dashboard_queries as dq
from brandpulse.store import queries
from brandpulse.store.engine import make_engine
from dashboard.background import Background

TTL = 30  # seconds: the PR team's dashboard refreshes without hammering the store


@st.cache_resource
def _settings_and_engine(config: str | None, url: str | None) -> tuple[Settings, Engine]:
    settings = load_settings(config)
    return settings, make_engine(settings.database_url)


def settings_and_engine() -> tuple[Settings, Engine]:
    return _settings_and_engine(os.environ.get("BRANDPULSE_CONFIG"), os.environ.get("BRANDPULSE_DATABASE_URL"))


@st.cache_data(ttl=TTL, show_spinner=False)
def model_key(_engine: Engine, url: str) -> str | None:
    return queries.latest_model_key(_engine)


@st.cache_data(ttl=TTL, show_spinner=False)
def volume(_engine: Engine, url: str, key: str, brands: tuple[str, ...], freq: str) -> pd.DataFrame:
    return queries.volume_by_sentiment(_engine, key, list(brands) or None, freq)


@st.cache_data(ttl=TTL, show_spinner=False)
def totals(_engine: Engine, url: str, key: str) -> pd.DataFrame:
    return queries.brand_totals(_engine, key)


@st.cache_data(ttl=TTL, show_spinner=False)
def open_alerts(_engine: Engine, url: str) -> pd.DataFrame:
    """Open and acknowledged alerts, newest first, with their evidence rendered from the store now."""
    from dataclasses import asdict

    from alerts.evidence import alert_views

    views = alert_views(_engine, settings_and_engine()[0].alerts)
    return pd.DataFrame([asdict(v) for v in views],
                        columns=["id", "rule", "brand", "start", "end", "severity", "state", "metrics", "evidence"])


@st.cache_data(ttl=TTL, show_spinner=False)
def latest(_engine: Engine, url: str, brand: str | None, key: str | None = None) -> pd.DataFrame:
    """The newest mentions, each once, with the `key` model's label (default: the current model)."""
    return queries.latest_mentions(_engine, brand, model=ModelKey.parse(key) if key else None)


def negative_share(vol: pd.DataFrame, window: int = 1) -> pd.DataFrame:
    """brand × period negative share from the volume frame, over a trailing `window` of periods.

    Hourly shares of a handful of posts jump between 0 and 100 %; a trailing window (e.g. 6 h)
    shows the trend a PR team reads, computed from summed counts, not averaged shares.
    """
    if vol.empty:
        return pd.DataFrame(columns=["brand", "period", "negative_share"])
    frames = []
    for brand, g in vol.groupby("brand"):
        tot = g.groupby("period")["count"].sum()
        neg = g[g["sentiment"] == "negative"].groupby("period")["count"].sum().reindex(tot.index, fill_value=0)
        share = neg.rolling(window, min_periods=1).sum() / tot.rolling(window, min_periods=1).sum()
        frames.append(pd.DataFrame({"brand": brand, "period": tot.index, "negative_share": share.to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def describe_alert(row: Any) -> str:
    return (f"**{row.severity.upper()}** · {row.brand} · {row.start:%Y-%m-%d %H:%M}–{row.end:%H:%M} UTC · "
            f"{row.rule.replace('_', ' ')}")


@st.cache_data(ttl=TTL, show_spinner=False)
def mentions(_engine: Engine, url: str, brand: str | None, label: str | None, limit: int,
             key: str | None = None) -> pd.DataFrame:
    """The Mentions page's rows: each mention once, with the `key` model's label (default: the current model)."""
    return queries.latest_mentions(_engine, brand, limit, label, model=ModelKey.parse(key) if key else None)


# --- the pages' reads: rollups for charts and KPIs, bounded reads of mentions for lists (dashboard_queries) ---


@st.cache_data(ttl=TTL, show_spinner=False)
def newest_hour(_engine: Engine, url: str, key: str) -> datetime | None:
    return dq.latest_hour(_engine, key)


@st.cache_data(ttl=TTL, show_spinner=False)
def brand_names(_engine: Engine, url: str, key: str) -> list[str]:
    return dq.brand_names(_engine, key)


@st.cache_data(ttl=TTL, show_spinner=False)
def series(_engine: Engine, url: str, key: str, dim: str, brands: tuple[str, ...], since: datetime,
           until: datetime) -> pd.DataFrame:
    return dq.series(_engine, key, dim, list(brands) or None, since, until)


@st.cache_data(ttl=TTL, show_spinner=False)
def kpis(_engine: Engine, url: str, key: str, brands: tuple[str, ...], since: datetime, until: datetime) -> pd.DataFrame:
    return dq.kpis(_engine, key, list(brands) or None, since, until)


#: Social NPS over a period changes slowly and is the slowest read (it classes every author): recomputed at most
#: every ten minutes, in the background.
NPS_TTL = 600


@st.cache_resource
def background() -> Background:
    return Background(NPS_TTL)


def social_nps(_engine: Engine, url: str, key: str, brands: tuple[str, ...], since: datetime,
               until: datetime, *, start: bool = True) -> pd.DataFrame | None:
    """Per configured brand: social NPS of the period and of the one before (None: too few authors), computed by the
    advocates stage from the period's scored mentions — in the background (`Background`): None until the first
    result is ready, so the Overview renders without waiting for it. `start=False` only looks."""
    settings = settings_and_engine()[0]

    def compute() -> pd.DataFrame:
        from dataclasses import asdict

        from advocates.lists import nps_change

        rows = nps_change(_engine, settings, list(brands), since=since, until=until, model_key=key)
        return pd.DataFrame([asdict(r) for r in rows], columns=["brand", "nps", "prev_nps", "authors", "prev_authors"])

    job = ("social_nps", url, key, brands, since, until)
    result: pd.DataFrame | None = background().get(job, compute) if start else background().peek(job)
    return result


@st.cache_data(ttl=TTL, show_spinner=False)
def top_posts(_engine: Engine, url: str, key: str, brand: str, since: datetime, until: datetime,
              limit: int = 5) -> pd.DataFrame:
    return with_links(dq.top_posts(_engine, key, brand, since, until, limit))


@st.cache_data(ttl=TTL, show_spinner=False)
def rising_terms(_engine: Engine, url: str, brand: str, since: datetime, until: datetime, n: int = 10) -> list[str]:
    """Words much more frequent in the period than in the period before (bounded samples of each)."""
    from alerts.evidence import top_terms

    now = dq.period_texts(_engine, brand, since, until)
    before = dq.period_texts(_engine, brand, since - (until - since), since)
    return top_terms(now, before, n)


@st.cache_data(ttl=TTL, show_spinner=False)
def feed(_engine: Engine, url: str, key: str | None, flt: dq.FeedFilter, after: tuple[Any, int] | None,
         limit: int) -> tuple[pd.DataFrame, tuple[Any, int] | None]:
    df, cursor = dq.feed(_engine, key, flt, after=after, limit=limit)
    return with_links(df), cursor


@st.cache_data(ttl=TTL, show_spinner=False)
def facet(_engine: Engine, url: str, key: str, dim: str) -> list[str]:
    return dq.facet_values(_engine, key, dim)


@st.cache_data(ttl=TTL, show_spinner=False)
def sources(_engine: Engine, url: str) -> pd.DataFrame:
    """Each collector's health: last success, lag, last error (secrets redacted), rate-limit state."""
    from brandpulse.logredact import redact
    from brandpulse.store.cursors import source_health

    rows = []
    for h in source_health(_engine):
        failing = h.last_error_at is not None and (h.last_success is None or h.last_error_at > h.last_success)
        rows.append({
            "source": h.source, "key": h.key, "status": "failing" if failing else ("ok" if h.last_success else "unknown"),
            "last_success": h.last_success, "lag_s": h.lag_seconds, "errors": h.error_count,
            "last_error": redact(h.last_error) if h.last_error else "", "last_error_at": h.last_error_at,
            "rate_limit_remaining": h.rate_limit_remaining, "rate_limit_reset": h.rate_limit_reset,
        })
    return pd.DataFrame(rows, columns=["source", "key", "status", "last_success", "lag_s", "errors", "last_error",
                                       "last_error_at", "rate_limit_remaining", "rate_limit_reset"])


@st.cache_data(ttl=TTL, show_spinner=False)
def platform_volume(_engine: Engine, url: str, key: str, since: datetime) -> pd.DataFrame:
    return dq.platform_volume(_engine, key, since)


def _http(url: Any) -> str | None:
    """Only plain web links become clickable (no javascript:, data: or other schemes from a post)."""
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else None


def with_links(df: pd.DataFrame) -> pd.DataFrame:
    """The post's and its author's addresses as link columns (http(s) only)."""
    from advocates.handles import profile_url

    out = df.copy()
    out["post"] = [_http(u) for u in out["url"]] if not out.empty else pd.Series(dtype=object)
    out["author"] = ([_http(profile_url(p, a)) for p, a in zip(out["platform"], out["author_handle"], strict=True)]
                     if not out.empty else pd.Series(dtype=object))
    return out


def in_zone(df: pd.DataFrame, column: str, tz: str) -> pd.DataFrame:
    """`column` (UTC timestamps) shown in the configured time zone."""
    if not df.empty:
        df = df.copy()
        df[column] = pd.to_datetime(df[column], utc=True).dt.tz_convert(tz)
    return df


def bucket(df: pd.DataFrame, tz: str, freq: str) -> pd.DataFrame:
    """Hourly rollup rows summed into `freq` buckets (hour or day) of the configured time zone."""
    if df.empty:
        return df.assign(period=pd.Series(dtype="datetime64[ns, UTC]"))
    df = df.assign(period=df["hour"].dt.tz_convert(tz).dt.floor(freq, ambiguous=False, nonexistent="shift_forward"))
    return df.groupby(["brand", "period", "value"], as_index=False)[["count", "reach"]].sum()
