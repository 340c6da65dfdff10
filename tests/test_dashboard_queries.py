"""The dashboard's query functions and the dimension rollups behind them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from alembic import command
from sqlalchemy import Engine, select

from brandpulse.store import dashboard_queries as dq
from brandpulse.store.engine import session_scope
from brandpulse.store.forget import forget_author
from brandpulse.store.mentions import delete_mentions_in, insert_mentions
from brandpulse.store.migrate import alembic_config, upgrade
from brandpulse.store.rollups import recount, stored
from brandpulse.store.schema import MentionBrandRow, MentionRow, ScoreRow
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import SentimentScore
from tests.conftest import T0, make_mention


def _seed(engine: Engine, n: int = 240) -> None:
    """n mentions over 10 days, two brands (some posts about both), three platforms, two languages, varied emotions."""
    ms = []
    for i in range(n):
        m = make_mention(i, brand="Nimbus" if i % 3 else "Orbita", hours=i, platform=("x", "reddit", "bluesky")[i % 3],
                         text=f"post {i} {'awful outage' if i % 4 == 0 else 'love it'}", author=f"a{i % 11}",
                         followers=(i * 37) % 1000)
        if i % 10 == 0:
            m.link("Orbita" if m.brand == "Nimbus" else "Nimbus")
        ms.append(m)
    insert_mentions(engine, ms)
    scored = []
    for p in pending_mentions(engine, "m", "r", 10_000):
        i = int(p.text.split()[1])
        label = "negative" if i % 4 == 0 else ("uncertain" if i % 7 == 0 else "positive")
        emos = ("anger", "disgust") if label == "negative" else (("joy",) if i % 2 else ())
        probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1}
        scored.append((p.id, SentimentScore(label, probs, 0.8, dict.fromkeys(emos, 0.9), "m", "r", emos)))
    save_scores(engine, scored, languages={p.id: ("en" if p.id % 2 else "de") for p in pending_mentions(engine, "m", "r")})


def _raw(engine: Engine) -> pd.DataFrame:
    """Every (mention, linked brand) with its score: the naive recount the rollups must equal."""
    q = (select(MentionRow.id, MentionBrandRow.brand, MentionRow.created_at, MentionRow.author_followers,
                MentionRow.platform, MentionRow.lang, MentionRow.author_handle, MentionRow.text, ScoreRow.label,
                ScoreRow.emotions)
         .join(MentionBrandRow, MentionBrandRow.mention_id == MentionRow.id)
         .join(ScoreRow, ScoreRow.mention_id == MentionRow.id))
    with session_scope(engine) as s:
        df = pd.DataFrame([r._asdict() for r in s.execute(q)])
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df


def _assert_rollups_equal_recount(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert stored(s) == recount(s)


def test_scoring_fills_the_dimension_rollups_and_they_equal_a_recount(engine: Engine) -> None:
    _seed(engine)
    _assert_rollups_equal_recount(engine)
    raw = _raw(engine)
    since, until = T0, T0 + timedelta(days=30)
    emo = dq.series(engine, "m@r", "emotion", None, since, until)
    assert emo.groupby("value")["count"].sum().to_dict() == {
        "anger": int((raw["label"] == "negative").sum()), "disgust": int((raw["label"] == "negative").sum()),
        "joy": int(raw["emotions"].map(lambda e: "joy" in e["labels"]).sum())}
    plat = dq.series(engine, "m@r", "platform", ["Orbita"], since, until)
    assert plat.groupby("value")["count"].sum().to_dict() == raw[raw["brand"] == "Orbita"].groupby("platform").size().to_dict()
    lang = dq.series(engine, "m@r", "language", None, since, until)
    assert lang.groupby("value")["count"].sum().to_dict() == raw.groupby("lang").size().to_dict()
    assert dq.facet_values(engine, "m@r", "platform") == ["bluesky", "reddit", "x"]


def test_deleting_and_forgetting_keep_every_rollup_equal_to_a_recount(engine: Engine) -> None:
    _seed(engine)
    with session_scope(engine) as s:
        assert delete_mentions_in(s, [("x", "0"), ("reddit", "10"), ("bluesky", "5")]) == 3
    _assert_rollups_equal_recount(engine)
    forget_author(engine, "x", "a3")
    _assert_rollups_equal_recount(engine)
    with session_scope(engine) as s:
        _, dims = stored(s)
    assert all(c > 0 for c, _ in dims.values())  # emptied rows are gone, as in a recount


def test_kpis_compare_the_period_with_the_one_before(engine: Engine) -> None:
    _seed(engine)
    raw = _raw(engine)
    since, until = T0 + timedelta(hours=120), T0 + timedelta(hours=168)
    k = dq.kpis(engine, "m@r", None, since, until).set_index("brand")
    for brand in ("Nimbus", "Orbita"):
        now = raw[(raw["brand"] == brand) & (raw["created_at"] >= since) & (raw["created_at"] < until)]
        prev = raw[(raw["brand"] == brand) & (raw["created_at"] >= since - timedelta(hours=48))
                   & (raw["created_at"] < since)]
        assert k.loc[brand, "mentions"] == len(now)
        assert k.loc[brand, "prev_mentions"] == len(prev)
        assert k.loc[brand, "reach"] == int(now["author_followers"].sum())
        assert k.loc[brand, "negative_share"] == round((now["label"] == "negative").mean(), 4)
        assert k.loc[brand, "prev_negative_share"] == round((prev["label"] == "negative").mean(), 4)


def test_feed_pages_by_keyset_through_every_match_once_in_order(engine: Engine) -> None:
    _seed(engine)
    raw = _raw(engine)
    flt = dq.FeedFilter(brand="Nimbus", sentiment="negative", emotion="anger")
    seen: list[int] = []
    after = None
    while True:
        page, after = dq.feed(engine, "m@r", flt, after=after, limit=7)
        seen += page["id"].tolist()
        assert page["label"].eq("negative").all() and page["emotions"].str.contains("anger").all()
        if after is None:
            break
    want = raw[(raw["brand"] == "Nimbus") & (raw["label"] == "negative")].sort_values("created_at", ascending=False)
    assert seen == want["id"].tolist()

    by_reach: list[int] = []
    after = None
    while True:
        page, after = dq.feed(engine, "m@r", dq.FeedFilter(sort="reach", platform="x"), after=after, limit=9)
        by_reach += page["author_followers"].tolist()
        if after is None:
            break
    assert by_reach == sorted(raw.drop_duplicates("id").query("platform == 'x'")["author_followers"], reverse=True)


def test_feed_filters_text_author_language_uncertain_and_dates(engine: Engine) -> None:
    _seed(engine)
    raw = _raw(engine).drop_duplicates("id")
    page, _ = dq.feed(engine, "m@r", dq.FeedFilter(text="OUTAGE", author="@A3"), limit=500)
    assert set(page["id"]) == set(raw[raw["text"].str.contains("outage") & raw["author_handle"].str.contains("a3")]["id"])
    page, _ = dq.feed(engine, "m@r", dq.FeedFilter(sentiment="uncertain", language="de"), limit=500)
    assert set(page["id"]) == set(raw[(raw["label"] == "uncertain") & (raw["lang"] == "de")]["id"]) and len(page) > 0
    since = T0 + timedelta(hours=50)
    page, _ = dq.feed(engine, "m@r", dq.FeedFilter(since=since, until=since + timedelta(hours=5)), limit=500)
    assert page["created_at"].min() >= since and len(page) == 5
    page, _ = dq.feed(engine, "m@r", dq.FeedFilter(text="100%_"), limit=500)  # LIKE wildcards are literal
    assert page.empty


def test_top_posts_and_period_texts_are_bounded_to_the_period(engine: Engine) -> None:
    _seed(engine)
    raw = _raw(engine)
    since, until = T0 + timedelta(hours=24), T0 + timedelta(hours=72)
    top = dq.top_posts(engine, "m@r", "Orbita", since, until, limit=3)
    want = raw[(raw["brand"] == "Orbita") & (raw["created_at"] >= since) & (raw["created_at"] < until)]
    assert top["author_followers"].tolist() == sorted(want["author_followers"], reverse=True)[:3]
    texts = dq.period_texts(engine, "Orbita", since, until, limit=1000)
    assert sorted(texts) == sorted(want["text"])
    assert dq.latest_hour(engine, "m@r") == raw["created_at"].max().floor("h").to_pydatetime()


def test_migration_0012_recomputes_the_dimension_rollups_from_stored_scores(engine: Engine, db_url: str) -> None:
    _seed(engine, 60)
    with session_scope(engine) as s:
        _, before = stored(s)
    assert before
    cfg = alembic_config(db_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    upgrade(engine)
    with session_scope(engine) as s:
        assert stored(s)[1] == before
    _assert_rollups_equal_recount(engine)


def test_periods_end_now_or_at_the_newest_mention_and_custom_ranges_cover_whole_local_days() -> None:
    from datetime import UTC, date, datetime

    from dashboard.period import resolve

    now = datetime(2026, 12, 1, 9, 20, tzinfo=UTC)
    p = resolve("24 h", None, "UTC", datetime(2026, 12, 1, 8, tzinfo=UTC), now)
    assert (p.since, p.until, p.anchored, p.freq) == (datetime(2026, 11, 30, 10, tzinfo=UTC),
                                                      datetime(2026, 12, 1, 10, tzinfo=UTC), False, "h")
    old = resolve("7 d", None, "UTC", datetime(2026, 11, 7, 5, tzinfo=UTC), now)
    assert old.anchored and old.until == datetime(2026, 11, 7, 6, tzinfo=UTC) and old.length == timedelta(days=7)
    assert resolve("30 d", None, "UTC", None, now).freq == "D"
    berlin = resolve("custom", (date(2026, 11, 2), date(2026, 11, 3)), "Europe/Berlin", None, now)
    assert (berlin.since, berlin.until) == (datetime(2026, 11, 1, 23, tzinfo=UTC), datetime(2026, 11, 3, 23, tzinfo=UTC))


def test_day_buckets_follow_the_configured_time_zone_and_unknown_zones_are_refused() -> None:
    import pytest
    from pydantic import ValidationError

    from brandpulse.config import DashboardConfig
    from dashboard.data import bucket

    hours = pd.to_datetime(["2026-11-02 22:00", "2026-11-02 23:00"], utc=True)
    df = pd.DataFrame({"brand": ["N", "N"], "hour": hours, "value": ["positive"] * 2, "count": [1, 2], "reach": [0, 0]})
    assert bucket(df, "UTC", "D")["count"].tolist() == [3]
    assert bucket(df, "Europe/Berlin", "D")["count"].tolist() == [1, 2]  # 23:00 UTC is already Nov 3 in Berlin
    assert DashboardConfig.model_validate({"timezone": "Europe/Berlin"}).timezone == "Europe/Berlin"
    with pytest.raises(ValidationError, match="unknown time zone"):
        DashboardConfig.model_validate({"timezone": "Mars/Olympus"})
