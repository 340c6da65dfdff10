"""The store on SQLite and PostgreSQL: migrations, dedup upsert, rollups, deletes, cursors."""

from __future__ import annotations

from sqlalchemy import func, select

from brandpulse.store.cursors import load_cursor, record_health, save_cursor_in, source_health
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import delete_mentions_in, insert_mentions
from brandpulse.store.migrate import current_revision
from brandpulse.store.queries import counts, rollups
from brandpulse.store.schema import AuthorRow, MentionRow
from brandpulse.store.scores import count_pending, pending_mentions, save_scores
from brandpulse.types import Cursor, SentimentScore
from tests.conftest import make_mention


def _score(label: str) -> SentimentScore:
    probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1, label: 0.8}
    return SentimentScore(label, probs, 0.8, {"anger": 0.1}, "m", "r1")


def test_migration_reaches_head(engine) -> None:
    from alembic.script import ScriptDirectory

    from brandpulse.store.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    assert head is not None and current_revision(engine) == head


def test_bulk_upsert_ignores_duplicates_and_counts_new(engine) -> None:
    first = insert_mentions(engine, [make_mention(i) for i in range(10)])
    assert (first.new, first.duplicates) == (10, 0)
    again = insert_mentions(engine, [make_mention(i) for i in range(5, 15)] + [make_mention(14)])
    assert again.new == 5
    assert again.duplicates == 6
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(MentionRow)) == 15
        # one author row per (platform, handle) even though many mentions share authors
        assert s.scalar(select(func.count()).select_from(AuthorRow)) == 7


def test_same_native_id_on_two_platforms_is_two_mentions(engine) -> None:
    res = insert_mentions(engine, [make_mention(1, platform="x"), make_mention(1, platform="reddit")])
    assert res.new == 2


def test_timestamps_round_trip_as_utc(engine) -> None:
    m = make_mention(1, hours=5.5)
    insert_mentions(engine, [m])
    with session_scope(engine) as s:
        stored = s.scalar(select(MentionRow.created_at))
    assert stored == m.created_at
    assert stored.utcoffset().total_seconds() == 0


def test_scores_update_rollups_exactly_once(engine) -> None:
    insert_mentions(engine, [make_mention(i, hours=i % 3, followers=10) for i in range(6)])
    pend = pending_mentions(engine, "m", "r1", 100)
    assert len(pend) == 6
    scored = [(p.id, _score("negative" if p.id % 2 else "positive")) for p in pend]
    assert save_scores(engine, scored) == 6
    assert save_scores(engine, scored) == 0  # a repeated batch (crash + retry) adds nothing
    assert count_pending(engine, "m", "r1") == 0
    assert count_pending(engine, "m", "r2") == 6  # a newer model revision re-scores history
    df = rollups(engine, "m@r1")
    assert df["count"].sum() == 6
    assert df["reach"].sum() == 60
    assert set(df["sentiment"]) == {"negative", "positive"}


def test_delete_removes_mention_and_its_rollup_contribution(engine) -> None:
    insert_mentions(engine, [make_mention(i) for i in range(3)])
    pend = pending_mentions(engine, "m", "r1", 10)
    save_scores(engine, [(p.id, _score("neutral")) for p in pend])
    with session_scope(engine) as s:
        assert delete_mentions_in(s, [("x", "1"), ("x", "does-not-exist")]) == 1
    assert counts(engine)["mentions"] == 2
    assert rollups(engine, "m@r1")["count"].sum() == 2


def test_cursor_and_health_round_trip(engine) -> None:
    with session_scope(engine) as s:
        save_cursor_in(s, Cursor("x", "Nimbus", "123"))
    with session_scope(engine) as s:
        save_cursor_in(s, Cursor("x", "Nimbus", "456"))
    assert load_cursor(engine, "x", "Nimbus").position == "456"
    assert load_cursor(engine, "x", "Other") is None
    record_health(engine, "x", "Nimbus", ok=False, error="HTTP 503")
    record_health(engine, "x", "Nimbus", ok=True, lag_seconds=12.0, details={"rate_limit_remaining": 40})
    (h,) = source_health(engine)
    assert (h.error_count, h.last_error, h.rate_limit_remaining, h.lag_seconds) == (1, "HTTP 503", 40, 12.0)
    assert h.last_success is not None


def test_a_mention_rescored_by_a_newer_model_shows_once_with_the_new_label(engine) -> None:
    from brandpulse.model_key import ModelKey
    from brandpulse.store.queries import current_model, latest_mentions
    from tests.conftest import score_all

    insert_mentions(engine, [make_mention(i, hours=i) for i in range(8)])
    assert score_all(engine, lambda t: "negative", "model", "A") == 8
    assert current_model(engine) == ModelKey("model", "A")
    assert score_all(engine, lambda t: "positive", "model", "B") == 8  # the newer model re-scores history
    assert current_model(engine) == ModelKey("model", "B")
    latest = latest_mentions(engine, None, 50)  # "Latest mentions" on the Overview page
    page = latest_mentions(engine, "Nimbus", 100, None)  # the Mentions page, no label filter
    for df in (latest, page):
        assert sorted(df["id"]) == sorted(set(df["id"])) and len(df) == 8
        assert set(df["label"]) == {"positive"}
    assert latest_mentions(engine, None, 100, "negative").empty  # model A's labels are not shown any more
    old = latest_mentions(engine, None, 100, model=ModelKey("model", "A"))
    assert len(old) == 8 and set(old["label"]) == {"negative"}
