"""The SQLite bulk path for mentions: plain `executemany` on the DB-API connection of the open transaction.

SQLAlchemy's per-value type processing costs more than SQLite's own insert work, so on SQLite the hot statements
bypass it. What is left is mostly SQLite's own work (the mention row and its five index entries, the author upsert,
the commit), so the Python side keeps to one tuple per row and no extra round trips:

- the author id is looked up by the mention insert itself (a subquery on the ``(platform, handle)`` key, reusing
  the bound handle) instead of a separate ``SELECT … IN`` and a dict lookup per mention;
- the primary brand link of every new mention is one ``INSERT … SELECT`` from the rows just inserted; only
  mentions naming several brands bind their other links from Python;
- timestamps are formatted with ``isoformat`` (the same text as SQLAlchemy's ``YYYY-MM-DD HH:MM:SS.ffffff``,
  about three times cheaper than ``strftime``), once per mention, and reused for its author; JSON with one
  encoder made once (the same text as ``json.dumps``).

A multi-row ``VALUES`` insert (≤ 32,766 bound values per statement) was measured against ``executemany`` here:
no faster, since SQLite binds and steps each row either way; nor did a bigger page cache, later WAL checkpoints,
mmap or bigger pages change the CPU time. New row ids come from ``id > max(id) before the
insert``: SQLite has one writer at a time, and the author upsert before it already holds the write lock of this
transaction, so every such row is ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from brandpulse.types import Mention, utcnow

_UPSERT_AUTHOR = (
    "INSERT INTO authors (platform, handle, display_name, followers, crm_confirmed, first_seen, last_seen) "
    "VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (platform, handle) DO UPDATE SET "
    "display_name = coalesce(excluded.display_name, display_name), "
    "followers = coalesce(excluded.followers, followers), "
    "last_seen = max(excluded.last_seen, last_seen), first_seen = min(excluded.first_seen, first_seen)"
)
#: ?1 platform, ?4 handle: the author row the upsert above made sure of.
_INSERT_MENTION = (
    "INSERT INTO mentions (platform, native_id, url, author_id, author_handle, author_followers, text, lang, created_at, "
    "likes, reposts, replies, parent_id, brand, query, raw, ingested_at) "
    "VALUES (?1, ?2, ?3, (SELECT id FROM authors WHERE platform = ?1 AND handle = ?4), ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
    "?11, ?12, ?13, ?14, ?15, ?16) ON CONFLICT (platform, native_id) DO NOTHING"
)
_MAX_ID = "SELECT coalesce(max(id), 0) FROM mentions"
_NEW_IDS = "SELECT id, platform, native_id FROM mentions WHERE id > ?"
#: Every new mention's primary brand (`Mention.brands` starts with `Mention.brand`); nothing can conflict.
_LINK_PRIMARY = "INSERT INTO mention_brands (mention_id, brand) SELECT id, brand FROM mentions WHERE id > ? AND brand IS NOT NULL"
#: A new mention's other brands.
_LINK_NEW = "INSERT INTO mention_brands (mention_id, brand) VALUES (?, ?) ON CONFLICT (mention_id, brand) DO NOTHING"
#: A link to a mention stored before (a post another brand's collector found first); the row back when it is new.
_LINK_STORED = (
    "INSERT INTO mention_brands (mention_id, brand) SELECT id, ? FROM mentions WHERE platform = ? AND native_id = ? "
    "ON CONFLICT (mention_id, brand) DO NOTHING RETURNING mention_id, brand"
)


def _json_encoder() -> Callable[[Any], str]:
    """`json.dumps` with its default settings, without building an encoder per call: `JSONEncoder.encode` makes a
    new C encoder on every call, which costs about as much as encoding a small payload. The C encoder made once
    (the same arguments `JSONEncoder.iterencode` passes; no circular check: raw payloads are parsed JSON, which
    cannot be circular) is used only when it writes exactly what `json.dumps` writes; else `JSONEncoder.encode`."""
    import json.encoder as std

    public = json.JSONEncoder(check_circular=False)
    fallback = public.encode
    make = getattr(std, "c_make_encoder", None)
    if make is None:
        return fallback
    try:
        c_encode = make(None, public.default, std.encode_basestring_ascii, None, ": ", ", ", False, False, True)

        def encode(o: Any) -> str:
            return "".join(c_encode(o, 0)) if isinstance(o, dict) else fallback(o)

        probe = {"id": "1", "text": "ünïcode ✓ \u0000 \"q\"", "n": [1, 2.5, -0.0, None, True], "d": {"x": {}}}
        if encode(probe) == json.dumps(probe) and encode(None) == "null":
            return encode
    except Exception:  # another Python's private encoder API: keep the public one
        pass
    return fallback


_dumps = _json_encoder()


def _ts(value: datetime) -> str:
    """A UTC-aware datetime as SQLAlchemy's SQLite DateTime stores it: naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # drop the "+00:00"


def insert_mentions(dbapi_conn: Any, batch: Sequence[Mention]) -> tuple[dict[tuple[str, str], int], list[tuple[int, str]]]:
    """Upsert the batch's authors, insert its mentions (duplicates ignored), link each to its brands.

    `batch` holds each (platform, native id) once. Returns the new mentions' ids, and the links this batch added to
    mentions stored before (a post another brand's collector found first): their scores must be counted for those
    brands too.
    """
    rows = []
    #: (platform, handle) → the upsert's row: profile of the newest mention, first and last seen in the batch
    authors: dict[tuple[str, str], tuple[str, str, str | None, int | None, str, str]] = {}
    ts, dumps, now = _ts, _dumps, _ts(utcnow())
    for m in batch:
        t = ts(m.created_at)
        a, e = m.author, m.engagement
        rows.append((m.platform, m.native_id, m.url, a.handle, a.followers, m.text, m.language, t, e.likes, e.reposts,
                     e.replies, m.parent_id, m.brand, m.query, dumps(m.raw), now))
        k = (m.platform, a.handle)
        seen = authors.get(k)
        if seen is None:
            authors[k] = (m.platform, a.handle, a.display_name, a.followers, t, t)
        elif t >= seen[5]:  # the author's newest mention carries the freshest profile (as `latest_by_author`)
            authors[k] = (m.platform, a.handle, a.display_name, a.followers, min(seen[4], t), t)
        elif t < seen[4]:
            authors[k] = (*seen[:4], t, seen[5])
    cur = dbapi_conn.cursor()
    try:
        cur.executemany(_UPSERT_AUTHOR, list(authors.values()))
        before = cur.execute(_MAX_ID).fetchone()[0]
        cur.executemany(_INSERT_MENTION, rows)
        inserted = cur.rowcount
        after = cur.execute(_MAX_ID).fetchone()[0]
        if inserted == len(batch) and after - before == inserted:
            # every row was new and took the next id in turn (SQLite gives a new row max(id) + 1): no need to read
            # the ids back
            new_ids = {(m.platform, m.native_id): i for i, m in enumerate(batch, start=before + 1)}
        else:
            new_ids = {(platform, native_id): row_id for row_id, platform, native_id in cur.execute(_NEW_IDS, (before,))}
        if new_ids:
            cur.execute(_LINK_PRIMARY, (before,))
        others = [(new_ids[m.key], b) for m in batch if (len(m.brands) > 1 or m.brand not in m.brands)
                  and m.key in new_ids for b in m.brands if b != m.brand]
        if others:
            cur.executemany(_LINK_NEW, others)
        relinked: list[tuple[int, str]] = []
        for m in batch if len(new_ids) < len(batch) else ():
            if m.key not in new_ids:
                for b in m.brands:
                    relinked.extend((int(i), str(br)) for i, br in cur.execute(_LINK_STORED, (b, m.platform, m.native_id)))
        return new_ids, relinked
    finally:
        cur.close()
