"""Advocates page: ranked advocates / detractors with reasons and CRM status, link decisions, downloads, social NPS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from advocates.export import render as render_export
from advocates.lists import contact_ids, nps_trend, ranked_list
from advocates.scoring import RankedAuthor
from brandpulse.store.contacts import decide_link, links_frame
from dashboard import data

PERIODS = {"all time": None, "last 7 days": 7, "last 30 days": 30, "last 90 days": 90}


def _since(label: str) -> datetime | None:
    days = PERIODS[label]
    return datetime.now(UTC) - timedelta(days=days) if days else None


def ranked_frame(ranked: list[RankedAuthor], contacts: dict[int, tuple[str, str]]) -> pd.DataFrame:
    rows = []
    for i, r in enumerate(ranked, 1):
        src, ext = contacts.get(r.contact_id, ("", "")) if r.contact_id is not None else ("", "")
        top = r.top_posts[0] if r.top_posts else {}
        rows.append({"rank": i, "author": ", ".join(r.accounts), "name": r.display_name or "", "score": r.score,
                     "class": r.nps_class, "why": r.reason_text(), "crm": f"{src}:{ext}" if ext else "",
                     "crm status": r.link_status or "not linked", "top post": top.get("text", ""),
                     "link": top.get("url") or "", "profile": " ".join(r.profile_urls)})
    return pd.DataFrame(rows, columns=["rank", "author", "name", "score", "class", "why", "crm", "crm status",
                                       "top post", "link", "profile"])


def render() -> None:
    settings, engine = data.settings_and_engine()
    st.title("Advocates")
    brands = [b.name for b in settings.brands]
    if not brands:
        st.info("No brands configured: add [[brands]] to brandpulse.toml.")
        return
    c1, c2, c3, c4 = st.columns(4)
    brand = c1.selectbox("Brand", brands, key="a_brand")
    period = c2.selectbox("Period", list(PERIODS), key="a_period")
    kind = c3.radio("List", ["advocates", "detractors"], horizontal=True, key="a_kind")
    limit = int(c4.number_input("Rows", min_value=5, max_value=500, value=25, step=5, key="a_limit"))
    since = _since(period)
    ranked = ranked_list(engine, settings, brand, kind=kind, since=since, limit=limit)
    contacts = contact_ids(engine)
    if not ranked:
        st.info(f"No {kind} for {brand} in this period.")
    else:
        st.dataframe(ranked_frame(ranked, contacts), hide_index=True, key="a_table")
        who = st.selectbox("Why this author?", [r.key for r in ranked], key="a_who")
        chosen = next(r for r in ranked if r.key == who)
        st.text(chosen.reason_text())
        for p in chosen.top_posts:
            st.text(f"{p['created_at'][:10]}  {p['text']}  {p['url'] or ''}")
        d1, d2 = st.columns(2)
        d1.download_button("Download CSV", render_export(ranked, "csv", contacts), file_name=f"{brand}-{kind}.csv",
                           mime="text/csv", key="a_csv")
        d2.download_button("Download XLSX", render_export(ranked, "xlsx", contacts, title=f"{brand} {kind}"),
                           file_name=f"{brand}-{kind}.xlsx", key="a_xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    st.subheader("Social NPS by week")
    weeks = nps_trend(engine, settings, brand, since=since)
    if weeks:
        df = pd.DataFrame([{"week": w.week, "social NPS": w.nps, "promoters": w.promoters, "passives": w.passives,
                            "detractors": w.detractors} for w in weeks])
        st.plotly_chart(px.line(df, x="week", y="social NPS", markers=True), key="a_nps")
    else:
        st.info("No scored mentions in this period.")

    st.subheader("Proposed CRM links")
    proposed = links_frame(engine, ["proposed"])
    if proposed.empty:
        st.info("No links wait for a decision.")
        return
    st.dataframe(proposed, hide_index=True, key="a_links")
    pairs = [f"{r.author_id}:{r.contact_id}" for r in proposed.itertuples()]
    labels = {f"{r.author_id}:{r.contact_id}": f"{r.platform}:{r.handle} ↔ {r.contact_name or ''} "
              f"({r.source}:{r.external_id}, {r.method}, {r.confidence:.2f})" for r in proposed.itertuples()}
    pick = st.selectbox("Link", pairs, format_func=lambda k: labels[k], key="a_pick")
    b1, b2 = st.columns(2)
    confirm = b1.button("Confirm", key="a_confirm")
    reject = b2.button("Reject", key="a_reject")
    if confirm or reject:
        decision = "confirmed" if confirm else "rejected"
        a_id, c_id = (int(x) for x in pick.split(":"))
        decide_link(engine, a_id, c_id, decision, by="dashboard")
        st.success(f"{labels[pick]}: {decision}")
