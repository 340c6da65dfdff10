"""`brandpulse bench ingest`: the bulk store path against a naive ORM add-and-commit-per-row loop.

Both ways store the same kind of mentions (texts, authors and platforms from the bundled demo stream, fresh ids)
into a fresh store of the configured backend, measured in the same run. The bulk path is what collectors and
`brandpulse import` use: `insert_mentions` per batch (authors upserted, mentions inserted `ON CONFLICT DO NOTHING`
and linked to their brands with a few set-wise statements, one transaction per batch). The wall-clock rate is the
figure; the bulk path's process CPU time is reported beside it, as the machine may be shared.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from brandpulse.store.mentions import count_mentions, insert_mentions
from brandpulse.store.schema import AuthorRow, MentionRow
from brandpulse.types import AuthorRef, Engagement, Mention, utcnow

DEMO_STREAM = Path(__file__).resolve().parent.parent / "demo_data" / "stream.csv"
START = datetime(2026, 11, 2, tzinfo=UTC)


@dataclass(frozen=True)
class IngestResult:
    backend: str
    count: int
    batch_size: int
    bulk_rate: float
    naive_count: int
    naive_rate: float
    #: CPU seconds this process spent on the bulk path (all of SQLite's work; PostgreSQL's server side not included):
    #: on a shared machine, `count / bulk_cpu_s` shows what the path costs when the wall-clock rate is noisy.
    bulk_cpu_s: float = 0.0

    @property
    def ratio(self) -> float:
        return self.bulk_rate / max(self.naive_rate, 1e-9)

    def as_dict(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "count": self.count,
            "batch_size": self.batch_size,
            "rate": round(self.bulk_rate, 1),
            "naive_count": self.naive_count,
            "naive_rate": round(self.naive_rate, 1),
            "ratio": round(self.ratio, 2),
            "bulk_cpu_s": round(self.bulk_cpu_s, 3),
        }


def generate_mentions(n: int, *, offset: int = 0) -> list[Mention]:
    """n realistic mentions: demo-stream texts, authors, platforms and languages, unique ids, spread over days."""
    with DEMO_STREAM.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for i in range(offset, offset + n):
        r = rows[i % len(rows)]
        out.append(
            Mention(
                platform=r["platform"],
                native_id=f"bench-{i}",
                text=r["text"],
                created_at=START + timedelta(seconds=17 * i),
                author=AuthorRef(f"{r['author']}{i % 997}", followers=int(r["followers"] or 0)),
                url=r["url"] or None,
                language=r["lang"] or None,
                engagement=Engagement(int(r["likes"] or 0), int(r["reposts"] or 0), int(r["replies"] or 0)),
                brand=r["brand"],
                raw={"id": f"bench-{i}", "text": r["text"]},
            )
        )
    return out


def store_naively(engine: Engine, mentions: list[Mention]) -> None:
    """The naive way: look the author up, add the row through the ORM and commit, one mention at a time."""
    for m in mentions:
        with Session(engine) as s:
            author = s.scalar(select(AuthorRow).where(AuthorRow.platform == m.platform, AuthorRow.handle == m.author.handle))
            if author is None:
                author = AuthorRow(platform=m.platform, handle=m.author.handle, followers=m.author.followers,
                                   crm_confirmed=False, first_seen=m.created_at, last_seen=m.created_at)
                s.add(author)
                s.flush()
            if s.scalar(select(MentionRow.id).where(MentionRow.platform == m.platform, MentionRow.native_id == m.native_id)):
                continue
            s.add(MentionRow(platform=m.platform, native_id=m.native_id, url=m.url, author_id=author.id,
                             author_handle=m.author.handle, author_followers=m.author.followers, text=m.text,
                             lang=m.language, created_at=m.created_at, likes=m.engagement.likes,
                             reposts=m.engagement.reposts, replies=m.engagement.replies, brand=m.brand, raw=m.raw,
                             ingested_at=utcnow()))
            s.commit()


def store_in_bulk(engine: Engine, mentions: list[Mention], batch_size: int) -> None:
    for i in range(0, len(mentions), batch_size):
        insert_mentions(engine, mentions[i : i + batch_size])


def _timed(fn: Callable[[], None]) -> tuple[float, float]:
    """Wall-clock and process CPU seconds of `fn()`."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def run_ingest_bench(
    make_store: Callable[[], Engine],
    *,
    count: int = 50_000,
    naive_count: int = 2_000,
    batch_size: int = 2_000,
    progress: Callable[[str], None] = lambda _msg: None,
) -> IngestResult:
    """Measure both ways, each on a fresh store from `make_store()`; checks that every mention was stored."""
    bulk = generate_mentions(count)
    naive = generate_mentions(naive_count, offset=count)
    engine = make_store()
    progress(f"bulk path: {count:,} mentions in batches of {batch_size:,}")
    bulk_s, bulk_cpu_s = _timed(lambda: store_in_bulk(engine, bulk, batch_size))
    stored = count_mentions(engine)
    engine.dispose()
    if stored != count:
        raise RuntimeError(f"bulk path stored {stored} of {count} mentions")
    engine = make_store()
    progress(f"naive path: {naive_count:,} mentions one at a time")
    naive_s, _ = _timed(lambda: store_naively(engine, naive))
    stored_naive = count_mentions(engine)
    backend = engine.dialect.name
    engine.dispose()
    if stored_naive != naive_count:
        raise RuntimeError(f"naive path stored {stored_naive} of {naive_count} mentions")
    return IngestResult(backend, count, batch_size, count / bulk_s, naive_count, naive_count / naive_s, bulk_cpu_s)
