"""The scoring stage with a stand-in scorer: chunks, languages, and parallel workers on one database."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from brandpulse.scoring import score_pending
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.queries import counts, rollups
from brandpulse.types import SentimentScore
from tests.conftest import make_mention


class CountingScorer:
    """Labels by keyword; records every text it was asked to score (to detect double work)."""

    name = "kw"
    revision = "1"

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def score(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[SentimentScore]:
        time.sleep(0.05)  # long enough for a second worker to look for work meanwhile
        with self.lock:
            self.seen.extend(texts)
        return [SentimentScore("negative" if "bad" in t else "positive",
                               {"negative": 0.9 if "bad" in t else 0.05, "neutral": 0.05,
                                "positive": 0.05 if "bad" in t else 0.9}, 0.9, {}, self.name, self.revision)
                for t in texts]


def test_scores_everything_and_fills_in_languages(engine) -> None:
    insert_mentions(engine, [make_mention(i, text=t) for i, t in
                             enumerate(["this nimbus phone is bad", "Nimbus працює чудово, дякую всім",
                                        "Нимбус опять сломался, ужас", "love my nimbus"])])
    scorer = CountingScorer()
    progress: list[tuple[int, int]] = []
    assert score_pending(engine, scorer, chunk=3, on_progress=lambda d, t: progress.append((d, t))) == 4
    assert progress[-1] == (4, 4)
    assert score_pending(engine, scorer) == 0
    assert counts(engine)["scored"] == 4
    from sqlalchemy import select

    from brandpulse.store.engine import session_scope
    from brandpulse.store.schema import MentionRow

    with session_scope(engine) as s:
        langs = [r for (r,) in s.execute(select(MentionRow.lang).order_by(MentionRow.id))]
    assert langs == ["en", "uk", "ru", "en"]


def test_parallel_workers_share_the_work_without_double_counting(engine, db_url: str) -> None:
    insert_mentions(engine, [make_mention(i, text=f"nimbus {'bad' if i % 3 == 0 else 'good'} {i}") for i in range(120)])
    scorers = [CountingScorer(), CountingScorer()]
    threads = [threading.Thread(target=score_pending, args=(engine, sc), kwargs={"chunk": 10}) for sc in scorers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts(engine)["scored"] == 120
    assert int(rollups(engine, "kw@1")["count"].sum()) == 120
    if db_url.startswith("postgresql"):
        # rows are claimed with FOR UPDATE SKIP LOCKED: no text was scored twice, both workers worked
        assert len(scorers[0].seen) + len(scorers[1].seen) == 120
        assert scorers[0].seen and scorers[1].seen
