"""The collector interface and its registry (entry-point group `brandpulse.collectors`).

A collector turns one platform's items into `Mention`s. It is built with its client
injected (tweepy.Client, praw.Reddit, an httpx.Client, a file path, …) so tests pass a
recorded or fake one, and it never touches the store: the runner (`listener.runner`)
persists what it yields and then its cursor, so a crash repeats at most one batch and
the (platform, native id) dedup makes the repeat harmless.

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

import logging
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from brandpulse.errors import ConfigError
from brandpulse.types import Cursor, Deletion, Mention

if TYPE_CHECKING:
    from brandpulse.config import Settings

log = logging.getLogger(__name__)

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


def registry() -> dict[str, CollectorFactory]:
    """All collectors registered in the entry-point group, built-ins included."""
    found: dict[str, CollectorFactory] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            log.warning("collector plugin %s failed to load: %s", ep.name, exc)
    return found


def get_collector_class(name: str) -> CollectorFactory:
    reg = registry()
    if name not in reg:
        known = ", ".join(sorted(reg)) or "none"
        raise ConfigError(f"unknown source {name!r}; registered collectors: {known}")
    return reg[name]
