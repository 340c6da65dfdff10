"""Helpers the collectors share (the collector base, `listener.collector`, builds on these).

Every collector module (``listener.x``, ``listener.reddit``, ``listener.mastodon``,
``listener.bluesky``, ``listener.rss``, ``listener.hackernews``) builds on these, so each of these
behaviours has one definition:

- ``brand_plans`` / ``BrandPlan``: each configured brand with its query (compiled per platform) and
  local matcher, and the ``brand``/``query``/``match``/``key`` arguments every collector takes;
- ``BrandTarget`` / ``link_matching``: a collector reading one stream or feed for all brands links each
  item to every brand whose query it matches (one post, one stored mention, several brands);
- ``health``: the standard ``health()`` keys (``rate_limit_remaining``, ``rate_limit_reset``,
  ``last_error``, ``gap_warning``) plus a collector's own;
- ``log_retry`` / ``describe``: how a retried failure is logged and described;
- ``backoff`` / ``rate_limit_wait`` / ``parse_retry_after``: how long to wait after a failure or a 429;
- ``html_to_text`` / ``parse_time``: text and time parsing shared by several platforms.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from tenacity import RetryCallState

from brandpulse.errors import MalformedItemError
from brandpulse.types import Mention
from listener.query.compiling import compile_for, compile_queries


# --------------------------------------------------------------------------- one collector per brand
@dataclass(frozen=True)
class BrandPlan:
    """One configured brand with its query (``listener.query.BrandQuery``)."""

    brand: Any  # brandpulse.config.BrandConfig
    spec: Any  # listener.query.BrandQuery

    @property
    def name(self) -> str:
        return self.brand.name

    @property
    def match(self) -> Callable[[Mention], bool]:
        """The local filter every collector applies to what the platform returns."""
        return self.spec.matches

    def compiled(self, platform: str) -> Any:
        """The brand's query in `platform`'s own search syntax (None where it has none)."""
        return compile_for(self.spec, platform)

    def searches(self, platform: str) -> list[str]:
        """The searches to run on `platform` whose union covers the brand's query (empty: none it can run)."""
        return list(compile_queries(self.spec, platform))

    def collector_args(self, query: str | None) -> dict[str, Any]:
        """The ``brand``/``query``/``match``/``key`` arguments of this brand's collector (cursor key = brand name)."""
        return {"brand": self.name, "query": query, "match": self.match, "key": self.name}


@dataclass(frozen=True)
class BrandTarget:
    """One brand served by a collector that reads a stream or feed once for all brands."""

    brand: str | None
    query: str | None = None
    match: Callable[[Mention], bool] | None = None


def link_matching(mention: Mention, targets: Sequence[BrandTarget]) -> bool:
    """Link `mention` to every target whose local filter it passes (the first one is the primary brand, whose
    query is kept); False when none does. A target without a brand (a collector built for tests) only filters."""
    matched = False
    for target in targets:
        if target.match is None or target.match(mention):
            if not matched and mention.brand is None:
                mention.query = target.query
            matched = True
            if target.brand:
                mention.link(target.brand)
    return matched


def brand_plans(settings: Any) -> Iterator[BrandPlan]:
    """Every configured brand, in order, with its query (built as each is reached)."""
    from listener.query import brand_query  # imported late: tests swap listener.query for a stub

    for brand in settings.brands:
        yield BrandPlan(brand, brand_query(brand))


# --------------------------------------------------------------------------- health
def health(
    *,
    remaining: int | None = None,
    reset: datetime | None = None,
    last_error: str | None = None,
    gap_warning: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A collector's ``health()``: the standard keys first, then the collector's own."""
    return {
        "rate_limit_remaining": remaining,
        "rate_limit_reset": reset,
        "last_error": last_error,
        "gap_warning": gap_warning,
        **extra,
    }


# --------------------------------------------------------------------------- retries
def describe(exc: BaseException) -> str:
    """An exception as ``Type: first line`` (at most 200 characters of it)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def log_retry(source: str, what: str, attempts: int, logger: logging.Logger) -> Callable[[RetryCallState], None]:
    """A tenacity ``before_sleep`` that logs ``<source> <what> failed (<error>); retry n of m``."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.warning(
            "%s %s failed (%s); retry %d of %d",
            source,
            what,
            describe(exc) if exc else "?",
            state.attempt_number,
            attempts - 1,
        )

    return before_sleep


# --------------------------------------------------------------------------- waits
def backoff(n: int, base: float, cap: float) -> float:
    """Exponential backoff before the `n`-th retry (n ≥ 1): `base`, 2×`base`, 4×`base`, … at most `cap`."""
    return min(base * 2 ** (n - 1), cap)


def rate_limit_wait(seconds: float | None, attempt: int, *, cap: float) -> float:
    """The wait after the `attempt`-th 429 in a row: what the server announced (at least 1 s), else 60 s doubling up to `cap`."""
    if seconds is None:
        return backoff(attempt, 60.0, cap)
    return max(1.0, seconds)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as delta-seconds or an HTTP date → seconds to wait (≥ 0), None if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# --------------------------------------------------------------------------- parsing
def parse_time(value: Any, nid: str | None, field: str = "created_at") -> datetime:
    """An ISO-8601 time (``Z`` allowed; no zone = UTC), or a datetime, as an aware datetime; MalformedItemError if not."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        raise MalformedItemError(nid, f"{field} is missing")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedItemError(nid, f"{field} {value[:40]!r} is not an ISO-8601 date") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "pre", "hr", "table", "section", "article"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(value: str | None) -> str:
    """HTML (or plain text with entities) → plain text: tags dropped, entities decoded, blank runs collapsed.

    One line per block, no blank lines, runs of spaces folded (feed summaries, Hacker News items).
    Mastodon statuses keep their paragraphs and spacing instead: ``listener.mastodon.html_to_text``.
    """
    if not isinstance(value, str) or not value:  # a payload field of another type holds no text
        return ""
    if "<" not in value and "&" not in value:
        text = value
    else:
        parser = _TextExtractor()
        parser.feed(value)
        parser.close()
        text = html.unescape("".join(parser.parts))
    text = text.replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line).strip()
