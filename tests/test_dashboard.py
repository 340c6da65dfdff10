"""The Overview page with Streamlit's AppTest on a seeded store (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO
from tests.seed import seed_week

APP = str(REPO / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    """AppTest runs in this process: drop query caches left by a test on another database."""
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def seeded(engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    seed_week(engine)
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text("[[brands]]\nname='Nimbus'\n[[brands]]\nname='Orbita'\n", encoding="utf-8")
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("BRANDPULSE_CONFIG", str(cfg))
    return db_url


def _brand_mentions(engine, brand: str, since=None, until=None) -> int:
    """The naive count the tiles must show: a brand's scored mentions in [since, until)."""
    from sqlalchemy import func, select

    from brandpulse.store.engine import session_scope
    from brandpulse.store.schema import MentionBrandRow, MentionRow

    q = (select(func.count()).select_from(MentionRow).join(MentionBrandRow, MentionBrandRow.mention_id == MentionRow.id)
         .where(MentionBrandRow.brand == brand))
    if since is not None:
        q = q.where(MentionRow.created_at >= since, MentionRow.created_at < until)
    with session_scope(engine) as s:
        return int(s.scalar(q) or 0)


def _metrics(at: AppTest) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in at.metric:
        out.setdefault(m.label, []).append(m.value)
    return out


def test_overview_shows_the_alert_tiles_and_the_charts(seeded: str, engine) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert "Open alerts (1)" in [s.value for s in at.subheader]
    (alert,) = at.error
    assert "Nimbus" in alert.value and "CRITICAL" in alert.value
    keys = {c.key for c in at.get("plotly_chart")}
    assert keys == {"sentiment_share_chart", "volume_chart", "emotion_chart", "share_of_voice_chart"}
    assert any("outage" in t.value for t in at.text)  # the evidence: top negative posts
    brands = at.multiselect(key="brands")
    assert set(brands.value) == {"Nimbus", "Orbita"}
    # the seeded week is older than 7 days, so the period ends at the newest mention and covers all of it
    tiles = _metrics(at)
    assert tiles["Mentions"] == [f"{_brand_mentions(engine, 'Nimbus'):,}", f"{_brand_mentions(engine, 'Orbita'):,}"]
    assert any(c.value.startswith("No mentions arrived in the chosen period") for c in at.caption)
    assert any(t.value.startswith("Nimbus — rising: ") and "outage" in t.value for t in at.text)
    assert at.dataframe[0].value["author_followers"].is_monotonic_decreasing  # top posts by reach


def test_overview_follows_the_brand_filter_and_period_and_keeps_them_in_the_url(seeded: str, engine) -> None:
    from datetime import timedelta

    from tests.conftest import T0

    at = AppTest.from_file(APP, default_timeout=60).run()
    at.multiselect(key="brands").set_value(["Orbita"]).run()
    at.selectbox(key="period").set_value("24 h").run()
    assert not at.exception
    until = T0 + timedelta(hours=130)  # the hour after the newest seeded mention
    assert _metrics(at)["Mentions"] == [f"{_brand_mentions(engine, 'Orbita', until - timedelta(hours=24), until):,}"]
    assert [t.value for t in at.text if t.value in ("Nimbus", "Orbita")] == ["Orbita"]
    assert at.query_params["brands"] == "Orbita" and at.query_params["period"] == "24 h"

    shared = AppTest.from_file(APP, default_timeout=60)  # someone opens the shared link
    shared.query_params.update({"brands": "Orbita", "period": "24 h"})
    shared.run()
    assert shared.multiselect(key="brands").value == ["Orbita"] and shared.selectbox(key="period").value == "24 h"


def test_overview_tiles_show_each_brands_social_nps_with_its_change_and_a_dash_when_too_few_authors(
        seeded: str, engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from advocates.lists import nps_change
    from brandpulse.config import BrandConfig, Settings
    from dashboard.data import background
    from tests.conftest import T0

    at = AppTest.from_file(APP, default_timeout=60).run()
    at.selectbox(key="period").set_value("24 h").run()
    assert not at.exception
    background().wait_idle()  # social NPS is computed in the background: the tiles' next look shows it
    at.run()
    until = T0 + timedelta(hours=130)
    settings = Settings(brands=[BrandConfig(name="Nimbus"), BrandConfig(name="Orbita")])
    want = {c.brand: c for c in nps_change(engine, settings, ["Nimbus", "Orbita"], since=until - timedelta(hours=24),
                                           until=until, model_key="m@r")}
    nps = [m for m in at.metric if m.label == "Social NPS"]
    assert len(nps) == 2  # one tile per brand, in the order of the brand rows (most mentions first)
    for tile, brand in zip(nps, ["Nimbus", "Orbita"], strict=True):
        w = want[brand]
        assert w.nps is not None and w.prev_nps is not None and 5 <= w.authors <= 9  # seeded authors a0 … a8
        assert tile.value == f"{w.nps:+.0f}" and tile.delta == f"{w.nps - w.prev_nps:+.0f}"
    assert nps[0].value != nps[1].value  # Nimbus had an episode of negative posts in the day before

    # with fewer authors than [advocates] nps_min_authors the tile says so instead of showing a number
    cfg = tmp_path / "strict.toml"
    cfg.write_text("[[brands]]\nname='Nimbus'\n[[brands]]\nname='Orbita'\n[advocates]\nnps_min_authors = 10\n",
                   encoding="utf-8")
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("BRANDPULSE_CONFIG", str(cfg))
    at = AppTest.from_file(APP, default_timeout=60).run()
    background().wait_idle()
    at.run()
    assert not at.exception
    assert [(m.value, m.delta) for m in at.metric if m.label == "Social NPS"] == [("—", ""), ("—", "")]  # no change shown
    assert _metrics(at)["Mentions"][0] != "—"  # the other tiles are unaffected


def test_empty_store_tells_the_user_what_to_do(engine, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("BRANDPULSE_CONFIG", str(tmp_path / "none.toml"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "brandpulse demo" in at.info[0].value


def test_a_correction_in_the_dashboard_is_stored_as_a_human_label(seeded: str, engine) -> None:
    from sentiment.evaluate import human_eval_set

    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.radio(key="page").set_value("Mentions").run()
    assert not at.exception
    at.selectbox(key="m_label").set_value("negative").run()
    first_id = at.selectbox(key="c_id").options[0]
    at.radio(key="c_sentiment").set_value("neutral")
    at.multiselect(key="c_emotions").set_value(["surprise"])
    next(b for b in at.button if b.label == "Save correction").click().run()
    assert not at.exception
    assert "Saved" in at.success[0].value
    data = human_eval_set(engine, "sentiment")
    assert data.labels == ["neutral"]
    emo = human_eval_set(engine, "emotion")
    assert emo.labels == [frozenset({"surprise"})]
    assert first_id.startswith("#")


def test_negative_share_uses_summed_counts_over_the_window() -> None:
    import pandas as pd

    from dashboard.data import negative_share

    hours = pd.date_range("2026-11-02", periods=3, freq="h", tz="UTC")
    vol = pd.DataFrame({
        "brand": ["N"] * 6, "period": [hours[0], hours[0], hours[1], hours[1], hours[2], hours[2]],
        "sentiment": ["negative", "positive"] * 3, "count": [1, 9, 0, 0, 3, 1], "reach": [0] * 6,
    })
    hourly = negative_share(vol)
    assert hourly["negative_share"].round(3).tolist()[0] == 0.1
    rolled = negative_share(vol, window=3)
    # (1 + 0 + 3) negatives of (10 + 0 + 4) mentions, not the mean of 10 %, n/a and 75 %
    assert round(float(rolled["negative_share"].iloc[-1]), 4) == round(4 / 14, 4)


HOSTILE = "{brand} outage ![x](http://evil.example/a.png) [bank](http://evil) <script>alert(1)</script> #{i}"


def test_hostile_post_markdown_and_html_are_shown_as_literal_text(engine, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    seed_week(engine, episode_text=HOSTILE)
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text("[[brands]]\nname='Nimbus'\n[[brands]]\nname='Orbita'\n", encoding="utf-8")
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("BRANDPULSE_CONFIG", str(cfg))
    literal = "![x](http://evil.example/a.png) [bank](http://evil) <script>alert(1)</script>"
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    # the alert's evidence quotes the posts as plain text, character for character ...
    assert any(literal in t.value for t in at.text)
    # ... and no element that renders Markdown or HTML carries any of it
    rendered = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success]
    assert not any("evil" in str(e.value) or "<script>" in str(e.value) for e in rendered)
    at.sidebar.radio(key="page").set_value("Mentions").run()
    at.selectbox(key="m_label").set_value("negative").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert any(literal in t for t in table["text"])  # the table cell holds the literal text
    rendered = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success]
    assert not any("evil" in str(e.value) for e in rendered)
