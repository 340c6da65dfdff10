"""A whole platform in one module: the worked example of adding a collector (README "Extending").

The "tiny" platform serves an Algolia-style search response from a file (the test points it at a
real recorded Hacker News response, tests/fixtures/hackernews/search_by_date.json). Everything a
platform needs is here: its options model, its search dialect, its collector on `BaseCollector`
(plan, clock, retries, state and `from_config` come from the base). It is found through one entry
point in the ``brandpulse.collectors`` group, ``tiny = tests.plugin_example.tiny_collector:TinyCollector``;
no product file names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from brandpulse.errors import SourceError
from brandpulse.types import AuthorRef, Cursor, Mention
from listener.collector import BaseCollector, SourceOptions, Transient
from listener.common import html_to_text
from listener.query.compiling import Dialect, Lowering, conj_seqs, dnf, lower_positive_only
from listener.query.normal_form import NF


# --------------------------------------------------------------------------- search dialect
def _compile_tiny(nf: NF, low: Lowering) -> tuple[str | None, list[str]]:
    """Words only, AND-ed; one search per alternative."""
    conjs = dnf(lower_positive_only(nf, low, "Tiny"), low)
    searches = [" ".join(w for seq in conj_seqs(c) for _, w in seq.tokens) for c in conjs]
    return (searches[0] if len(searches) == 1 else None), searches


# --------------------------------------------------------------------------- the collector
class TinyOptions(SourceOptions):
    """``[sources.tiny]``: the recorded response to serve."""

    path: str


class TinyCollector(BaseCollector[TinyOptions]):
    """Hits of a recorded search response, oldest first; cursor = the newest ``created_at_i`` taken."""

    name: ClassVar[str] = "tiny"
    Options: ClassVar[type[SourceOptions]] = TinyOptions
    dialect: ClassVar[Dialect | None] = Dialect("tiny", _compile_tiny, explain_all=True)
    secret_env: ClassVar[tuple[str, ...]] = ("TINY_API_KEY_EXAMPLE",)

    def __init__(self, options: TinyOptions, **common: Any) -> None:
        super().__init__(options, **common)
        self._position: int | None = None

    def fetch(self, since: Cursor | None) -> Iterator[Mention]:
        floor = int(since.position) if since is not None else 0
        page = self.call_with_limits("search", self._read)
        for hit in sorted(page["hits"], key=lambda h: int(h["created_at_i"])):
            at = int(hit["created_at_i"])
            if at <= floor:
                continue
            self._position = at
            mention = Mention(
                platform=self.name,
                native_id=str(hit["objectID"]),
                text=html_to_text(hit.get("comment_text") or hit.get("title") or ""),
                created_at=datetime.fromtimestamp(at, UTC),
                author=AuthorRef(handle=str(hit["author"])),
                brand=self.brand,
                query=self.query,
                raw=hit,
            )
            if self.wanted(mention):
                yield mention

    def cursor(self) -> Cursor | None:
        return None if self._position is None else Cursor(self.name, self.key, str(self._position))

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(Path(self.options.path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise Transient(str(exc)) from None
        if not isinstance(data, dict) or not isinstance(data.get("hits"), list):
            raise SourceError("tiny: the response has no hits list")
        return data
