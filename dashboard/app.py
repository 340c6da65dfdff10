"""The brandpulse dashboard (Streamlit). Run with `brandpulse dashboard`."""

from __future__ import annotations

import streamlit as st

from brandpulse.errors import BrandpulseError
from dashboard import advocates_page, alerts_page, mentions, overview

st.set_page_config(page_title="brandpulse", page_icon="📈", layout="wide")

PAGES = {"Overview": overview.render, "Mentions": mentions.render, "Advocates": advocates_page.render}
PAGES["Alerts"] = alerts_page.render

page = st.sidebar.radio("Page", list(PAGES), key="page")
try:
    PAGES[page]()
except BrandpulseError as exc:
    st.error(str(exc))
