"""`forget` on SQLite and PostgreSQL: nothing of the author remains in any table, and the rollups equal a recount."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import Engine, inspect, select, text

from brandpulse.errors import InputError
from brandpulse.store.contacts import Contact, decide_link, list_contacts, list_links, upsert_contacts
from brandpulse.store.engine import session_scope
from brandpulse.store.forget import forget_author, parse_author
from brandpulse.store.labels import save_human_label
from brandpulse.store.rollups import hour_of
from brandpulse.store.schema import AlertEvidenceRow, AlertRow, AuthorRow, MentionRow, RollupRow, ScoreRow
from tests.seed import seed_week


def _recount(engine: Engine) -> dict[tuple[str, str, object, str], tuple[int, int]]:
    out: Counter[tuple[str, str, object, str]] = Counter()
    reach: Counter[tuple[str, str, object, str]] = Counter()
    with session_scope(engine) as s:
        q = select(ScoreRow.model, ScoreRow.revision, ScoreRow.label, MentionRow.brand, MentionRow.created_at,
                   MentionRow.author_followers).join(MentionRow, MentionRow.id == ScoreRow.mention_id)
        for r in s.execute(q):
            k = (f"{r.model}@{r.revision}", r.brand, hour_of(r.created_at), r.label)
            out[k] += 1
            reach[k] += r.author_followers or 0
    return {k: (n, reach[k]) for k, n in out.items()}


def _rollups(engine: Engine) -> dict[tuple[str, str, object, str], tuple[int, int]]:
    with session_scope(engine) as s:
        return {(r.model_key, r.brand, r.hour, r.sentiment): (r.count, r.reach)
                for r in s.scalars(select(RollupRow)) if r.count}


def _strings(value: object) -> list[str]:
    """Every string in a cell, JSON cells walked."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        return [value] if isinstance(parsed, str | int | float) else _strings(parsed)
    if isinstance(value, dict):
        return [x for v in value.values() for x in _strings(v)]
    if isinstance(value, list):
        return [x for v in value for x in _strings(v)]
    return [str(value)]


def test_forget_removes_every_trace_and_keeps_rollups_exact(engine: Engine) -> None:
    seed_week(engine)
    assert _rollups(engine) == _recount(engine)
    with session_scope(engine) as s:
        first_post = s.scalar(
            select(MentionRow.author_handle)
            .join(AlertEvidenceRow, AlertEvidenceRow.mention_id == MentionRow.id)
            .where(AlertEvidenceRow.kind == "post")
            .order_by(AlertEvidenceRow.rank)
        )
        assert first_post is not None  # the alert's evidence points at the author's post before
        victim = first_post
        victim_texts = [t for (t,) in s.execute(select(MentionRow.text).where(MentionRow.author_handle == victim))]
        victim_mention = s.scalar(select(MentionRow.id).where(MentionRow.author_handle == victim))
        victim_author = s.scalar(select(AuthorRow.id).where(AuthorRow.handle == victim))
        others = s.scalar(select(MentionRow.id).where(MentionRow.author_handle != victim))
    assert victim_mention is not None and victim_author is not None and others is not None
    save_human_label(engine, victim_mention, sentiment="neutral")
    save_human_label(engine, others, sentiment="neutral")
    upsert_contacts(engine, [Contact("csv", "c1", "A Person", handles={"x": "elsewhere"})])
    decide_link(engine, victim_author, list_contacts(engine)[0].id, "confirmed")

    res = forget_author(engine, *parse_author(f"x:@{victim.upper()}"))
    assert res.authors == 1 and res.mentions == len(victim_texts) and res.labels == 1 and res.links == 1
    with session_scope(engine) as s:
        assert s.scalar(select(AlertRow.id)) is not None  # the alert stays, without the author's evidence
        left = s.scalars(select(AlertEvidenceRow).where(
            (AlertEvidenceRow.author_id == victim_author) | (AlertEvidenceRow.mention_id == victim_mention))).all()
        assert left == []

    assert _rollups(engine) == _recount(engine)
    assert list_links(engine) == []
    # nothing of the author anywhere: scan every text-like column of every table
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            if table == "alembic_version":
                continue
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                values = {v.lower() for cell in row for v in _strings(cell)}
                assert victim not in values and f"x:{victim}" not in values, table
                assert not values & {t.lower() for t in victim_texts}, table
    with session_scope(engine) as s:  # the others are untouched
        assert s.scalar(select(MentionRow.id).where(MentionRow.id == others)) == others


def test_forget_unknown_author_and_bad_spec(engine: Engine) -> None:
    with pytest.raises(InputError, match="no author"):
        forget_author(engine, "x", "nobody")
    with pytest.raises(InputError, match="PLATFORM:HANDLE"):
        parse_author("jane")
