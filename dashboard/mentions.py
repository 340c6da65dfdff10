"""Mentions feed: filter, sort and page through mentions (keyset paging), open the post or its author, and correct
the model; corrections are stored apart as human labels. Post text is always shown as text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from brandpulse.store.dashboard_queries import SORTS, FeedFilter
from brandpulse.store.labels import save_human_label
from brandpulse.types import EMOTIONS, SENTIMENTS
from dashboard import data, urlstate

ALL = "all"
LABELS = [ALL, *SENTIMENTS, "uncertain"]
FEED_COLUMNS = {
    "created_at": st.column_config.DatetimeColumn("time"),
    "text": st.column_config.TextColumn("post", width="large"),
    "post": st.column_config.LinkColumn("link", display_text="open"),
    "author": st.column_config.LinkColumn("profile", display_text="profile"),
    "author_followers": st.column_config.NumberColumn("reach"),
    "confidence": st.column_config.NumberColumn("confidence", format="%.2f"),
}
SHOWN = ["id", "created_at", "brand", "platform", "author_handle", "author_followers", "lang", "label", "confidence",
         "emotions", "text", "post", "author"]


def _dates(span: tuple[date, date] | None, tz: str) -> tuple[datetime | None, datetime | None]:
    if span is None:
        return None, None
    zone = ZoneInfo(tz)
    start, end = span
    return (datetime.combine(start, time(), zone).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC))


def _url_dates() -> list[date | datetime | str | Literal["today"] | None]:
    try:
        return [date.fromisoformat(urlstate.get("since")), date.fromisoformat(urlstate.get("until"))]
    except ValueError:
        return []


def render() -> None:
    settings, engine = data.settings_and_engine()
    url, tz = settings.database_url, settings.dashboard.timezone
    st.title("Mentions")
    key = data.model_key(engine, url)
    brands = [ALL, *[b.name for b in settings.brands]]
    platforms = [ALL, *(data.facet(engine, url, key, "platform") if key else [])]
    languages = [ALL, *(data.facet(engine, url, key, "language") if key else [])]
    emotions = [ALL, *EMOTIONS]
    c1, c2, c3, c4, c5 = st.columns(5)
    brand = c1.selectbox("Brand", brands, index=urlstate.choice("brand", brands, ALL), key="m_brand")
    platform = c2.selectbox("Platform", platforms, index=urlstate.choice("platform", platforms, ALL), key="m_platform")
    label = c3.selectbox("Sentiment", LABELS, index=urlstate.choice("sentiment", LABELS, ALL), key="m_label")
    emotion = c4.selectbox("Emotion", emotions, index=urlstate.choice("emotion", emotions, ALL), key="m_emotion")
    lang = c5.selectbox("Language", languages, index=urlstate.choice("lang", languages, ALL), key="m_lang")
    d1, d2, d3, d4, d5 = st.columns([2, 2, 1.5, 1, 1])
    text = d1.text_input("Text contains", value=urlstate.get("q"), key="m_text")
    author = d2.text_input("Author", value=urlstate.get("author"), key="m_author")
    picked = d3.date_input("Dates", value=_url_dates(), key="m_dates")
    sort = d4.radio("Sort by", list(SORTS), index=urlstate.choice("sort", list(SORTS), "time"), key="m_sort")
    limit = int(d5.number_input("Rows", min_value=10, max_value=1000, value=100, step=10, key="m_limit"))
    span = (picked[0], picked[1]) if isinstance(picked, tuple) and len(picked) == 2 else None
    since, until = _dates(span, tz)
    flt = FeedFilter(brand=None if brand == ALL else brand, platform=None if platform == ALL else platform,
                     sentiment=None if label == ALL else label, emotion=None if emotion == ALL else emotion,
                     language=None if lang == ALL else lang, since=since, until=until, text=text.strip() or None,
                     author=author.strip() or None, sort=sort)
    urlstate.write({"brand": flt.brand, "platform": flt.platform, "sentiment": flt.sentiment, "emotion": flt.emotion,
                    "lang": flt.language, "q": flt.text, "author": flt.author, "sort": sort if sort != "time" else None,
                    "since": span[0].isoformat() if span else None, "until": span[1].isoformat() if span else None})
    # keyset paging: a stack of page cursors, started over whenever the filter changes
    if st.session_state.get("m_filter") != (flt, limit):
        st.session_state["m_filter"], st.session_state["m_pages"] = (flt, limit), [None]
    pages = st.session_state["m_pages"]
    with st.spinner("loading…"):
        df, next_cursor = data.feed(engine, url, key, flt, pages[-1], limit)
    if df.empty:
        st.info("No mentions match.")
        return
    st.dataframe(data.in_zone(df, "created_at", tz)[SHOWN], hide_index=True, key="m_table", column_config=FEED_COLUMNS)
    p1, p2, p3 = st.columns([1, 1, 4])
    if p1.button("◀ Newer", disabled=len(pages) == 1, key="m_newer"):
        pages.pop()
        st.rerun()
    if p2.button("Older ▶", disabled=next_cursor is None, key="m_older"):
        pages.append(next_cursor)
        st.rerun()
    p3.caption(f"Page {len(pages)}")
    _correction_form(engine, df)


def _correction_form(engine: Engine, df: pd.DataFrame) -> None:
    st.subheader("Correct the model")
    with st.form("correct"):
        mention_id = st.selectbox("Mention", df["id"].tolist(), key="c_id",
                                  format_func=lambda i: f"#{i}: {df.loc[df['id'] == i, 'text'].iloc[0][:90]}")
        sentiment = st.radio("Sentiment", list(SENTIMENTS), horizontal=True, key="c_sentiment")
        emotions = st.multiselect("Emotions (none = no emotion)", list(EMOTIONS), key="c_emotions")
        submitted = st.form_submit_button("Save correction")
    if submitted:
        save_human_label(engine, int(mention_id), sentiment=sentiment, emotions=emotions, labeled_by="dashboard")
        st.success(f"Saved: mention #{mention_id} is {sentiment}" + (f" ({', '.join(emotions)})" if emotions else ""))
