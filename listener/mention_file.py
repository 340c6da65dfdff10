"""The mention file format shared by the replay collector and `brandpulse import`, and its robust reader.

Format (CSV with a header, or JSONL with one object per line): required `id`, `created_at`
(ISO-8601, UTC assumed when no offset is given, or epoch seconds), `author`, `text`, `brand`;
optional `platform` (default "replay"), `lang`, `url`, `followers`, `likes`, `reposts`, `replies`.
Other columns are ignored (kept in `raw`). Each line is decoded and checked on its own: a bad row (bad UTF-8 or
JSON, a missing column, a number out of range, a field the store cannot hold) is reported with its line number and
skipped, and the rest of the file is read.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from brandpulse.errors import BadRowError, InputFileError, MalformedItemError
from brandpulse.types import AuthorRef, Engagement, Mention

REQUIRED = ("id", "created_at", "author", "text", "brand")
csv.field_size_limit(16 * 1024 * 1024)


def parse_timestamp(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    s = str(value).strip()
    if not s:
        raise ValueError("created_at is empty")
    if s.replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(s), tz=UTC)
    dt = datetime.fromisoformat(s)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _int(row: dict[str, Any], name: str) -> int | None:
    v = row.get(name)
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        n = int(float(v))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, got {str(v)[:40]!r}") from None
    if n < 0:
        raise ValueError(f"{name} must not be negative, got {n}")
    return n


def _str(row: dict[str, Any], name: str) -> str | None:
    v = row.get(name)
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def row_to_mention(row: dict[str, Any], line: int) -> Mention:
    """One file row → Mention, or BadRowError naming the line and the problem."""
    missing = [c for c in REQUIRED if _str(row, c) is None and not (c == "text" and isinstance(row.get(c), str))]
    if missing:
        raise BadRowError(line, f"missing required column(s): {', '.join(missing)}")
    try:
        created = parse_timestamp(row["created_at"])
    except (ValueError, OverflowError, OSError) as exc:
        raise BadRowError(line, f"created_at {str(row['created_at'])[:40]!r} is not a date ({exc})") from None
    try:
        followers = _int(row, "followers")
        eng = Engagement(_int(row, "likes") or 0, _int(row, "reposts") or 0, _int(row, "replies") or 0)
        return Mention(
            platform=(_str(row, "platform") or "replay").lower(),
            native_id=str(row["id"]).strip(),
            text=str(row["text"]),
            created_at=created,
            author=AuthorRef(handle=str(row["author"]).strip().lstrip("@"), followers=followers),
            url=_str(row, "url"),
            language=_str(row, "lang"),
            engagement=eng,
            brand=_str(row, "brand"),
            raw={k: v for k, v in row.items() if k not in REQUIRED and v not in (None, "")} or None,
        )
    except ValueError as exc:
        raise BadRowError(line, str(exc)) from None
    except MalformedItemError as exc:
        raise BadRowError(line, exc.reason) from None


#: Column limits of the store (brandpulse/store/schema.py): characters per field.
FIELD_LIMITS = {"platform": 32, "native_id": 255, "author": 255, "lang": 8, "brand": 255}
#: Engagement counts are INTEGER columns (32-bit on PostgreSQL); followers BIGINT.
MAX_COUNT = 2**31 - 1
MAX_FOLLOWERS = 2**63 - 1

Row = dict[str, Any] | BadRowError


# --------------------------------------------------------------------------- reading
def read_rows(path: Path) -> Iterator[tuple[int, Row]]:
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


def read_mentions(path: Path) -> Iterator[tuple[int, Mention | BadRowError]]:
    """(line number, a Mention the store can hold or the BadRowError saying why not) for every row of `path`."""
    for line, row in read_rows(path):
        yield line, row if isinstance(row, BadRowError) else to_mention(line, row)
