"""Hacker News collector through the public Algolia HN Search API (https://hn.algolia.com/api), with httpx.

`GET {base_url}/search_by_date?query=…&tags=(story,comment)&numericFilters=created_at_i>=LO,created_at_i<=HI
&hitsPerPage=…&page=…` — newest first. One request series per keyword query (from
`listener.query.compile_hn`); the hits of all queries are merged, deduplicated by objectID and yielded
oldest first. No key is needed; the API allows 10,000 requests per hour per IP and sends no
rate-limit headers, so a 429 is answered with exponential backoff (or Retry-After when present).

Algolia serves at most 1,000 hits per query (`paginationLimitedTo`): when `nbHits` exceeds what the
pages can reach, the `created_at_i` window is halved until every window fits.

Cursor position (JSON): `{"v": 1, "ts": <newest created_at_i handled>, "ids": [<objectIDs at that
exact second>]}`. The next fetch asks for `created_at_i >= ts` and drops the listed ids, so items
that share the boundary second are neither lost nor repeated.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from brandpulse.errors import ConfigError, MalformedItemError, RateLimitedError, SourceError
from brandpulse.types import AuthorRef, Cursor, Deletion, Engagement, Mention, utcnow
from listener.common import (
    backoff,
    brand_plans,
    health,
    html_to_text,
    parse_retry_after,
    retrying,
    validate_options,
)

if TYPE_CHECKING:
    from brandpulse.config import Settings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://hn.algolia.com/api/v1"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
#: Algolia's default `paginationLimitedTo` for the HN index.
ALGOLIA_MAX_HITS = 1000


class _Transient(Exception):
    """A retryable failure (5xx, connection error)."""


def _sort_key(hit: dict[str, Any]) -> tuple[int, int, str]:
    oid = str(hit.get("objectID"))
    return (int(hit["created_at_i"]), int(oid) if oid.isdigit() else 0, oid)


def _valid_ts(hit: dict[str, Any]) -> bool:
    ts = hit.get("created_at_i")
    return isinstance(ts, int) and not isinstance(ts, bool) and 0 < ts < 32_503_680_000


class HNOptions(BaseModel):
    """[sources.hackernews] options."""

    model_config = ConfigDict(extra="forbid")
    base_url: str = DEFAULT_BASE_URL
    tags: str = "(story,comment)"
    hits_per_page: int = Field(100, ge=1, le=1000)
    lookback_hours: float = Field(168.0, gt=0)
    timeout_s: float = Field(30.0, gt=0)
    max_retries: int = Field(5, ge=1, le=20)
    user_agent: str = "brandpulse/0.1 (+https://github.com/brandpulse)"


class HackerNewsCollector:
    """Stories and comments mentioning a brand, from the Algolia HN Search API."""

    name: ClassVar[str] = "hackernews"

    def __init__(
        self,
        client: httpx.Client,
        *,
        brand: str,
        queries: list[str] | None = None,
        query: str | None = None,
        match: Callable[[Mention], bool] | None = None,
        key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        tags: str = "(story,comment)",
        hits_per_page: int = 100,
        lookback: timedelta = timedelta(days=7),
        max_hits_per_query: int = ALGOLIA_MAX_HITS,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
        max_retries: int = 5,
        max_rate_limit_retries: int = 6,
        backoff_s: float = 1.0,
    ) -> None:
        self._client = client
        self.brand = brand
        self.queries = list(queries) if queries else ([query] if query else [])
        if not self.queries:
            raise ConfigError("hackernews: no search query for brand " + repr(brand))
        self.query = query
        self.match = match
        self.key = key or brand
        self.base_url = base_url.rstrip("/")
        self.tags = tags
        self.hits_per_page = hits_per_page
        self.lookback = lookback
        self.max_hits_per_query = max_hits_per_query
        self._sleep = sleep
        self._now = now
        self.max_retries = max_retries
        self.max_rate_limit_retries = max_rate_limit_retries
        self.backoff_s = backoff_s
        self._ts: int | None = None
        self._ids: list[str] = []
        self._last_error: str | None = None
        self._rate_limit_reset: datetime | None = None
        self._gap_warning: str | None = None
        self.requests = 0
        self.skipped = 0

    def __repr__(self) -> str:
        return f"HackerNewsCollector(brand={self.brand!r}, queries={len(self.queries)})"

    # -- config --------------------------------------------------------------
    @classmethod
    def from_config(cls, source_cfg: dict[str, Any], settings: Settings) -> list[HackerNewsCollector]:
        opts = validate_options(HNOptions, "hackernews", source_cfg, name_unknown_keys=False)
        from listener.query import compile_hn

        collectors = []
        for plan in brand_plans(settings):
            queries = compile_hn(plan.spec)
            if not queries:
                log.warning("hackernews: brand %s has no query Hacker News can run; skipped", plan.name)
                continue
            client = httpx.Client(timeout=opts.timeout_s, headers={"User-Agent": opts.user_agent})
            collectors.append(cls(
                client, **plan.collector_args(None), queries=queries,
                base_url=opts.base_url, tags=opts.tags, hits_per_page=opts.hits_per_page,
                lookback=timedelta(hours=opts.lookback_hours), max_retries=opts.max_retries,
            ))
        return collectors

    # -- cursor --------------------------------------------------------------
    def _load(self, since: Cursor | None) -> None:
        self._ts, self._ids = None, []
        if since is None or not since.position:
            return
        try:
            data = json.loads(since.position)
            self._ts = int(data["ts"])
            self._ids = [str(i) for i in data.get("ids", [])]
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("hackernews %s: ignoring unreadable cursor (%s)", self.key, exc.__class__.__name__)
            self._ts, self._ids = None, []

    def cursor(self) -> Cursor | None:
        if self._ts is None:
            return None
        position = json.dumps({"v": 1, "ts": self._ts, "ids": self._ids}, separators=(",", ":"))
        return Cursor(source=self.name, key=self.key, position=position)

    def _advance(self, ts: int, oid: str) -> None:
        if self._ts is None or ts > self._ts:
            self._ts, self._ids = ts, [oid]
        elif ts == self._ts and oid not in self._ids:
            self._ids.append(oid)

    def health(self) -> dict[str, Any]:
        return health(reset=self._rate_limit_reset, last_error=self._last_error, gap_warning=self._gap_warning,
                      requests=self.requests, skipped_items=self.skipped)

    # -- fetching ------------------------------------------------------------
    def fetch(self, since: Cursor | None) -> Iterator[Mention | Deletion]:
        self._load(since)
        now_ts = int(self._now().timestamp())
        lo = self._ts if self._ts is not None else int((self._now() - self.lookback).timestamp())
        boundary = (self._ts, set(self._ids))
        found: dict[str, tuple[dict[str, Any], str]] = {}
        for q in self.queries:
            for hit in self._search(q, lo, now_ts):
                oid = hit.get("objectID")
                key = str(oid) if oid not in (None, "") else f"<no id #{len(found)}>"
                found.setdefault(key, (hit, q))
        good: list[tuple[dict[str, Any], str]] = []
        for hit, q in found.values():
            if hit.get("objectID") in (None, ""):
                self._skip(None, "objectID is missing")
            elif not _valid_ts(hit):
                self._skip(hit.get("objectID"), "created_at_i is missing or not a Unix time")
            else:
                good.append((hit, q))
        good.sort(key=lambda pair: _sort_key(pair[0]))
        for hit, q in good:
            ts, oid = int(hit["created_at_i"]), str(hit["objectID"])
            if boundary[0] is not None and (ts < boundary[0] or (ts == boundary[0] and oid in boundary[1])):
                continue
            mention = self._mention(hit, q)
            self._advance(ts, oid)
            if mention is None or (self.match is not None and not self.match(mention)):
                continue
            yield mention

    def _skip(self, oid: Any, reason: str) -> None:
        self.skipped += 1
        log.warning("hackernews %s: skipping malformed item %s: %s", self.key, oid or "<no id>", reason)

    def _mention(self, hit: dict[str, Any], q: str) -> Mention | None:
        oid = str(hit["objectID"])
        try:
            return self._to_mention(hit, q)
        except MalformedItemError as exc:
            self._skip(exc.item_id or oid, exc.reason)
            return None

    def _to_mention(self, hit: dict[str, Any], q: str) -> Mention:
        oid = str(hit["objectID"])
        author = hit.get("author")
        if not isinstance(author, str) or not author:
            raise MalformedItemError(oid, "author is missing")
        tags = hit.get("_tags") or []
        if "comment" in tags or hit.get("comment_text"):
            text = html_to_text(hit.get("comment_text"))
        else:
            text = "\n".join(p for p in (html_to_text(hit.get("title")), html_to_text(hit.get("story_text"))) if p)
        if not text:
            raise MalformedItemError(oid, "no title, story_text or comment_text (deleted item?)")
        try:
            json.dumps(hit, ensure_ascii=False).encode("utf-8")
        except (UnicodeEncodeError, TypeError, ValueError):
            raise MalformedItemError(oid, "payload is not valid UTF-8") from None
        parent = hit.get("parent_id")
        return Mention(
            platform=self.name,
            native_id=oid,
            text=text,
            created_at=datetime.fromtimestamp(int(hit["created_at_i"]), tz=UTC),
            author=AuthorRef(handle=author),
            url=ITEM_URL.format(oid),
            engagement=Engagement(likes=_count(hit.get("points")), replies=_count(hit.get("num_comments"))),
            parent_id=str(parent) if parent not in (None, "") else None,
            brand=self.brand,
            query=q,
            raw=hit,
        )

    # -- search windows ------------------------------------------------------
    def _search(self, q: str, lo: int, hi: int) -> list[dict[str, Any]]:
        """Every hit with lo <= created_at_i <= hi, splitting the window while Algolia's cap hides hits."""
        first = self._request(q, lo, hi, 0)
        nb_hits = _count(first.get("nbHits"))
        nb_pages = _count(first.get("nbPages"))
        reachable = min(self.max_hits_per_query, nb_pages * self.hits_per_page)
        if nb_hits > reachable:
            if lo < hi:
                mid = (lo + hi) // 2
                return self._search(q, lo, mid) + self._search(q, mid + 1, hi)
            self._gap_warning = (f"{nb_hits} hits in the single second {lo} exceed Algolia's cap of "
                                 f"{reachable}; some are missing")
            log.warning("hackernews %s: %s", self.key, self._gap_warning)
        hits = list(first.get("hits") or [])
        for page in range(1, nb_pages):
            hits.extend(self._request(q, lo, hi, page).get("hits") or [])
        return [h for h in hits if isinstance(h, dict)]

    def _request(self, q: str, lo: int, hi: int, page: int) -> dict[str, Any]:
        params = {
            "query": q,
            "tags": self.tags,
            "numericFilters": f"created_at_i>={lo},created_at_i<={hi}",
            "hitsPerPage": str(self.hits_per_page),
            "page": str(page),
        }
        retry = retrying(retry_on=_Transient, attempts=self.max_retries, sleep=self._sleep, multiplier=self.backoff_s)
        try:
            resp = retry(self._get_once, params)
        except _Transient as exc:
            self._last_error = f"hackernews: search failed after {self.max_retries} attempts: {exc}"
            raise SourceError(self._last_error) from None
        if resp.status_code != 200:
            self._last_error = f"hackernews: search answered HTTP {resp.status_code}: {_message(resp)}"
            raise SourceError(self._last_error)
        try:
            # invalid UTF-8 bytes become lone surrogates in the one hit that holds them (skipped later)
            data = json.loads(resp.content.decode("utf-8", errors="surrogateescape"))
        except ValueError:
            self._last_error = "hackernews: search answered something that is not JSON"
            raise SourceError(self._last_error) from None
        if not isinstance(data, dict):
            raise SourceError("hackernews: search answered an unexpected JSON document")
        return data

    def _get_once(self, params: dict[str, str]) -> httpx.Response:
        for attempt in range(self.max_rate_limit_retries + 1):
            try:
                self.requests += 1
                resp = self._client.get(f"{self.base_url}/search_by_date", params=params)
            except httpx.TransportError as exc:
                raise _Transient(exc.__class__.__name__) from None
            if resp.status_code >= 500:
                raise _Transient(f"HTTP {resp.status_code}")
            if resp.status_code != 429:
                self._rate_limit_reset = None
                return resp
            if attempt == self.max_rate_limit_retries:
                break
            wait = parse_retry_after(resp.headers.get("retry-after"), self._now())
            if wait is None:  # Algolia sends no reset header: exponential backoff
                wait = backoff(attempt + 1, self.backoff_s, 300.0)
            self._rate_limit_reset = self._now() + timedelta(seconds=wait)
            log.info("hackernews %s: rate limited (HTTP 429); waiting %.0f s", self.key, wait)
            self._sleep(wait)
        self._last_error = "hackernews: still rate limited (HTTP 429) after backing off"
        raise RateLimitedError("hackernews", self._rate_limit_reset)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _message(resp: httpx.Response) -> str:
    try:
        msg = resp.json().get("message")
    except (ValueError, AttributeError):
        msg = None
    return str(msg)[:200] if msg else resp.reason_phrase
