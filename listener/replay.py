"""Replay collector: replays a recorded stream of mentions (the file format of listener.mention_file, the same as
`brandpulse import` reads), paced by `speed`; a bad row is logged with its line number and skipped."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from brandpulse.errors import BadRowError
from brandpulse.types import Cursor, Deletion, Mention
from listener.mention_file import read_mentions

log = logging.getLogger(__name__)


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
