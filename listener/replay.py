"""Replay collector and the mention file format shared with `brandpulse import`.

Format (CSV with a header, or JSONL with one object per line): required `id`, `created_at`
(ISO-8601, UTC assumed when no offset is given, or epoch seconds), `author`, `text`, `brand`;
optional `platform` (default "replay"), `lang`, `url`, `followers`, `likes`, `reposts`, `replies`.
Other columns are ignored (kept in `raw`). A bad row is reported with its line number and skipped.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from brandpulse.errors import BadRowError, InputFileError, MalformedItemError
from brandpulse.types import AuthorRef, Cursor, Deletion, Engagement, Mention

log = logging.getLogger(__name__)

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


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | BadRowError]]:
    """(line number, row dict or the error for that line) for a .csv or .jsonl/.ndjson file."""
    if not path.is_file():
        raise InputFileError(f"{path} does not exist or is not a file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson", ".json"):
            yield from _read_jsonl(path)
        elif suffix in (".csv", ".tsv", ".txt"):
            yield from _read_csv(path, "\t" if suffix == ".tsv" else ",")
        else:
            raise InputFileError(f"{path}: unknown file type {suffix!r}")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any] | BadRowError]]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield lineno, BadRowError(lineno, "not valid UTF-8")
                continue
            except json.JSONDecodeError as exc:
                yield lineno, BadRowError(lineno, f"not valid JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                yield lineno, BadRowError(lineno, "each line must be a JSON object")
                continue
            yield lineno, obj


def _read_csv(path: Path, delimiter: str) -> Iterator[tuple[int, dict[str, Any] | BadRowError]]:
    with path.open(encoding="utf-8", newline="", errors="strict") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = [h.strip().lstrip("\ufeff").lower() for h in next(reader)]
        except StopIteration:
            raise InputFileError(f"{path} is empty") from None
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
                continue
            line = start
            start = reader.line_num + 1
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                yield line, BadRowError(line, f"has {len(values)} fields, the header has {len(header)}")
                continue
            yield line, dict(zip(header, values, strict=True))


def read_mentions(path: Path) -> Iterator[tuple[int, Mention | BadRowError]]:
    for line, row in read_rows(path):
        if isinstance(row, BadRowError):
            yield line, row
            continue
        try:
            yield line, row_to_mention(row, line)
        except BadRowError as exc:
            yield line, exc


class ReplayOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    #: 0 = as fast as possible; N = N× real time (gaps between created_at shrunk N times).
    speed: float = Field(0.0, ge=0.0)
    #: Only rows of these brands (default: every configured brand, or all rows if none is configured).
    brands: list[str] | None = None


@dataclass
class ReplayCollector:
    """Replays a recorded stream of mentions; cursor = rows consumed, so a restart continues."""

    name: ClassVar[str] = "replay"

    path: Path
    speed: float = 0.0
    brands: set[str] | None = None
    key: str | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.key = self.key or self.path.name
        self._rows_done = 0
        self._last_ts: datetime | None = None
        self.bad_rows: list[BadRowError] = []

    @classmethod
    def from_config(cls, source_cfg: dict[str, Any], settings: Any) -> list[ReplayCollector]:
        from listener.collector import parse_options

        opts = parse_options(ReplayOptions, cls.name, source_cfg, name_unknown_keys=False)
        brands = set(opts.brands) if opts.brands else ({b.name for b in settings.brands} or None)
        return [cls(path=settings.resolve_path(opts.path), speed=opts.speed, brands=brands)]

    def fetch(self, since: Cursor | None) -> Iterator[Mention | Deletion]:
        skip = int(since.position) if since and since.position.isdigit() else 0
        self._rows_done = skip
        index = 0
        for _line, item in read_mentions(self.path):
            index += 1
            if index <= skip:
                continue
            if isinstance(item, BadRowError):
                log.warning("replay %s: skipped %s", self.path.name, item)
                self.bad_rows.append(item)
                self._rows_done = index
                continue
            self._pace(item.created_at)
            self._rows_done = index
            if self.brands is not None and item.brand not in self.brands:
                continue
            yield item

    def _pace(self, ts: datetime) -> None:
        if self.speed > 0 and self._last_ts is not None:
            gap = (ts - self._last_ts).total_seconds() / self.speed
            if gap > 0:
                self.sleep(min(gap, 60.0))
        self._last_ts = ts

    def cursor(self) -> Cursor | None:
        if self._rows_done == 0:
            return None
        return Cursor(source=self.name, key=self.key or self.path.name, position=str(self._rows_done))

    def health(self) -> dict[str, Any]:
        return {"rate_limit_remaining": None, "rate_limit_reset": None, "last_error": None,
                "bad_rows": len(self.bad_rows)}
