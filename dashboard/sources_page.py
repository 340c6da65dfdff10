"""Sources page: each collector's health, lag, last error (secrets redacted), rate-limit state, volume per hour."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import data
from dashboard.charts import stacked

COLUMNS = {
    "lag_s": st.column_config.NumberColumn("lag (s)", format="%.0f"),
    "last_error": st.column_config.TextColumn("last error", width="large"),
    "rate_limit_remaining": st.column_config.NumberColumn("rate limit left"),
}


def render() -> None:
    settings, engine = data.settings_and_engine()
    url, tz = settings.database_url, settings.dashboard.timezone
    st.title("Sources")
    health = data.sources(engine, url)
    if health.empty:
        st.info("No collector has run yet. Run `brandpulse collect` (or `brandpulse run`).")
    else:
        failing = health[health["status"] == "failing"]
        if not failing.empty:
            st.warning(f"{len(failing)} source(s) failing: see the last error below.")
        for col in ("last_success", "last_error_at", "rate_limit_reset"):
            health = data.in_zone(health, col, tz)
        st.dataframe(health, hide_index=True, column_config=COLUMNS, key="sources_table")
    key = data.model_key(engine, url)
    newest = data.newest_hour(engine, url, key) if key else None
    if key is None or newest is None:
        return
    st.subheader("Volume per hour (last 48 h of data)")
    vol = data.platform_volume(engine, url, key, newest - timedelta(hours=47))
    if vol.empty:
        st.info("No scored mentions in the last 48 hours of data.")
        return
    fig = stacked(data.in_zone(vol, "hour", tz), x="hour", y="count", color="platform", y_title="mentions",
                  row_height=300)
    st.plotly_chart(fig, key="sources_volume_chart")
