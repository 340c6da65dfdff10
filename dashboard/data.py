"""Cached access to the store for the dashboard pages (the pages only lay things out)."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from brandpulse.config import Settings, load_settings
from brandpulse.model_key import ModelKey
from brandpulse.store import queries
from brandpulse.store.engine import make_engine

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
