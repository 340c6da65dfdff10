"""SQL injection with hostile posts (SQLite and PostgreSQL): text, brand and handle that look like SQL are stored and
read back intact through every write path (bulk insert, import, query functions), and every table is still there.
(CSV/XLSX formulas: tests/test_advocates_export.py; Slack mrkdwn: tests/test_delivery_escape.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, inspect, select

from brandpulse.importer import import_file
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import delete_mentions_in, insert_mentions
from brandpulse.store.schema import AuthorRow, MentionRow
from tests.conftest import make_mention

EVIL = ["'); DROP TABLE mentions;--", "x' OR '1'='1", "\"; DELETE FROM authors; --", "Robert'); DROP TABLE scores;--",
        "1; UPDATE mentions SET text='pwned'", "%' AND 1=0 UNION SELECT * FROM authors --"]


def test_sql_in_text_brand_and_handle_is_stored_intact(engine: Engine, tmp_path: Path) -> None:
    tables = set(inspect(engine).get_table_names())
    ms = [make_mention(i, text=e, brand=e[:255], author=e) for i, e in enumerate(EVIL)]
    insert_mentions(engine, ms)
    path = tmp_path / "evil.jsonl"
    path.write_text("".join(json.dumps({"id": f"imp{i}", "created_at": "2026-11-02T10:00:00Z", "author": e, "text": e,
                                        "brand": e}) + "\n" for i, e in enumerate(EVIL)), encoding="utf-8")
    res = import_file(engine, path)
    assert res.new == len(EVIL) and res.bad_rows == []
    assert set(inspect(engine).get_table_names()) == tables
    with session_scope(engine) as s:
        rows = list(s.execute(select(MentionRow.native_id, MentionRow.text, MentionRow.brand, MentionRow.author_handle)))
        handles = set(s.scalars(select(AuthorRow.handle)))
    assert len(rows) == 2 * len(EVIL)
    for r in rows:
        i = int(r.native_id.removeprefix("imp"))
        assert (r.text, r.brand, r.author_handle) == (EVIL[i], EVIL[i], EVIL[i])
    assert set(EVIL) <= handles
    with session_scope(engine) as s:  # keys with SQL in them delete only what they name
        assert delete_mentions_in(s, [("x", EVIL[1]), ("x", "0' OR '1'='1")]) == 0
    with session_scope(engine) as s:
        assert len(list(s.scalars(select(MentionRow.id)))) == 2 * len(EVIL)
