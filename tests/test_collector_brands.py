"""A post naming two brands is stored once and linked to both (``mention_brands``): rollups, share of voice and
the migration that carries existing mentions over. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from alembic import command
from sqlalchemy import Engine, select, text

from brandpulse.model_key import ModelKey
from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.mentions import delete_mentions_in, insert_mentions
from brandpulse.store.migrate import alembic_config, upgrade
from brandpulse.store.queries import brand_totals
from brandpulse.store.schema import MentionBrandRow, MentionRow
from brandpulse.store.scores import save_scores
from brandpulse.types import SentimentScore
from tests.conftest import make_mention


def _links(engine: Engine) -> set[tuple[str, str]]:
    with session_scope(engine) as s:
        q = select(MentionRow.native_id, MentionBrandRow.brand).join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
        return {(r.native_id, r.brand) for r in s.execute(q)}


def _score(label: str) -> SentimentScore:
    probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1}
    probs[label] = 0.8
    return SentimentScore(label=label, probs=probs, confidence=0.8, emotions={}, model="m", revision="r1")


def test_mention_brands_keep_the_primary_first() -> None:
    m = make_mention(1, brand="Nimbus")
    assert m.brands == ("Nimbus",)
    m.link("Cirrus")
    m.link("Nimbus")
    assert (m.brand, m.brands) == ("Nimbus", ("Nimbus", "Cirrus"))
    only_brands = replace(make_mention(2), brand=None, brands=("Cirrus", "Nimbus"))
    assert only_brands.brand == "Cirrus"


def test_a_post_naming_two_brands_counts_for_both(engine: Engine) -> None:
    both = make_mention(1, brand="Nimbus", text="nimbus beats cirrus", followers=50)
    both.link("Cirrus")
    res = insert_mentions(engine, [both, make_mention(2, brand="Nimbus", followers=10)])
    assert res.new == 2
    assert _links(engine) == {("1", "Nimbus"), ("1", "Cirrus"), ("2", "Nimbus")}
    with session_scope(engine) as s:
        assert s.scalar(select(MentionRow.brand).where(MentionRow.native_id == "1")) == "Nimbus"  # primary kept

    save_scores(engine, [(res.new_ids[("x", "1")], _score("negative")), (res.new_ids[("x", "2")], _score("positive"))])
    totals = brand_totals(engine, str(ModelKey("m", "r1"))).set_index("brand")
    assert totals.loc["Nimbus", "mentions"] == 2 and totals.loc["Cirrus", "mentions"] == 1
    assert totals.loc["Cirrus", "negative"] == 1 and totals.loc["Cirrus", "reach"] == 50
    assert abs(totals.loc["Cirrus", "share_of_voice"] - 1 / 3) < 0.01

    with session_scope(engine) as s:  # deleted upstream: out of both brands' rollups
        assert delete_mentions_in(s, [("x", "1")]) == 1
    totals = brand_totals(engine, str(ModelKey("m", "r1"))).set_index("brand")
    # rollup rows that reach zero are removed (as a recount has none)
    assert "Cirrus" not in totals.index or totals.loc["Cirrus", "mentions"] == 0
    assert totals.loc["Nimbus", "mentions"] == 1
    assert _links(engine) == {("2", "Nimbus")}


def test_the_same_post_found_for_another_brand_later_is_linked_not_stored_again(engine: Engine) -> None:
    assert insert_mentions(engine, [make_mention(7, brand="Nimbus")]).new == 1
    again = insert_mentions(engine, [make_mention(7, brand="Cirrus"), make_mention(7, brand="Stratus")])
    assert (again.new, again.duplicates) == (0, 2)
    assert _links(engine) == {("7", "Nimbus"), ("7", "Cirrus"), ("7", "Stratus")}


def test_a_scored_post_found_later_for_another_brand_counts_for_it_too(engine: Engine) -> None:
    """Scored for Nimbus first; Cirrus's collector finds the same post an hour later: Cirrus's rollups (sentiment,
    emotion, platform, language) gain it, Nimbus's do not change, and every rollup still equals a recount."""
    from brandpulse.store.rollups import recount, stored

    res = insert_mentions(engine, [make_mention(9, brand="Nimbus", followers=40)])
    save_scores(engine, [(res.new_ids[("x", "9")], _score("negative"))])
    before = brand_totals(engine, str(ModelKey("m", "r1"))).set_index("brand")
    assert "Cirrus" not in before.index

    again = insert_mentions(engine, [make_mention(9, brand="Cirrus", followers=40)])
    assert (again.new, again.duplicates) == (0, 1)
    totals = brand_totals(engine, str(ModelKey("m", "r1"))).set_index("brand")
    assert totals.loc["Cirrus", "mentions"] == 1 and totals.loc["Cirrus", "negative"] == 1
    assert totals.loc["Cirrus", "reach"] == 40
    assert totals.loc["Nimbus", "mentions"] == before.loc["Nimbus", "mentions"]
    with session_scope(engine) as s:
        assert stored(s) == recount(s)

    insert_mentions(engine, [make_mention(9, brand="Cirrus", followers=40)])  # found again: nothing counted twice
    with session_scope(engine) as s:
        assert stored(s) == recount(s)
    assert brand_totals(engine, str(ModelKey("m", "r1"))).set_index("brand").loc["Cirrus", "mentions"] == 1


def test_migration_links_every_existing_mention(db_url: str) -> None:
    """A store written by the previous schema (revision 0001) upgrades without losing a mention; each gets its link."""
    eng = make_engine(db_url)
    try:
        upgrade(eng, "0001")
        with eng.begin() as conn:
            conn.execute(text("INSERT INTO authors (platform, handle, crm_confirmed) VALUES ('x', 'ann', false)"))
            author = conn.execute(text("SELECT id FROM authors")).scalar_one()
            for i, brand in enumerate(["Nimbus", "Cirrus", "Nimbus", None]):
                conn.execute(
                    text("INSERT INTO mentions (platform, native_id, author_id, author_handle, text, created_at, likes, "
                         "reposts, replies, brand, ingested_at) VALUES ('x', :n, :a, 'ann', 'hello', :t, 0, 0, 0, :b, :t)"),
                    {"n": str(i), "a": author, "b": brand, "t": "2026-11-02 10:00:00"},
                )
        upgrade(eng)
        with session_scope(eng) as s:
            assert s.scalar(select(MentionRow.id).order_by(MentionRow.id.desc()).limit(1)) is not None
            assert len(list(s.scalars(select(MentionRow.id)))) == 4
        assert _links(eng) == {("0", "Nimbus"), ("1", "Cirrus"), ("2", "Nimbus")}  # the brandless one has none

        cfg = alembic_config(str(eng.url))
        with eng.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        with eng.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM mentions")).scalar_one() == 4
    finally:
        eng.dispose()
