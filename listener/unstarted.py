"""A configured source that could not start: a missing credential, a refused or unreachable login.

That is the source's own health problem, never the others': `brandpulse collect` reports it and collects the rest,
and `brandpulse run` records it in the source's health and tries to start it again with backoff
(`listener.runner.follow`). Bad options are different: they are a `ConfigError`, reported before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from brandpulse.errors import BrandpulseError, CredentialsError, SourceError
from brandpulse.types import Cursor, Deletion, Mention
from listener.base import Collector

#: The failures that make a source unstarted instead of stopping the command.
START_ERRORS: tuple[type[BrandpulseError], ...] = (CredentialsError, SourceError)


class UnstartedSource:
    """Stands in for a source's collectors until `start()` builds them; `fetch` raises why it could not."""

    name: ClassVar[str] = "unstarted"
    key = "default"

    def __init__(self, error: BrandpulseError, start: Callable[[], list[Collector]]) -> None:
        self.error = error
        self._start = start

    @classmethod
    def of(cls, source: str, error: BrandpulseError, start: Callable[[], list[Collector]]) -> UnstartedSource:
        """An unstarted `source` (its own subclass, so `name` is the source's as for every collector)."""
        named = type(f"Unstarted[{source}]", (cls,), {"name": source})
        return named(error, start)

    def start(self) -> list[Collector]:
        """Build the source's collectors now; raises (and remembers) the error when it still cannot start."""
        try:
            return self._start()
        except START_ERRORS as exc:
            self.error = exc
            raise

    def fetch(self, since: Cursor | None) -> Iterator[Mention | Deletion]:
        raise self.error
        yield  # pragma: no cover - makes this a generator like every collector's fetch

    def cursor(self) -> Cursor | None:
        return None

    def health(self) -> dict[str, Any]:
        return {"started": False}
