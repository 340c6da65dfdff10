"""Advocate ranking on the real store: a fan with many widely seen positive posts beats a bot, a competitor's own
account and a one-post author; reasons, NPS classes and the weekly social NPS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from advocates.config import AdvocatesConfig
from advocates.scoring import rank, social_nps
from brandpulse.config import BrandConfig
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import insert_mentions_in
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import AuthorRef, Engagement, Mention, SentimentScore
from listener.dedup import StoreDeduper

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
MODEL_KEY = "m@r"
NIMBUS = BrandConfig(name="Nimbus", handles=["@NimbusHQ"], competitors=["Orbita"])
ORBITA = BrandConfig(name="Orbita", handles=["https://x.com/OrbitaOfficial"])


def _m(i: int, author: str, text: str, at: datetime, *, followers: int, likes: int = 0, brand: str = "Nimbus",
       platform: str = "x") -> Mention:
    return Mention(platform=platform, native_id=f"n{i}", text=text, created_at=at,
                   author=AuthorRef(author, display_name=author.title(), followers=followers),
                   url=f"https://x.com/{author}/status/{i}", engagement=Engagement(likes=likes, reposts=likes // 3),
                   brand=brand)


def seed_advocates(engine: Engine) -> None:
    """Four weeks of Nimbus mentions: a fan, a bot, Orbita's account, a one-post author, a detractor, others."""
    ms: list[Mention] = []
    i = 0
    praise = ["love the new sync in Nimbus", "Nimbus saved my thesis backup today", "switched the whole team to Nimbus",
              "Nimbus support answered in five minutes, impressed", "the Nimbus photo album feature is lovely",
              "Nimbus on Linux finally works great", "three years on Nimbus and never had a problem",
              "Nimbus family plan is worth every cent", "offline mode in Nimbus is brilliant on trains",
              "shared folders in Nimbus just work", "Nimbus desktop app got so fast", "recommend Nimbus to my students"]
    for week in range(4):
        for k in range(3):
            ms.append(_m(i, "fan_anna", praise[3 * week + k],
                         T0 + timedelta(days=7 * week + 2 * k), followers=5200, likes=40 + k))
            i += 1
    for k in range(60):  # a bot: sixty copies of one promo on one day, no engagement
        ms.append(_m(i, "promo_bot_77", f"Nimbus is the best cloud ever!!! get it now {k % 3}",
                     T0 + timedelta(days=20, minutes=5 * k), followers=300))
        i += 1
    for k in range(8):  # the competitor's own account praising Nimbus ironically / comparing
        ms.append(_m(i, "OrbitaOfficial", f"Great to see Nimbus users switching, comparison post {k}",
                     T0 + timedelta(days=3 * k), followers=90000, likes=200))
        i += 1
    ms.append(_m(i, "one_post_oleg", "Nimbus is nice", T0 + timedelta(days=25), followers=150, likes=1))
    i += 1
    for k in range(5):
        ms.append(_m(i, "angry_ivan", f"Nimbus lost my files again, support ignores me ({k})",
                     T0 + timedelta(days=5 * k + 1), followers=800, likes=12))
        i += 1
    ms.append(_m(i, "nimbushq", "Nimbus 5.0 is out, we love it", T0 + timedelta(days=10), followers=50000, likes=500))
    i += 1
    deduper = StoreDeduper(engine, window=timedelta(days=60))
    with session_scope(engine) as s:
        res = insert_mentions_in(s, ms)
        deduper.assign(s, res.new_ids, ms)
    scored = []
    for p in pending_mentions(engine, "m", "r", 10_000):
        neg = any(w in p.text for w in ("lost", "ignores"))
        label = "negative" if neg else "positive"
        probs = {"negative": 0.05, "neutral": 0.05, "positive": 0.05, label: 0.9}
        scored.append((p.id, SentimentScore(label, probs, 0.9, {}, "m", "r")))
    save_scores(engine, scored)


def test_fan_outranks_bot_competitor_account_and_one_post_author(engine: Engine) -> None:
    seed_advocates(engine)
    ranked = rank(engine, MODEL_KEY, NIMBUS, [NIMBUS, ORBITA], AdvocatesConfig(), limit=None)
    keys = [r.key for r in ranked]
    assert keys[0] == "x:fan_anna"
    assert keys.index("x:fan_anna") < keys.index("x:promo_bot_77")
    assert keys.index("x:fan_anna") < keys.index("x:one_post_oleg")
    # own and competitor accounts are excluded, handles matched in any written form
    assert "x:OrbitaOfficial" not in keys and "x:nimbushq" not in keys
    assert "x:angry_ivan" not in keys  # no positive posts
    fan = ranked[0]
    assert fan.nps_class == "promoter"
    assert fan.reasons["matching_posts"] == 12 and fan.reasons["active_weeks"] == 4
    assert fan.top_posts and all(p["url"].startswith("https://x.com/fan_anna/status/") for p in fan.top_posts)
    assert fan.profile_urls == ["https://x.com/fan_anna"]
    bot = next(r for r in ranked if r.key == "x:promo_bot_77")
    assert bot.reasons["dup_share"] > 0.5 and bot.reasons["bot_likeness"] > 0.5
    assert "12 positive of 12 posts" in fan.reason_text()


def test_ranking_is_stable_and_honours_opt_out_and_employees(engine: Engine) -> None:
    seed_advocates(engine)
    first = rank(engine, MODEL_KEY, NIMBUS, [NIMBUS, ORBITA], AdvocatesConfig(), limit=None)
    again = rank(engine, MODEL_KEY, NIMBUS, [NIMBUS, ORBITA], AdvocatesConfig(), limit=None)
    assert [(r.key, r.score) for r in first] == [(r.key, r.score) for r in again]
    cfg = AdvocatesConfig(opt_out=["@FAN_ANNA"], employees=["x:one_post_oleg"])
    keys = [r.key for r in rank(engine, MODEL_KEY, NIMBUS, [NIMBUS, ORBITA], cfg, limit=None)]
    assert "x:fan_anna" not in keys and "x:one_post_oleg" not in keys and keys


def test_detractors_and_weekly_social_nps(engine: Engine) -> None:
    seed_advocates(engine)
    det = rank(engine, MODEL_KEY, NIMBUS, [NIMBUS, ORBITA], AdvocatesConfig(), kind="detractors", limit=5)
    assert [r.key for r in det] == ["x:angry_ivan"]
    assert det[0].nps_class == "detractor" and "lost my files" in det[0].top_posts[0]["text"]
    weeks = social_nps(engine, MODEL_KEY, NIMBUS, [NIMBUS, ORBITA], AdvocatesConfig())
    assert len(weeks) >= 4
    for w in weeks:
        assert -100 <= w.nps <= 100 and w.authors == w.promoters + w.passives + w.detractors
    # the week with only the fan and angry_ivan active: one promoter, one detractor → NPS 0
    assert any(w.promoters >= 1 and w.detractors >= 1 for w in weeks)
