"""The Alerts page with Streamlit's AppTest on a seeded store (SQLite and PostgreSQL): the alert with its evidence,
acknowledging and resolving it, a hostile post shown literally, and the query functions beside the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from alerts.lifecycle import resolve
from brandpulse.store.alert_queries import alert_series, window_platforms, window_total
from brandpulse.store.alerts import ALERT_STATES, stored_alerts
from tests.conftest import REPO, T0
from tests.seed import EPISODE_HOUR, seed_week

APP = str(REPO / "dashboard" / "app.py")
HOSTILE = ("{brand} outage <script>alert(1)</script> <img src=x onerror=alert(1)> "
           "[bank](http://evil.example) ![x](http://evil.example/a.png) #{i}")
LITERAL = "<script>alert(1)</script> <img src=x onerror=alert(1)> [bank](http://evil.example) ![x](http://evil.example/a.png)"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


def _configure(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text("[[brands]]\nname='Nimbus'\n[[brands]]\nname='Orbita'\n", encoding="utf-8")
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("BRANDPULSE_CONFIG", str(cfg))


@pytest.fixture
def seeded(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    seed_week(engine)
    _set_urls(engine, "'https://x.com/' || author_handle || '/status/' || native_id")
    _configure(db_url, monkeypatch, tmp_path)
    return engine


def _set_urls(engine: Engine, sql_expr: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE mentions SET url = {sql_expr}")


def _alerts_page(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.sidebar.radio(key="page").set_value("Alerts").run()
    assert not at.exception, at.exception
    return at


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The page's table that has this column (AppTest does not expose a dataframe's key)."""
    (table,) = [d.value for d in at.dataframe if column in d.value.columns]
    return table


def _texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def test_the_alert_shows_with_its_evidence(seeded: Engine) -> None:
    (alert,) = stored_alerts(seeded)
    at = _alerts_page()
    assert at.title[0].value == "Alerts"
    assert "Alerts (1)" in [s.value for s in at.subheader]
    listed = _table(at, "severity")
    assert list(listed["brand"]) == ["Nimbus"] and list(listed["state"]) == ["open"]
    texts = _texts(at)
    assert any(f"#{alert.id}" in t and "CRITICAL" in t and "Nimbus" in t for t in texts)
    assert any("negative of" in t and "baseline share" in t for t in texts)  # the "why" line
    posts = _table(at, "text")
    assert len(posts) >= 5 and all("outage" in t for t in posts["text"])
    # each post links to the original
    assert all(link == f"https://x.com/{a}/status/" for link, a in zip(posts["link"].str.rsplit("/", n=1).str[0] + "/",
                                                                      posts["author"], strict=True))
    authors = _table(at, "author_handle")
    assert set(authors["author_handle"]) <= {f"a{k}" for k in range(9)} and authors["posts"].sum() >= 5
    assert any(t.startswith("outage") or "outage" in t.split(", ") for t in texts)  # rising terms
    emotions = _table(at, "emotion")
    anger = emotions.set_index("emotion").loc["anger"]
    assert anger["in the window"] > anger["usual"]
    platforms = _table(at, "mentions")
    assert list(platforms["platform"]) == ["x"] and int(platforms["mentions"].iloc[0]) >= 12
    assert any(t.startswith("Campaign share of the window's mentions:") for t in texts)
    (chart,) = at.get("plotly_chart")
    assert "Negative mentions per hour" in chart.proto.spec
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Negative share"].endswith("%")


def test_acknowledge_then_resolve_changes_the_state(seeded: Engine) -> None:
    (alert,) = stored_alerts(seeded)
    at = _alerts_page()
    at.text_input(key="al_who").set_value("anna@pr.example").run()
    assert at.button(key="al_resolve").disabled is False
    at.button(key="al_ack").click().run()
    assert not at.exception, at.exception
    assert [a.state for a in stored_alerts(seeded, ALERT_STATES)] == ["acknowledged"]
    assert any(f"Alert #{alert.id} acknowledged by anna@pr.example" in t for t in _texts(at))
    assert list(_table(at, "severity")["state"]) == ["acknowledged"]
    assert at.button(key="al_ack").disabled  # an acknowledged alert cannot be acknowledged again
    at.button(key="al_resolve").click().run()
    assert not at.exception, at.exception
    assert [a.state for a in stored_alerts(seeded, ALERT_STATES)] == ["resolved"]
    # resolved alerts leave the default (active) view, and the Overview's open alerts
    assert "Alerts (0)" in [s.value for s in at.subheader]
    at.multiselect(key="al_states").set_value(["resolved"]).run()
    assert list(_table(at, "severity")["state"]) == ["resolved"]
    assert at.button(key="al_ack").disabled and at.button(key="al_resolve").disabled


def test_the_dashboard_link_opens_that_alert_in_any_state(seeded: Engine) -> None:
    (alert,) = stored_alerts(seeded)
    resolve(seeded, alert.id, "test")
    at = _alerts_page(page="Alerts", alert=str(alert.id))
    assert at.selectbox(key="al_pick").value == alert.id
    assert set(at.multiselect(key="al_states").value) == set(ALERT_STATES)
    assert any(f"#{alert.id}" in t and "resolved" in t for t in _texts(at))


def test_the_brand_filter(seeded: Engine) -> None:
    at = _alerts_page()
    at.selectbox(key="al_brand").set_value("Orbita").run()
    assert not at.exception
    assert "Alerts (0)" in [s.value for s in at.subheader]
    at.selectbox(key="al_brand").set_value("Nimbus").run()
    assert "Alerts (1)" in [s.value for s in at.subheader]


def test_a_hostile_post_in_the_evidence_shows_literally(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    seed_week(engine, episode_text=HOSTILE)
    _set_urls(engine, "'javascript:alert(1)'")
    _configure(db_url, monkeypatch, tmp_path)
    at = _alerts_page()
    posts = _table(at, "text")
    assert any(LITERAL in t for t in posts["text"])  # the cell holds the characters, not markup
    assert set(posts["link"]) == {""}  # a javascript: URL is never offered as a link
    rendered = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success, *at.subheader, *at.title]
    assert not any("evil" in str(e.value) or "<script>" in str(e.value) or "onerror" in str(e.value) for e in rendered)


# --------------------------------------------------------------------------- the query functions
def test_alert_series_covers_the_window_and_the_baseline_from_rollups(seeded: Engine) -> None:
    (alert,) = stored_alerts(seeded)
    key = alert.summary["model"]
    series = alert_series(seeded, key, "Nimbus", alert.start, alert.end, before_hours=24, after_hours=3)
    assert (series["hour"].diff().dropna() == pd.Timedelta(hours=1)).all()  # every hour, quiet ones as zeros
    assert len(series) == 24 + (alert.end - alert.start).seconds // 3600 + 3
    peak = series.loc[series["negative"].idxmax()]
    assert peak["hour"].to_pydatetime() == T0 + timedelta(hours=EPISODE_HOUR)
    assert int(peak["negative"]) == 12 and float(peak["negative_share"]) == 1.0
    calm = series[series["hour"] < alert.start]
    assert calm["total"].min() == 4 and calm["negative_share"].max() <= 0.25
    assert window_total(seeded, key, "Nimbus", alert.start, alert.end) == int(
        series[(series["hour"] >= alert.start) & (series["hour"] < alert.end)]["total"].sum())


def test_window_platforms_counts_the_brand_in_the_window(seeded: Engine) -> None:
    (alert,) = stored_alerts(seeded)
    df = window_platforms(seeded, "Nimbus", alert.start, alert.end)
    assert list(df["platform"]) == ["x"]
    assert int(df["mentions"].iloc[0]) == window_total(seeded, alert.summary["model"], "Nimbus", alert.start, alert.end)
