"""Feeding a store hour by hour with scored mentions (no model: the label comes from the text), as the run loop
sees data arrive, for the alert delivery and lifecycle tests."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from brandpulse.store.mentions import insert_mentions
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import SentimentScore
from tests.conftest import make_mention

MODEL_KEY = "m@r"


class Feed:
    """Mentions of one brand: `calm` per hour (one in four negative) plus `negative` complaints in the hours given."""

    def __init__(self, engine: Engine, brand: str = "Nimbus", calm: int = 4) -> None:
        self.engine, self.brand, self.calm, self.i = engine, brand, calm, 0

    def hours(self, hours: Iterable[int], negative: dict[int, int] | None = None) -> None:
        ms = []
        for h in hours:
            n_neg = (negative or {}).get(h, 0)
            for k in range(self.calm + n_neg):
                if k < n_neg:
                    text = f"{self.brand} outage again, refund now <!channel> #{self.i}"
                elif k == 0 and h % 4 == 0:
                    text = f"{self.brand} meh {self.i}"
                else:
                    text = f"{self.brand} is great {self.i}"
                ms.append(make_mention(self.i, brand=self.brand, hours=h + k / (self.calm + n_neg + 1), text=text,
                                       author=f"a{self.i % 9}", followers=10 * (self.i % 50)))
                self.i += 1
        insert_mentions(self.engine, ms)
        score_pending(self.engine)


def score_pending(engine: Engine) -> None:
    scored = []
    for p in pending_mentions(engine, "m", "r", 100_000):
        label = "negative" if ("outage" in p.text or "meh" in p.text) else "positive"
        probs = {"negative": 0.05, "neutral": 0.05, "positive": 0.05, label: 0.9}
        scored.append((p.id, SentimentScore(label, probs, 0.9, {"anger": 0.7 if label == "negative" else 0.0},
                                            "m", "r", ("anger",) if label == "negative" else ())))
    save_scores(engine, scored)
