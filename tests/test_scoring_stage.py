"""The scoring stage with a stand-in scorer: chunks, languages, and parallel workers on one database."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from brandpulse.store.mentions import insert_mentions
from brandpulse.store.queries import counts, rollups
from brandpulse.types import SentimentScore
from sentiment.stage import score_pending
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
    reported: list[int] = []
    threads = [threading.Thread(target=lambda sc=sc: reported.append(score_pending(engine, sc, chunk=10)))
               for sc in scorers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts(engine)["scored"] == 120
    assert int(rollups(engine, "kw@1")["count"].sum()) == 120
    # each chunk is leased to one worker (SQLite and PostgreSQL): no text scored twice, the counts add up
    assert len(scorers[0].seen) + len(scorers[1].seen) == 120
    assert sum(reported) == 120
    assert scorers[0].seen and scorers[1].seen


def test_a_killed_workers_lease_is_taken_over(engine) -> None:
    from brandpulse.model_key import ModelKey
    from brandpulse.store.scores import claim_pending

    insert_mentions(engine, [make_mention(i, text=f"nimbus good {i}") for i in range(6)])
    key = ModelKey("kw", "1")
    assert len(claim_pending(engine, key, "elsewhere:1:dead", 4)) == 4  # a worker on another host, then gone
    scorer = CountingScorer()
    assert score_pending(engine, scorer) == 2  # the other worker's lease still holds
    assert score_pending(engine, scorer, lease_s=0) == 4  # expired: taken over
    assert sorted(scorer.seen) == sorted(f"nimbus good {i}" for i in range(6))


def test_two_score_processes_on_sqlite_score_each_mention_once(tmp_path) -> None:
    import subprocess
    import sys

    from brandpulse.store.engine import make_engine
    from brandpulse.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'bp.db'}"
    engine = make_engine(url)
    upgrade(engine)
    insert_mentions(engine, [make_mention(i, text=f"nimbus {'bad' if i % 2 else 'good'} {i}") for i in range(300)])
    code = (
        "import os, pathlib, sys, time\n"
        "from brandpulse.store.engine import make_engine\n"
        "from sentiment.stage import score_pending\n"
        "from tests.test_scoring_stage import CountingScorer\n"
        "gate = pathlib.Path(sys.argv[2])\n"
        "(gate / str(os.getpid())).touch()\n"
        "while len(list(gate.iterdir())) < 2: time.sleep(0.01)\n"  # both start scoring together
        "sc = CountingScorer()\n"
        "print(score_pending(make_engine(sys.argv[1]), sc, chunk=20), len(sc.seen))\n"
    )
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", code, url, str(gate)], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    reported, seen = [int(o[0]) for o in outs], [int(o[1]) for o in outs]
    assert sum(reported) == 300 and sum(seen) == 300  # nothing scored twice, the reports add up to the total
    assert all(seen)  # both processes worked
    assert counts(engine)["scored"] == 300
    assert int(rollups(engine, "kw@1")["count"].sum()) == 300
