"""`brandpulse import FILE`: bulk-load mentions in the replay format, reporting bad rows by line.

Hostile files never stop an import: a row that cannot be decoded (bad UTF-8), parsed (nested past the
recursion limit, numbers out of range) or stored (a field longer than its column, a NUL character) is
reported with its line number and skipped; every good row is stored. If the store still refuses a batch,
its rows are retried one by one, so only the refused row is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from brandpulse.errors import BadRowError, StoreError
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import insert_mentions_in
from brandpulse.types import Mention
from listener.dedup import StoreDeduper
from listener.mention_file import read_rows, to_mention

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    new: int = 0
    duplicates: int = 0
    bad_rows: list[BadRowError] = field(default_factory=list)


_REFUSALS = (SQLAlchemyError, ValueError, OverflowError, TypeError, RecursionError)


def import_file(
    engine: Engine, path: Path, *, batch_size: int = 2000, on_progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Store every good row (in batches), collect every bad one; `on_progress` gets approximate bytes read."""
    result = ImportResult()
    batch: list[tuple[int, Mention]] = []
    total = max(path.stat().st_size, 1) if path.is_file() else 1
    seen_lines = 0
    last_line = 1

    deduper = StoreDeduper(engine)

    def store(items: list[tuple[int, Mention]]) -> None:
        mentions = [m for _, m in items]
        with session_scope(engine) as s:
            res = insert_mentions_in(s, mentions)
            deduper.assign(s, res.new_ids, mentions)
        result.new += res.new
        result.duplicates += res.duplicates

    def flush() -> None:
        try:
            store(batch)
        except StoreError:
            raise
        except _REFUSALS as exc:
            log.warning("the store refused a batch of %d rows (%s); storing them one by one", len(batch),
                        exc.__class__.__name__)
            for line, m in batch:
                try:
                    store([(line, m)])
                except StoreError:
                    raise
                except _REFUSALS as row_exc:
                    reason = str(getattr(row_exc, "orig", None) or row_exc).splitlines()[0][:200]
                    result.bad_rows.append(BadRowError(line, f"the store refused the row: {reason}"))
        batch.clear()
        if on_progress:
            # bytes are not tracked by the csv reader; estimate from the share of lines read
            on_progress(min(total, int(total * seen_lines / max(last_line, 1))))

    for line, row in read_rows(path):
        seen_lines = last_line = line
        item = row if isinstance(row, BadRowError) else to_mention(line, row)
        if isinstance(item, BadRowError):
            result.bad_rows.append(item)
            continue
        batch.append((line, item))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    result.bad_rows.sort(key=lambda b: b.line)
    if on_progress:
        on_progress(total)
    return result
