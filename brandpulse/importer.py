"""`brandpulse import FILE`: bulk-load mentions in the replay format, reporting bad rows by line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from brandpulse.errors import BadRowError
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import insert_mentions_in
from brandpulse.types import Mention
from listener.dedup import StoreDeduper
from listener.replay import read_mentions


@dataclass
class ImportResult:
    new: int = 0
    duplicates: int = 0
    bad_rows: list[BadRowError] = field(default_factory=list)


def import_file(
    engine: Engine, path: Path, *, batch_size: int = 2000, on_progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Store every good row (in batches), collect every bad one; `on_progress` gets approximate bytes read."""
    result = ImportResult()
    batch: list[Mention] = []
    total = max(path.stat().st_size, 1) if path.is_file() else 1
    seen_lines = 0
    last_line = 1

    deduper = StoreDeduper(engine)

    def flush() -> None:
        with session_scope(engine) as s:
            res = insert_mentions_in(s, batch)
            deduper.assign(s, res.new_ids, batch)
        result.new += res.new
        result.duplicates += res.duplicates
        batch.clear()
        if on_progress:
            # bytes are not tracked by the csv reader; estimate from the share of lines read
            on_progress(min(total, int(total * seen_lines / max(last_line, 1))))

    for line, item in read_mentions(path):
        seen_lines = last_line = line
        if isinstance(item, BadRowError):
            result.bad_rows.append(item)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    if on_progress:
        on_progress(total)
    return result
