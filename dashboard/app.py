"""The brandpulse dashboard (Streamlit). Run with `brandpulse dashboard`."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from brandpulse.errors import BrandpulseError
from dashboard import access, advocates_page, alerts_page, data, mentions, overview, sources_page

st.set_page_config(page_title="brandpulse", page_icon="📈", layout="wide")

#: The pages, in sidebar order: name → render function (add a page with one entry).
PAGES: dict[str, Callable[[], None]] = {
    "Overview": overview.render,
    "Mentions": mentions.render,
    "Alerts": alerts_page.render,
    "Sources": sources_page.render,
    "Advocates": advocates_page.render,
}

try:
    if access.signed_in(data.settings_and_engine()[0]):
        names = list(PAGES)
        wanted = st.query_params.get("page", names[0])
        page = st.sidebar.radio("Page", names, index=names.index(wanted) if wanted in names else 0, key="page")
        if st.query_params.get("page") != page:
            st.query_params["page"] = page
        PAGES[page]()
except BrandpulseError as exc:
    st.error(str(exc))
