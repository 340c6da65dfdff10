"""Overview page: volume and sentiment over time per brand, share of voice, open alerts."""

from __future__ import annotations

import plotly.express as px
import streamlit as st
from sqlalchemy import Engine

from dashboard import data

COLORS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c", "uncertain": "#ffbf00"}


def render() -> None:
    settings, engine = data.settings_and_engine()
    url = settings.database_url
    st.title("Overview")
    with st.spinner("loading…"):
        key = data.model_key(engine, url)
    if key is None:
        st.info("No scored mentions yet. Run `brandpulse collect` and `brandpulse score` (or `brandpulse demo`).")
        return
    totals = data.totals(engine, url, key)
    all_brands = totals["brand"].tolist()
    c1, c2 = st.columns([3, 1])
    brands = c1.multiselect("Brands", all_brands, default=all_brands, key="brands")
    freq = c2.radio("Resolution", ["hour", "day"], index=0, horizontal=True, key="freq")

    _alerts_section(engine, url)

    st.subheader("Brands")
    st.dataframe(
        totals[totals["brand"].isin(brands)],
        hide_index=True,
        column_config={
            "negative_share": st.column_config.ProgressColumn("negative share", min_value=0, max_value=1, format="%.2f"),
            "share_of_voice": st.column_config.ProgressColumn("share of voice", min_value=0, max_value=1, format="%.2f"),
        },
    )
    vol = data.volume(engine, url, key, tuple(brands), "h" if freq == "hour" else "D")
    if vol.empty:
        st.info("No mentions for the chosen brands.")
        return
    st.subheader("Volume by sentiment")
    fig = px.bar(vol, x="period", y="count", color="sentiment", facet_row="brand", color_discrete_map=COLORS,
                 labels={"period": "", "count": "mentions"}, height=220 * max(len(brands), 1))
    fig.update_yaxes(matches=None)
    st.plotly_chart(fig, key="volume_chart")
    window = 6 if freq == "hour" else 1
    st.subheader("Negative share" + (" (trailing 6 h)" if window > 1 else ""))
    share = data.negative_share(vol, window)
    fig2 = px.line(share, x="period", y="negative_share", color="brand", labels={"period": "", "negative_share": ""})
    fig2.update_yaxes(tickformat=".0%")
    st.plotly_chart(fig2, key="negative_share_chart")
    st.subheader("Latest mentions")
    st.dataframe(data.latest(engine, url, brands[0] if len(brands) == 1 else None, key), hide_index=True)


def _alerts_section(engine: Engine, url: str) -> None:
    alerts = data.open_alerts(engine, url)
    st.subheader(f"Open alerts ({len(alerts)})")
    if alerts.empty:
        st.success("No open alerts.")
        return
    for row in alerts.itertuples():
        st.error(data.describe_alert(row), icon="🚨")
        ev = row.evidence or {}
        with st.expander("Why it fired", expanded=False):
            # everything below quotes posts: shown with st.text, never Markdown (no links, images or HTML from posts)
            st.text(str(ev.get("why", "")))
            for c in ev.get("campaigns", []):
                st.text(f"Campaign: {c['posts']} near-identical posts from {c['authors']} accounts — “{c['text'][:160]}”")
            if ev.get("top_terms"):
                st.text("Terms: " + ", ".join(ev["top_terms"]))
            for p in ev.get("top_posts", []):
                st.text(f"@{p['author_handle']} ({p['platform']}, {p.get('author_followers') or 0} followers): "
                        f"{p['text'][:280]}")
