"""`brandpulse bench ingest`'s driver: both ways store every mention, on SQLite and PostgreSQL, and the bulk path
reads back exactly what the ORM path writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, select, text

from brandpulse.benchmarks.ingest import generate_mentions, run_ingest_bench, store_in_bulk, store_naively
from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.migrate import upgrade
from brandpulse.store.schema import AuthorRow, MentionBrandRow, MentionRow
from brandpulse.types import AuthorRef
from tests.conftest import make_mention


def _fresh(db_url: str) -> Callable[[], Engine]:
    from tests.conftest import _reset_postgres

    def make() -> Engine:
        if db_url.startswith("postgresql"):
            _reset_postgres(db_url)
        else:
            import os

            path = db_url[len("sqlite:///") :]
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
        eng = make_engine(db_url)
        upgrade(eng)
        return eng

    return make


def test_both_ways_store_everything(db_url: str) -> None:
    res = run_ingest_bench(_fresh(db_url), count=3_000, naive_count=60, batch_size=1_000)
    assert res.count == 3_000 and res.naive_count == 60
    assert res.bulk_rate > 0 and res.naive_rate > 0
    out = res.as_dict()
    assert set(out) >= {"rate", "ratio", "naive_rate", "backend", "bulk_cpu_s"}
    assert out["bulk_cpu_s"] > 0


def _snapshot(engine: Engine) -> list[tuple[object, ...]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(MentionRow.platform, MentionRow.native_id, MentionRow.text, MentionRow.created_at, MentionRow.lang,
                   MentionRow.likes, MentionRow.reposts, MentionRow.replies, MentionRow.brand, MentionRow.raw,
                   MentionRow.url, AuthorRow.handle, AuthorRow.followers, AuthorRow.first_seen, AuthorRow.last_seen)
            .join(AuthorRow, AuthorRow.id == MentionRow.author_id)
            .order_by(MentionRow.native_id)
        ).all()
    return [tuple(r) for r in rows]


def test_bulk_and_orm_paths_store_the_same_rows(db_url: str) -> None:
    mentions = generate_mentions(300)
    make = _fresh(db_url)
    bulk = make()
    store_in_bulk(bulk, mentions, 120)
    expected = _snapshot(bulk)
    bulk.dispose()
    naive = make()
    store_naively(naive, mentions)
    # the naive loop sets first/last seen from the first mention only; compare the mention columns
    assert [r[:13] for r in _snapshot(naive)] == [r[:13] for r in expected]
    naive.dispose()


def test_bulk_path_reports_new_ids_and_skips_duplicates(engine: Engine) -> None:
    mentions = generate_mentions(50)
    first = insert_mentions(engine, mentions[:30])
    again = insert_mentions(engine, mentions)
    assert first.new == 30 and again.new == 20 and again.duplicates == 30
    assert set(again.new_ids) == {m.key for m in mentions[30:]}
    with session_scope(engine) as s:
        stored = {r.native_id: r.id for r in s.execute(select(MentionRow.native_id, MentionRow.id))}
    assert {k[1]: v for k, v in again.new_ids.items()} == {k: stored[k] for k in (m.native_id for m in mentions[30:])}
    assert {k[1]: v for k, v in first.new_ids.items()} == {k: stored[k] for k in (m.native_id for m in mentions[:30])}


def test_bulk_path_links_every_brand_and_the_newest_author_profile(engine: Engine) -> None:
    two = make_mention(1, brand="Nimbus")
    two.link("Cirrus")
    brandless = make_mention(2)
    brandless.brand, brandless.brands = None, ()
    older = make_mention(3, author="ann", followers=5)
    newer = make_mention(4, author="ann", followers=9, hours=2)
    newer.author = AuthorRef("ann", display_name="Ann", followers=9)
    again = make_mention(5, brand="Cirrus")
    res = insert_mentions(engine, [two, brandless, newer, older, again])
    assert res.new == 5
    later = make_mention(5, brand="Kestrel")  # the same post found for another brand: linked, not stored again
    assert insert_mentions(engine, [later, make_mention(6, brand="Nimbus")]).new == 1
    with session_scope(engine) as s:
        links = {(r.native_id, r.brand) for r in s.execute(
            select(MentionRow.native_id, MentionBrandRow.brand).join(MentionRow, MentionRow.id == MentionBrandRow.mention_id))}
        ann = s.execute(select(AuthorRow).where(AuthorRow.handle == "ann")).scalar_one()
        ann_posts = s.scalars(select(MentionRow.author_id).where(MentionRow.native_id.in_(["3", "4"]))).all()
    assert links == {("1", "Nimbus"), ("1", "Cirrus"), ("3", "Nimbus"), ("4", "Nimbus"), ("5", "Cirrus"),
                     ("5", "Kestrel"), ("6", "Nimbus")}
    assert (ann.display_name, ann.followers) == ("Ann", 9)  # the newest mention's profile, whatever the batch order
    assert ann.last_seen is not None and ann.first_seen is not None
    assert ann.last_seen.replace(tzinfo=None) - ann.first_seen.replace(tzinfo=None) == timedelta(hours=2)
    assert ann_posts == [ann.id, ann.id]


def test_bulk_path_writes_raw_payloads_as_json_dumps_does(engine: Engine) -> None:
    payloads = [{"id": "1", "text": "Привіт, ✓ \"quoted\"\n", "n": [1, 2.5, None, True], "nested": {"a": {}}}, None,
                {"big": 10**20, "neg": -0.0}]
    mentions = []
    for i, raw in enumerate(payloads):
        m = make_mention(i)
        m.raw = raw
        mentions.append(m)
    insert_mentions(engine, mentions)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT native_id, CAST(raw AS TEXT) FROM mentions")).all())
    assert stored == {str(i): json.dumps(raw) for i, raw in enumerate(payloads)}
