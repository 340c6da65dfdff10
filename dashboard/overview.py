"""Overview page: open alerts, KPI tiles per brand against the previous period, sentiment share, emotion mix and
share of voice over time, rising terms and top posts. Reads rollups only, except the bounded term and post lists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from brandpulse.types import EMOTIONS
from dashboard import data, urlstate
from dashboard.charts import stacked
from dashboard.period import CUSTOM, PRESETS, Period, resolve

COLORS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c", "uncertain": "#ffbf00"}
EMOTION_COLORS = {"anger": "#d62728", "disgust": "#8c564b", "fear": "#9467bd", "joy": "#2ca02c", "sadness": "#1f77b4",
                  "surprise": "#ff7f0e"}
PERIODS = [*PRESETS, CUSTOM]


def render() -> None:
    settings, engine = data.settings_and_engine()
    url, tz = settings.database_url, settings.dashboard.timezone
    st.title("Overview")
    with st.spinner("loading…"):
        key = data.model_key(engine, url)
    if key is None:
        st.info("No scored mentions yet. Run `brandpulse collect` and `brandpulse score` (or `brandpulse demo`).")
        return
    all_brands = data.brand_names(engine, url, key)
    c1, c2, c3 = st.columns([3, 1, 2])
    brands = c1.multiselect("Brands", all_brands, default=urlstate.get_list("brands", all_brands, all_brands),
                            key="brands")
    preset = c2.selectbox("Period", PERIODS, index=urlstate.choice("period", PERIODS, "7 d"), key="period")
    custom: tuple[date, date] | None = None
    if preset == CUSTOM:
        picked = c3.date_input("Dates", value=_url_dates(), key="dates")
        if isinstance(picked, tuple) and len(picked) == 2:
            custom = (picked[0], picked[1])
    urlstate.write({"brands": brands if set(brands) != set(all_brands) else None, "period": preset,
                    "from": custom[0].isoformat() if custom else None, "to": custom[1].isoformat() if custom else None})
    refresh = settings.dashboard.refresh_s or None
    st.fragment(run_every=refresh)(_body)(engine, url, key, tuple(brands), preset, custom, tz)


def _url_dates() -> tuple[date, date]:
    try:
        return date.fromisoformat(urlstate.get("from")), date.fromisoformat(urlstate.get("to"))
    except ValueError:
        today = datetime.now().date()
        return today - timedelta(days=7), today


def _body(engine: Engine, url: str, key: str, brands: tuple[str, ...], preset: str, custom: tuple[date, date] | None,
          tz: str) -> None:
    """Everything below the filters; refreshes itself every [dashboard] refresh_s (the period moves with the clock)."""
    period = resolve(preset, custom, tz, data.newest_hour(engine, url, key))
    _alerts_section(engine, url)
    since, until = period.since, period.until
    span = (f"{pd.Timestamp(since).tz_convert(tz):%Y-%m-%d %H:%M} – {pd.Timestamp(until).tz_convert(tz):%Y-%m-%d %H:%M}"
            f" ({tz})")
    st.caption(("No mentions arrived in the chosen period; showing the same length up to the newest mention: "
                if period.anchored else "Period: ") + span)
    if not brands:
        st.info("Choose at least one brand.")
        return
    _kpi_tiles(data.kpis(engine, url, key, brands, since, until),
               lambda: data.social_nps(engine, url, key, brands, since, until, start=False))
    _charts(engine, url, key, brands, period, tz)
    data.social_nps(engine, url, key, brands, since, until)  # starts the slow read once the rest is on screen


def _charts(engine: Engine, url: str, key: str, brands: tuple[str, ...], period: Period, tz: str) -> None:
    since, until = period.since, period.until
    sent = data.bucket(data.series(engine, url, key, "sentiment", brands, since, until), tz, period.freq)
    if sent.empty:
        st.info("No mentions for the chosen brands in this period.")
        return
    st.subheader("Sentiment share")
    st.plotly_chart(stacked(sent, x="period", y="count", color="value", facet="brand", kind="area", percent=True,
                            colors=COLORS, order=list(COLORS), y_title="% of mentions"), key="sentiment_share_chart")
    st.subheader("Volume by sentiment")
    st.plotly_chart(stacked(sent, x="period", y="count", color="value", facet="brand", colors=COLORS,
                            order=list(COLORS), y_title="mentions"), key="volume_chart")
    emo = data.bucket(data.series(engine, url, key, "emotion", brands, since, until), tz, period.freq)
    st.subheader("Emotion mix")
    if emo.empty:
        st.info("No emotions detected in this period.")
    else:
        st.plotly_chart(stacked(emo, x="period", y="count", color="value", facet="brand", colors=EMOTION_COLORS,
                                order=list(EMOTIONS), y_title="mentions"), key="emotion_chart")
    st.subheader("Share of voice")
    sov = sent.groupby(["period", "brand"], as_index=False)["count"].sum()
    st.plotly_chart(stacked(sov, x="period", y="count", color="brand", kind="area", percent=True,
                            y_title="% of all mentions", row_height=300), key="share_of_voice_chart")
    _terms_and_posts(engine, url, key, brands, period, tz)


def _pct(now: float, before: float) -> str | None:
    if not before:
        return None
    return f"{(now - before) / before:+.0%}"


#: While the social NPS is being computed, its tiles look again this often (seconds).
NPS_POLL_S = 2.0


def _kpi_tiles(k: pd.DataFrame, nps: Callable[[], pd.DataFrame | None]) -> None:
    """The tiles per brand. Social NPS classes every author of the period from raw mentions (the slowest read), so it
    is computed in the background (data.social_nps, started at the end of the page): until it is ready its tile says
    "…" and looks again every NPS_POLL_S seconds on its own, without holding up the rest of the page."""
    st.subheader("Brands")
    ready = nps() is not None
    for row in k.itertuples():
        c0, c1, c2, c3, c4 = st.columns([1, 1, 1, 1, 1])
        c0.text(row.brand)
        c1.metric("Mentions", f"{row.mentions:,}", delta=_pct(row.mentions, row.prev_mentions))
        share, prev = row.negative_share, row.prev_negative_share
        delta = f"{(share - prev) * 100:+.1f} pp" if pd.notna(share) and pd.notna(prev) else None
        c2.metric("Negative share", f"{share:.1%}" if pd.notna(share) else "–", delta=delta, delta_color="inverse")
        c3.metric("Reach", f"{row.reach:,}", delta=_pct(row.reach, row.prev_reach))
        with c4:
            if ready:
                _nps_tile(nps, row.brand)
            else:
                st.fragment(run_every=NPS_POLL_S)(_nps_tile)(nps, row.brand)


def _nps_text(value: float | None) -> str:
    """The tile's figure: "—" when too few authors wrote in the period (never a made-up 0)."""
    return "—" if value is None or pd.isna(value) else f"{value:+.0f}"


def _nps_tile(nps: Callable[[], pd.DataFrame | None], brand: str) -> None:
    got = nps()
    if got is None:
        st.metric("Social NPS", "…", help="being computed; shown here in a moment")
        return
    n = next((r for r in got.itertuples() if r.brand == brand), None)
    if n is None:  # a brand the settings do not configure: the advocates stage has no NPS for it
        return
    known = pd.notna(n.nps) and pd.notna(n.prev_nps)
    st.metric("Social NPS", _nps_text(n.nps), delta=f"{n.nps - n.prev_nps:+.0f}" if known else None,
              help=f"% promoters − % detractors among the {n.authors} authors who wrote about {brand} in the "
                   f"period ({n.prev_authors} in the period before); “—”: fewer authors than [advocates] nps_min_authors")


POST_COLUMNS = {
    "created_at": st.column_config.DatetimeColumn("time"),
    "text": st.column_config.TextColumn("post", width="large"),
    "post": st.column_config.LinkColumn("link", display_text="open"),
    "author": st.column_config.LinkColumn("author", display_text=r"https?://[^/]+/(?:user/|profile/|@)?(.*)"),
    "author_followers": st.column_config.NumberColumn("followers"),
}


def _terms_and_posts(engine: Engine, url: str, key: str, brands: tuple[str, ...], period: Period, tz: str) -> None:
    st.subheader("Rising terms and top posts")
    for brand in brands:
        terms = data.rising_terms(engine, url, brand, period.since, period.until)
        st.text(f"{brand} — rising: " + (", ".join(terms) if terms else "nothing stands out"))  # words from posts: text
        posts = data.in_zone(data.top_posts(engine, url, key, brand, period.since, period.until), "created_at", tz)
        if not posts.empty:
            st.dataframe(posts[["created_at", "platform", "author_handle", "author_followers", "label", "text", "post",
                                "author"]],
                         hide_index=True, column_config=POST_COLUMNS, key=f"top_posts_{brand}")


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
