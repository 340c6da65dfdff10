"""Seeding a store with a week of scored mentions and one negativity episode (no model needed)."""

from __future__ import annotations

from sqlalchemy import Engine

from alerts.check import check_alerts
from brandpulse.config import AlertRuleConfig
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import SentimentScore
from tests.conftest import make_mention

EPISODE_HOUR = 100


def seed_week(engine: Engine, episode_text: str = "{brand} outage again, refund now #{i}") -> None:
    """130 hours of Nimbus and Orbita mentions, scored by model "m@r", and the alert a Nimbus episode raises
    (the episode's posts read `episode_text`, formatted with brand and i)."""
    ms, i = [], 0
    for h in range(130):
        for brand, n in (("Nimbus", 12 if h == EPISODE_HOUR else 4), ("Orbita", 2)):
            for k in range(n):
                neg = (h == EPISODE_HOUR and brand == "Nimbus") or (k == 0 and h % 3 == 0)
                text = (episode_text.format(brand=brand, i=i) if h == EPISODE_HOUR and brand == "Nimbus"
                        else (f"{brand} meh {i}" if neg else f"{brand} is great {i}"))
                ms.append(make_mention(i, brand=brand, hours=h + k / 60, text=text, author=f"a{i % 9}",
                                       followers=10 * (i % 50)))
                i += 1
    insert_mentions(engine, ms)
    scored = []
    for p in pending_mentions(engine, "m", "r", 100_000):
        label = "negative" if ("outage" in p.text or "meh" in p.text) else "positive"
        probs = {"negative": 0.05, "neutral": 0.05, "positive": 0.05, label: 0.9}
        scored.append((p.id, SentimentScore(label, probs, 0.9, {"anger": 0.7 if label == "negative" else 0.0},
                                            "m", "r", ("anger",) if label == "negative" else ())))
    save_scores(engine, scored)
    check_alerts(engine, "m@r", AlertRuleConfig())
