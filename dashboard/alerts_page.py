"""Alerts page: open / acknowledged / resolved alerts with their evidence, acknowledge and resolve.

`?page=Alerts&alert=ID` (the link delivery puts in Slack messages) opens that alert. Everything quoted
from social posts is shown with st.text or inside st.dataframe cells, never as Markdown or HTML.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots
from sqlalchemy import Engine

from alerts import lifecycle
from alerts.delivery.routing import delivery_config
from alerts.evidence import alert_views
from brandpulse.errors import BrandpulseError
from brandpulse.store import alert_queries
from brandpulse.store.alerts import ACTIVE_STATES, ALERT_STATES
from dashboard import data

REFRESH_S = 30
VIEW_COLUMNS = ["id", "rule", "brand", "start", "end", "severity", "state", "metrics", "evidence"]
_FLASH = "al_flash"


@st.cache_data(ttl=data.TTL, show_spinner=False)
def _views(_engine: Engine, url: str, states: tuple[str, ...], brand: str | None) -> pd.DataFrame:
    views = alert_views(_engine, data.settings_and_engine()[0].alerts, states, brand)
    return pd.DataFrame([asdict(v) for v in views], columns=VIEW_COLUMNS)


@st.cache_data(ttl=data.TTL, show_spinner=False)
def _series(_engine: Engine, url: str, key: str, brand: str, start: Any, end: Any) -> pd.DataFrame:
    return alert_queries.alert_series(_engine, key, brand, start, end)


@st.cache_data(ttl=data.TTL, show_spinner=False)
def _platforms(_engine: Engine, url: str, brand: str, start: Any, end: Any) -> pd.DataFrame:
    return alert_queries.window_platforms(_engine, brand, start, end)


@st.cache_data(ttl=data.TTL, show_spinner=False)
def _total(_engine: Engine, url: str, key: str, brand: str, start: Any, end: Any) -> int:
    return alert_queries.window_total(_engine, key, brand, start, end)


def _clear_caches() -> None:
    for fn in (_views, _series, _platforms, _total, data.open_alerts):
        fn.clear()


def _alert_param() -> int | None:
    raw = st.query_params.get("alert")
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _label(row: Any) -> str:
    return (f"#{row.id} · {row.severity.upper()} · {row.brand} · {row.start:%Y-%m-%d %H:%M}–{row.end:%H:%M} UTC"
            f" · {row.state}")


def render() -> None:
    settings, engine = data.settings_and_engine()
    url = settings.database_url
    st.title("Alerts")
    wanted = _alert_param()
    brands = sorted({b.name for b in settings.brands} | set(alert_queries.alert_brands(engine)))
    c1, c2, c3 = st.columns([2, 1, 1])
    states = c1.multiselect("State", list(ALERT_STATES), default=list(ALERT_STATES) if wanted else list(ACTIVE_STATES),
                            key="al_states")
    brand = c2.selectbox("Brand", ["all", *brands], key="al_brand")
    who = c3.text_input("Acting as", value=_default_who(), key="al_who", max_chars=120)
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.text(flash)
    _alerts_fragment(engine, url, tuple(states), None if brand == "all" else brand, wanted, who)


def _default_who() -> str:
    try:
        email = st.user.get("email") if st.user.get("is_logged_in") else None
    except Exception:  # sign-in not configured: st.user has nothing to say
        email = None
    return str(email) if email else "dashboard"


@st.fragment(run_every=REFRESH_S)
def _alerts_fragment(engine: Engine, url: str, states: tuple[str, ...], brand: str | None, wanted: int | None,
                     who: str) -> None:
    views = _views(engine, url, states, brand)
    st.subheader(f"Alerts ({len(views)})")
    if views.empty:
        st.success("No alerts in the chosen states.")
        return
    st.dataframe(_list_frame(views), hide_index=True, key="al_list")
    ids = views["id"].tolist()
    rows = {int(r.id): r for r in views.itertuples()}
    index = ids.index(wanted) if wanted in ids else 0
    c_pick, c_ack, c_resolve = st.columns([5, 1, 1], vertical_alignment="bottom")
    chosen = c_pick.selectbox("Alert", ids, index=index, format_func=lambda i: _label(rows[int(i)]), key="al_pick")
    row = rows[int(chosen)]
    _actions(engine, row, who, c_ack, c_resolve)
    _details(engine, url, row)


def _list_frame(views: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "id": views["id"], "severity": views["severity"], "brand": views["brand"], "state": views["state"],
        "start (UTC)": views["start"], "end (UTC)": views["end"], "rule": views["rule"],
        "why": [str((ev or {}).get("why", "")) for ev in views["evidence"]],
    })


def _actions(engine: Engine, row: Any, who: str, b1: Any, b2: Any) -> None:
    ack = b1.button("Acknowledge", key="al_ack", disabled=row.state != "open", use_container_width=True)
    resolve = b2.button("Resolve", key="al_resolve", disabled=row.state == "resolved", use_container_width=True)
    if not (ack or resolve):
        return
    target = "acknowledged" if ack else "resolved"
    try:
        if ack:
            lifecycle.acknowledge(engine, int(row.id), who or "dashboard")
        else:  # the "resolved" follow-up goes out through the outbox in the same transaction
            lifecycle.resolve(engine, int(row.id), who or "dashboard", delivery_config(data.settings_and_engine()[0]))
    except BrandpulseError as exc:
        st.error(str(exc))
        return
    _clear_caches()
    st.session_state[_FLASH] = f"Alert #{row.id} {target} by {who or 'dashboard'}."
    st.rerun()


def _details(engine: Engine, url: str, row: Any) -> None:
    ev: dict[str, Any] = row.evidence or {}
    m: dict[str, Any] = row.metrics or {}
    st.text(_label(row))
    st.text(str(ev.get("why", "")))
    _metric_tiles(m)
    key = ev.get("model")
    if key:
        series = _series(engine, url, str(key), row.brand, row.start, row.end)
        if not series.empty:
            st.plotly_chart(_chart(series, row, m), key="al_chart")
    st.subheader("Top posts")
    posts = ev.get("top_posts") or []
    if posts:
        st.dataframe(_posts_frame(posts), hide_index=True, key="al_posts",
                     column_config={"link": st.column_config.LinkColumn("link"),
                                    "p(negative)": st.column_config.NumberColumn(format="%.2f")})
    else:
        st.text("The posts of this alert are no longer in the store.")
    left, right = st.columns(2)
    with left:
        st.subheader("Top authors")
        authors = ev.get("top_authors") or []
        if authors:
            st.dataframe(pd.DataFrame(authors, columns=["platform", "author_handle", "posts", "followers"]),
                         hide_index=True, key="al_authors")
        st.subheader("Rising terms")
        st.text(", ".join(str(t) for t in ev.get("top_terms") or []) or "none")
    with right:
        st.subheader("Emotions (share of mentions)")
        emotions = ev.get("emotions") or {}
        if emotions:
            st.dataframe(pd.DataFrame([{"emotion": e, "in the window": v.get("window", 0.0),
                                        "usual": v.get("baseline", 0.0)} for e, v in emotions.items()]),
                         hide_index=True, key="al_emotions",
                         column_config={"in the window": st.column_config.NumberColumn(format="percent"),
                                        "usual": st.column_config.NumberColumn(format="percent")})
        st.subheader("Platforms")
        st.dataframe(_platforms(engine, url, row.brand, row.start, row.end), hide_index=True, key="al_platforms")
    st.subheader("Copy-paste campaigns")
    camps = ev.get("campaigns") or []
    total = _total(engine, url, str(key), row.brand, row.start, row.end) if key else 0
    share = sum(int(c.get("posts", 0)) for c in camps) / total if total else 0.0
    st.text(f"Campaign share of the window's mentions: {share:.0%} ({len(camps)} campaign(s), {total} mentions)")
    if camps:
        st.dataframe(pd.DataFrame(camps, columns=["group", "posts", "authors", "text"]), hide_index=True,
                     key="al_campaigns")


def _metric_tiles(m: dict[str, Any]) -> None:
    cols = st.columns(4)
    share, base = float(m.get("negative_share", 0.0)), float(m.get("baseline_share", 0.0))
    cols[0].metric("Negative mentions", f"{int(m.get('negative', 0))} of {int(m.get('total', 0))}")
    cols[1].metric("Negative share", f"{share:.0%}", f"{(share - base) * 100:+.0f} pts vs baseline {base:.0%}",
                   delta_color="inverse")
    cols[2].metric("Peak negative / h", f"{int(m.get('peak_negative_per_hour', 0))}",
                   f"usual {float(m.get('baseline_negative_per_hour', 0.0)):.1f}/h", delta_color="off")
    cols[3].metric("Max z", f"{float(m.get('max_z', 0.0)):.1f}")


def _chart(series: pd.DataFrame, row: Any, m: dict[str, Any]) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Negative mentions per hour", "Negative share"))
    fig.add_trace(go.Bar(x=series["hour"], y=series["total"] - series["negative"], name="other mentions",
                         marker_color="#c7c7c7"), row=1, col=1)
    fig.add_trace(go.Bar(x=series["hour"], y=series["negative"], name="negative", marker_color="#d62728"),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=series["hour"], y=series["negative_share"], name="negative share", mode="lines",
                             line={"color": "#d62728"}), row=2, col=1)
    if "baseline_negative_per_hour" in m:
        fig.add_hline(y=float(m["baseline_negative_per_hour"]), line_dash="dash", line_color="#1f77b4",
                      annotation_text="usual negative/h", row=1, col=1)
    if "baseline_share" in m:
        fig.add_hline(y=float(m["baseline_share"]), line_dash="dash", line_color="#1f77b4",
                      annotation_text="baseline share", row=2, col=1)
    for r in (1, 2):
        fig.add_vrect(x0=row.start, x1=row.end, fillcolor="#ffbf00", opacity=0.2, line_width=0, row=r, col=1)
    fig.update_layout(barmode="stack", height=460, margin={"t": 40, "b": 10}, legend={"orientation": "h"})
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    return fig


def _safe_link(url: Any) -> str:
    text = str(url or "")
    return text if text.startswith(("https://", "http://")) else ""


def _posts_frame(posts: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{
        "when (UTC)": str(p.get("created_at", ""))[:16].replace("T", " "), "platform": p.get("platform", ""),
        "author": p.get("author_handle", ""), "followers": p.get("author_followers") or 0,
        "likes": p.get("likes") or 0, "reposts": p.get("reposts") or 0, "p(negative)": p.get("p_negative"),
        "text": str(p.get("text", "")), "link": _safe_link(p.get("url")),
    } for p in posts])
