"""`brandpulse import FILE`: bulk-load mentions in the replay format, reporting bad rows by line.

Hostile files never stop an import: a row that cannot be decoded (bad UTF-8), parsed (nested past the
recursion limit, numbers out of range) or stored (a field longer than its column, a NUL character) is
reported with its line number and skipped; every good row is stored. If the store still refuses a batch,
its rows are retried one by one, so only the refused row is lost.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from brandpulse.errors import BadRowError, InputFileError, StoreError
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import insert_mentions_in
from brandpulse.types import Mention
from listener.dedup import StoreDeduper
from listener.replay import REQUIRED, row_to_mention

log = logging.getLogger(__name__)

#: Column limits of the store (brandpulse/store/schema.py): characters per field.
FIELD_LIMITS = {"platform": 32, "native_id": 255, "author": 255, "lang": 8, "brand": 255}
#: Engagement counts are INTEGER columns (32-bit on PostgreSQL); followers BIGINT.
MAX_COUNT = 2**31 - 1
MAX_FOLLOWERS = 2**63 - 1

Row = dict[str, Any] | BadRowError


@dataclass
class ImportResult:
    new: int = 0
    duplicates: int = 0
    bad_rows: list[BadRowError] = field(default_factory=list)


# --------------------------------------------------------------------------- reading
def read_import_rows(path: Path) -> Iterator[tuple[int, Row]]:
    """(line number, row dict or the error for that line) for a .csv/.tsv/.txt or .jsonl/.ndjson/.json file.

    Each line is decoded on its own, so a bad byte rejects only its row."""
    if not path.is_file():
        raise InputFileError(f"{path} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        yield from _read_jsonl(path)
    elif suffix in (".csv", ".tsv", ".txt"):
        yield from _read_csv(path, "\t" if suffix == ".tsv" else ",")
    else:
        raise InputFileError(f"{path}: unknown file type {suffix!r}")


def _read_jsonl(path: Path) -> Iterator[tuple[int, Row]]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield lineno, BadRowError(lineno, f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            except json.JSONDecodeError as exc:
                yield lineno, BadRowError(lineno, f"not valid JSON ({exc.msg})")
                continue
            except RecursionError:
                yield lineno, BadRowError(lineno, "JSON nested too deeply")
                continue
            if not isinstance(obj, dict):
                yield lineno, BadRowError(lineno, "each line must be a JSON object")
                continue
            yield lineno, obj


def _has_undecodable(value: str) -> bool:
    """True when `value` holds bytes that were not UTF-8 (decoded with surrogateescape)."""
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _read_csv(path: Path, delimiter: str) -> Iterator[tuple[int, Row]]:
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header_values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputFileError(f"{path}: the header line is broken CSV ({exc})") from None
        if any(_has_undecodable(h) for h in header_values):
            raise InputFileError(f"{path}: the header line is not UTF-8 text")
        header = [h.strip().lstrip("\ufeff").lower() for h in header_values]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InputFileError(f"{path}: header lacks column(s) {', '.join(missing)} (found: {', '.join(header)})")
        start = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, BadRowError(reader.line_num, f"broken CSV ({exc})")
                start = reader.line_num + 1
                continue
            line = start
            start = reader.line_num + 1
            if not values or all(not v.strip() for v in values):
                continue
            if any(_has_undecodable(v) for v in values):
                yield line, BadRowError(line, "not valid UTF-8")
                continue
            if len(values) != len(header):
                yield line, BadRowError(line, f"has {len(values)} fields, the header has {len(header)}")
                continue
            yield line, dict(zip(header, values, strict=True))


# --------------------------------------------------------------------------- checking
def _storable_text(name: str, value: str | None, limit: int | None) -> str | None:
    """Why `value` cannot go into its column, or None."""
    if value is None:
        return None
    if "\x00" in value:
        return f"{name} contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{name} is not valid UTF-8 text (lone surrogate)"
    if limit is not None and len(value) > limit:
        return f"{name} is {len(value)} characters long (the store holds at most {limit})"
    return None


def _raw_problem(value: Any, depth: int = 0) -> str | None:
    if depth > 50:
        return "an extra column is nested too deeply"
    if isinstance(value, str):
        return _storable_text("an extra column", value, None)
    if isinstance(value, float) and not math.isfinite(value):
        return f"an extra column holds {value}, which the store cannot keep"
    if isinstance(value, dict):
        for k, v in value.items():
            problem = _storable_text("an extra column name", str(k), None) or _raw_problem(v, depth + 1)
            if problem:
                return problem
    if isinstance(value, list):
        for v in value:
            problem = _raw_problem(v, depth + 1)
            if problem:
                return problem
    return None


def store_problem(m: Mention) -> str | None:
    """Why the store cannot hold `m` as is (column lengths, NUL characters, number ranges), or None."""
    checks: list[tuple[str, str | None, int | None]] = [
        ("platform", m.platform, FIELD_LIMITS["platform"]),
        ("id", m.native_id, FIELD_LIMITS["native_id"]),
        ("author", m.author.handle, FIELD_LIMITS["author"]),
        ("lang", m.language, FIELD_LIMITS["lang"]),
        ("brand", m.brand, FIELD_LIMITS["brand"]),
        ("url", m.url, None),
        ("text", m.text, None),
    ]
    for name, value, limit in checks:
        problem = _storable_text(name, value, limit)
        if problem:
            return problem
    for name in ("likes", "reposts", "replies"):
        n = getattr(m.engagement, name)
        if n > MAX_COUNT:
            return f"{name} {n} is out of range (at most {MAX_COUNT})"
    if m.author.followers is not None and m.author.followers > MAX_FOLLOWERS:
        return f"followers {m.author.followers} is out of range (at most {MAX_FOLLOWERS})"
    return _raw_problem(m.raw)


def to_mention(line: int, row: dict[str, Any]) -> Mention | BadRowError:
    """One row → a Mention the store can hold, or the BadRowError saying why not."""
    try:
        mention = row_to_mention(row, line)
    except BadRowError as exc:
        return exc
    except OverflowError:
        return BadRowError(line, "a number is out of range (infinite or too large)")
    except (ValueError, TypeError, RecursionError) as exc:
        return BadRowError(line, f"cannot read the row ({exc.__class__.__name__})")
    problem = store_problem(mention)
    return BadRowError(line, problem) if problem else mention


# --------------------------------------------------------------------------- storing
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

    for line, row in read_import_rows(path):
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
