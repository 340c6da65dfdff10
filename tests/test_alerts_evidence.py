"""Alert evidence is kept as ids and rendered from the store at read time; the alert pass's
position lives in the cursors table; migration 0003 converts alerts stored the old way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, text

from alerts.check import check_alerts, check_and_record
from alerts.evidence import alert_views
from brandpulse.config import AlertRuleConfig
from brandpulse.store.alerts import alert_position
from brandpulse.store.cursors import last_run_counts, load_cursor
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import delete_mentions_in, insert_mentions_in
from brandpulse.store.schema import AlertRow, AuthorRow
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import Mention, SentimentScore
from listener.dedup import StoreDeduper
from tests.conftest import make_mention

T0 = datetime(2026, 11, 2, tzinfo=UTC)
EPISODE = 75


def _seed(engine: Engine) -> None:
    """80 hours of a calm brand, then one hour of 12 identical complaints from 9 accounts (a campaign)."""
    ms: list[Mention] = []
    for h in range(80):
        for k in range(12 if h == EPISODE else 4):
            i = len(ms)
            neg = h == EPISODE or k == 0
            body = "nimbus outage again, refund now!!" if h == EPISODE else ("nimbus meh" if neg else "nimbus is great")
            ms.append(make_mention(i, hours=h + k / 60, text=body, author=f"a{i % 9}", followers=10 * (i % 50)))
    with session_scope(engine) as s:
        res = insert_mentions_in(s, ms)
        StoreDeduper(engine).assign(s, res.new_ids, ms)
    scored = []
    for p in pending_mentions(engine, "m", "r", 10_000):
        label = "negative" if ("outage" in p.text or "meh" in p.text) else "positive"
        scored.append((p.id, SentimentScore(label, {"negative": 0.05, "neutral": 0.05, "positive": 0.05, label: 0.9},
                                            0.9, {}, "m", "r")))
    save_scores(engine, scored)


def test_the_alert_row_holds_no_post_text_and_the_evidence_is_read_from_the_store(engine: Engine) -> None:
    _seed(engine)
    assert check_alerts(engine, "m@r", AlertRuleConfig()).new == 1
    with session_scope(engine) as s:
        (row,) = s.scalars(select(AlertRow))
        stored = json.dumps(row.evidence)
    assert "outage again" not in stored and "@a" not in stored and "a1" not in stored
    (view,) = alert_views(engine)
    ev = view.evidence
    assert len(ev["top_posts"]) == 5 and all(p["text"] == "nimbus outage again, refund now!!" for p in ev["top_posts"])
    assert {a["author_handle"] for a in ev["top_authors"]} <= {f"a{i}" for i in range(9)}
    assert [(c["posts"], c["authors"]) for c in ev["campaigns"]] == [(12, 9)]
    assert "campaign of 12 near-identical posts by 9 accounts" in ev["why"]
    assert "12 negative of 12" in ev["why"]


def test_a_forgotten_author_and_a_deleted_post_drop_out_of_the_evidence(engine: Engine) -> None:
    _seed(engine)
    check_alerts(engine, "m@r", AlertRuleConfig())
    (before,) = alert_views(engine)
    first = before.evidence["top_posts"][0]
    victim = first["author_handle"]
    with session_scope(engine) as s:  # forgetting an author removes their author row (mentions cascade)
        s.execute(delete(AuthorRow).where(AuthorRow.handle == victim))
    (after,) = alert_views(engine)
    assert victim not in {p["author_handle"] for p in after.evidence["top_posts"]}
    assert victim not in {a["author_handle"] for a in after.evidence["top_authors"]}
    assert after.evidence["top_posts"] and after.evidence["campaigns"][0]["authors"] == 8
    other = after.evidence["top_posts"][0]
    with session_scope(engine) as s:
        delete_mentions_in(s, [(other["platform"], s.scalar(text("SELECT native_id FROM mentions WHERE id = :i"),
                                                             {"i": other["id"]}))])
    (last,) = alert_views(engine)
    assert other["id"] not in {p["id"] for p in last.evidence["top_posts"]}


def test_the_pass_position_is_a_cursor_and_the_next_pass_resumes_from_it(engine: Engine) -> None:
    _seed(engine)
    res = check_and_record(engine, "m@r", AlertRuleConfig())
    assert res.new == 1 and res.evaluated_from == T0  # the first pass evaluates every changed hour
    assert alert_position(engine) == T0 + timedelta(hours=80)
    assert load_cursor(engine, "alerts", "check") is not None
    assert "evaluated_until" not in (last_run_counts(engine, "alerts") or {})
    again = check_and_record(engine, "m@r", AlertRuleConfig())
    assert again.evaluated_from is None  # nothing changed since: nothing to evaluate
    assert (again.new, again.updated) == (0, 0)
    assert alert_position(engine) == T0 + timedelta(hours=80)


def test_migration_0003_converts_stored_alerts_and_moves_the_position(db_url: str) -> None:
    from brandpulse.store.engine import make_engine
    from brandpulse.store.migrate import upgrade

    eng = make_engine(db_url)
    upgrade(eng, "0001")
    now = datetime(2026, 11, 9, tzinfo=UTC).replace(tzinfo=None)
    with eng.begin() as c:
        c.execute(text("INSERT INTO authors (id, platform, handle, crm_confirmed) VALUES (1, 'x', 'critic', false)"))
        c.execute(text("INSERT INTO mentions (id, platform, native_id, author_id, author_handle, text, created_at, likes,"
                       " reposts, replies, brand, ingested_at) VALUES (7, 'x', 'n7', 1, 'critic', 'nimbus is down', :t,"
                       " 0, 0, 0, 'Nimbus', :t)"), {"t": now})
        old = {"top_posts": [{"id": 7, "text": "nimbus is down", "author_handle": "critic"},
                             {"id": 99, "text": "deleted since", "author_handle": "gone"}],
               "top_authors": [{"platform": "x", "author_handle": "critic", "negative_posts": 3}],
               "campaigns": [{"group": 4, "posts": 5, "authors": 3, "text": "copy paste"}],
               "top_terms": ["down"], "model": "m@r", "why": "5 negative of 6 mentions"}
        c.execute(text("INSERT INTO alerts (id, brand, rule, window_start, window_end, severity, metrics, evidence, state,"
                       " created_at, updated_at) VALUES (1, 'Nimbus', 'negativity_spike', :t, :t, 'high', '{}', :ev,"
                       " 'open', :t, :t)"), {"t": now, "ev": json.dumps(old)})
        c.execute(text("INSERT INTO runs (role, started_at, status, counts) VALUES ('alerts', :t, 'ok', :c)"),
                  {"t": now, "c": json.dumps({"new": 1, "evaluated_until": "2026-11-09T00:00:00+00:00"})})
    upgrade(eng)
    with eng.connect() as c:
        ev = c.execute(text("SELECT evidence FROM alerts")).scalar()
        rows = c.execute(text("SELECT kind, mention_id, author_id, dup_group, count FROM alert_evidence"
                              " ORDER BY kind")).all()
    ev = json.loads(ev) if isinstance(ev, str) else ev
    assert ev == {"model": "m@r", "top_terms": ["down"], "why": "5 negative of 6 mentions"}
    assert [tuple(r) for r in rows] == [("author", None, 1, None, 3), ("campaign", None, None, 4, None),
                                        ("post", 7, None, None, None)]
    assert alert_position(eng) == datetime(2026, 11, 9, tzinfo=UTC)
    eng.dispose()
