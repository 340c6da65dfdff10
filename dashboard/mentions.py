"""Mentions page: browse scored mentions and correct the model; corrections are stored apart as human labels."""

from __future__ import annotations

import streamlit as st

from brandpulse.store.labels import save_human_label
from brandpulse.types import EMOTIONS, SENTIMENTS
from dashboard import data


def render() -> None:
    settings, engine = data.settings_and_engine()
    url = settings.database_url
    st.title("Mentions")
    brands = [b.name for b in settings.brands]
    c1, c2, c3 = st.columns(3)
    brand = c1.selectbox("Brand", ["all", *brands], key="m_brand")
    label = c2.selectbox("Model label", ["all", *SENTIMENTS, "uncertain"], key="m_label")
    limit = c3.number_input("Rows", min_value=10, max_value=1000, value=100, step=10, key="m_limit")
    with st.spinner("loading…"):
        key = data.model_key(engine, url)
        df = data.mentions(engine, url, None if brand == "all" else brand, None if label == "all" else label, int(limit),
                           key)
    if df.empty:
        st.info("No mentions match.")
        return
    st.dataframe(df, hide_index=True, key="m_table")
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
