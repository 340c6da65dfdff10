"""The collector interface and its registry (entry-point group `brandpulse.collectors`).

A collector turns one platform's items into `Mention`s. It is built with its client
injected (tweepy.Client, praw.Reddit, an httpx.Client, a file path, …) so tests pass a
recorded or fake one, and it never touches the store: the runner (`listener.runner`)
persists what it yields and then its cursor, so a crash repeats at most one batch and
the (platform, native id) dedup makes the repeat harmless.

The registry (entry points, secrets of every collector) is `listener.registry`.

Contract:
- `fetch(since)` yields `Mention`s (and `Deletion`s where the platform reports deletes),
  oldest first where the platform allows it, starting after `since` (None = from the start
  or the platform's default look-back window).
- `cursor()` returns the position after the last item yielded so far (None if nothing yet);
  the runner saves it after the items before it are committed.
- `health()` returns what the source knows about its limits (e.g. remaining requests).
- a malformed item is logged with its id and skipped (`MalformedItemError`), never raised out.
- `from_config(source_cfg, settings)` builds the collector with a real client from config +
  environment (secrets only from the environment / secrets file).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from brandpulse.types import Cursor, Deletion, Mention

if TYPE_CHECKING:
    from brandpulse.config import Settings

#: The entry-point group collectors register in (built-ins and plugins alike); see `listener.registry`.
ENTRY_POINT_GROUP = "brandpulse.collectors"


@runtime_checkable
class Collector(Protocol):
    name: ClassVar[str]

    def fetch(self, since: Cursor | None) -> Iterator[Mention | Deletion]: ...

    def cursor(self) -> Cursor | None: ...

    def health(self) -> dict[str, Any]: ...


class CollectorFactory(Protocol):
    name: ClassVar[str]

    @classmethod
    def from_config(cls, source_cfg: dict[str, Any], settings: Settings) -> list[Collector]: ...
