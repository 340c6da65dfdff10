"""Shared fixtures: the real store on SQLite and (when BRANDPULSE_TEST_DATABASE_URL is set) PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text

from brandpulse.store.engine import make_engine
from brandpulse.store.migrate import upgrade
from brandpulse.types import SENTIMENTS, AuthorRef, Engagement, Mention, SentimentScore

#: Property tests: `make test` and CI draw the same examples every run (a run is red because the code changed, never
#: because of a lucky draw); `HYPOTHESIS_PROFILE=fuzz make test` explores new, and many more, inputs each run.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
hypothesis_settings.register_profile("fuzz", max_examples=1000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PG_URL = os.environ.get("BRANDPULSE_TEST_DATABASE_URL")
REPO = Path(__file__).resolve().parent.parent


def _reset_postgres(url: str) -> None:
    eng = make_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if not PG_URL:
        if os.environ.get("BRANDPULSE_REQUIRE_POSTGRES"):
            pytest.fail("BRANDPULSE_REQUIRE_POSTGRES is set but BRANDPULSE_TEST_DATABASE_URL is not")
        pytest.skip("PostgreSQL tests need BRANDPULSE_TEST_DATABASE_URL (CI sets it; .ci/run starts a server)")
    _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated store on each backend."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)


def make_mention(i: int, *, brand: str = "Nimbus", text: str | None = None, hours: float = 0.0,
                 platform: str = "x", author: str | None = None, followers: int = 100) -> Mention:
    return Mention(
        platform=platform,
        native_id=str(i),
        text=text if text is not None else f"post {i} about nimbus",
        created_at=T0 + timedelta(hours=hours),
        author=AuthorRef(author or f"user{i % 7}", followers=followers),
        engagement=Engagement(likes=i % 5, reposts=i % 3, replies=0),
        brand=brand,
    )


def make_score(label: str, model: str = "m", revision: str = "r", *, p: float = 0.9) -> SentimentScore:
    """A score with `p` on `label` and the rest split evenly over the other sentiments (sums to 1)."""
    rest = round((1.0 - p) / 2, 4) if label in SENTIMENTS else round((1.0 - p) / 3, 4)
    probs = {s: (p if s == label else rest) for s in SENTIMENTS}
    return SentimentScore(label, probs, p, {"anger": 0.7 if label == "negative" else 0.0}, model, revision,
                          ("anger",) if label == "negative" else ())


def score_all(engine: Engine, label_of: Callable[[str], str], model: str = "m", revision: str = "r") -> int:
    """Score every mention this model has not scored with `label_of(text)`; returns how many were new."""
    from brandpulse.store.scores import pending_mentions, save_scores

    pending = pending_mentions(engine, model, revision, 1_000_000)
    return save_scores(engine, [(p.id, make_score(label_of(p.text), model, revision)) for p in pending])
