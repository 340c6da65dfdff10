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
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import Field

from brandpulse.errors import ConfigError, MalformedItemError, SourceError
from brandpulse.types import AuthorRef, Cursor, Deletion, Engagement, Mention
from listener.collector import BaseCollector, RateLimited, SourceOptions, Transient
from listener.common import BrandPlan, backoff, html_to_text, parse_retry_after

if TYPE_CHECKING:
    pass

from listener.query.compiling import Dialect, Lowering, conj_seqs, dnf, lower_positive_only
from listener.query.normal_form import NF, Conj

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://hn.algolia.com/api/v1"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
#: Algolia's default `paginationLimitedTo` for the HN index.
ALGOLIA_MAX_HITS = 1000


# --------------------------------------------------------------------------- search dialect
def _hn_words(conj: Conj) -> str:
    return " ".join(dict.fromkeys(w for seq in conj_seqs(conj) for _, w in seq.tokens))


def _compile_hn(nf: NF, low: Lowering) -> tuple[str | None, list[str]]:
    """Algolia ``query``: words are AND-ed, no OR; the searches are the query's alternatives, each as words."""
    conjs = dnf(lower_positive_only(nf, low, "Hacker News"), low)
    queries = [_hn_words(conj) for conj in conjs]
    # One Algolia query can only AND words: the words every alternative needs (maybe none,
    # i.e. every item — still a superset).
    common = [w for w in _hn_words(conjs[0]).split() if all(w in _hn_words(c).split() for c in conjs)]
    return (queries[0] if len(queries) == 1 else " ".join(common)), queries


HN_DIALECT = Dialect("hackernews", _compile_hn, explain_all=True)



def _sort_key(hit: dict[str, Any]) -> tuple[int, int, str]:
    oid = str(hit.get("objectID"))
    return (int(hit["created_at_i"]), int(oid) if oid.isdigit() else 0, oid)


def _valid_ts(hit: dict[str, Any]) -> bool:
    ts = hit.get("created_at_i")
    return isinstance(ts, int) and not isinstance(ts, bool) and 0 < ts < 32_503_680_000


class HNOptions(SourceOptions):
    """[sources.hackernews] options."""

    base_url: str = DEFAULT_BASE_URL
    tags: str = "(story,comment)"
    hits_per_page: int = Field(100, ge=1, le=1000)
    lookback_hours: float = Field(168.0, gt=0)
    timeout_s: float = Field(30.0, gt=0)
    #: Retries of one search request on 5xx/network errors after its first attempt.
    max_retries: int = Field(4, ge=0, le=20)
    #: 429 waits per request (Algolia sends no reset time: exponential backoff) before RateLimitedError.
    max_rate_limit_waits: int = Field(6, ge=0, le=100)
    user_agent: str = "brandpulse/0.1 (+https://github.com/brandpulse)"


class HackerNewsCollector(BaseCollector[HNOptions]):
    """Stories and comments mentioning a brand, from the Algolia HN Search API."""

    name: ClassVar[str] = "hackernews"
    dialect: ClassVar[Dialect | None] = HN_DIALECT
    Options: ClassVar[type[SourceOptions]] = HNOptions
    name_unknown_keys: ClassVar[bool] = False
    retry_min_wait: float = 0.0

    def __init__(
        self,
        options: HNOptions,
        client: httpx.Client,
        *,
        queries: list[str] | None = None,
        max_hits_per_query: int = ALGOLIA_MAX_HITS,
        backoff_s: float = 1.0,
        **common: Any,
    ) -> None:
        super().__init__(options, **common)
        self._client = client
        self.queries = list(queries) if queries else ([self.query] if self.query else [])
        if not self.queries:
            raise ConfigError("hackernews: no search query for brand " + repr(self.brand))
        self.base_url = options.base_url.rstrip("/")
        self.tags = options.tags
        self.hits_per_page = options.hits_per_page
        self.lookback = timedelta(hours=options.lookback_hours)
        self.max_hits_per_query = max_hits_per_query
        self.retry_multiplier = backoff_s
        self._ts: int | None = None
        self._ids: list[str] = []
        self.requests = 0
        self.skipped = 0

    def __repr__(self) -> str:
        return f"HackerNewsCollector(brand={self.brand!r}, queries={len(self.queries)})"

    # -- config --------------------------------------------------------------
    @classmethod
    def brand_args(cls, plan: BrandPlan, options: HNOptions, shared: Any) -> dict[str, Any] | None:
        queries = plan.searches(cls.name)
        if not queries:
            log.warning("hackernews: brand %s has no query Hacker News can run; skipped", plan.name)
            return None
        client = httpx.Client(timeout=options.timeout_s, headers={"User-Agent": options.user_agent})
        return {**plan.collector_args(None), "client": client, "queries": queries}

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
        return self.state.health(requests=self.requests, skipped_items=self.skipped)

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
            if mention is None or not self.wanted(mention):
                continue
            yield mention

    def _skip(self, oid: Any, reason: str) -> None:
        self.skipped += 1
        log.warning("hackernews %s: skipping malformed item %s: %s", self.key, oid or "<no id>", reason)

    def _mention(self, hit: dict[str, Any], q: str) -> Mention | None:
        oid = str(hit.get("objectID"))
        try:
            return self._to_mention(hit, q)
        except MalformedItemError as exc:
            self._skip(exc.item_id or oid, exc.reason)
            return None

    def _to_mention(self, hit: dict[str, Any], q: str) -> Mention:
        raw_oid = hit.get("objectID")
        if not isinstance(raw_oid, str | int) or isinstance(raw_oid, bool) or not str(raw_oid).strip():
            raise MalformedItemError(None, "objectID is missing")
        oid = str(raw_oid)
        if not _valid_ts(hit):
            raise MalformedItemError(oid, f"created_at_i {hit.get('created_at_i')!r} is not a time")
        author = hit.get("author")
        if not isinstance(author, str) or not author:
            raise MalformedItemError(oid, "author is missing")
        raw_tags = hit.get("_tags")
        tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
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
            self.state.gap_warning = (f"{nb_hits} hits in the single second {lo} exceed Algolia's cap of "
                                 f"{reachable}; some are missing")
            log.warning("hackernews %s: %s", self.key, self.state.gap_warning)
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
        resp = self.call_with_limits("search", self._get_once, params)
        if resp.status_code != 200:
            self.state.last_error = f"hackernews: search answered HTTP {resp.status_code}: {_message(resp)}"
            raise SourceError(self.state.last_error)
        try:
            # invalid UTF-8 bytes become lone surrogates in the one hit that holds them (skipped later)
            data = json.loads(resp.content.decode("utf-8", errors="surrogateescape"))
        except ValueError:
            self.state.last_error = "hackernews: search answered something that is not JSON"
            raise SourceError(self.state.last_error) from None
        if not isinstance(data, dict):
            raise SourceError("hackernews: search answered an unexpected JSON document")
        return data

    def _get_once(self, params: dict[str, str]) -> httpx.Response:
        try:
            self.requests += 1
            resp = self._client.get(f"{self.base_url}/search_by_date", params=params)
        except httpx.TransportError as exc:
            raise Transient(exc.__class__.__name__) from None
        if resp.status_code >= 500:
            raise Transient(f"HTTP {resp.status_code}")
        if resp.status_code == 429:
            log.info("hackernews %s: rate limited (HTTP 429)", self.key)
            raise RateLimited(parse_retry_after(resp.headers.get("retry-after"), self._now()))
        self.state.reset = self.state.remaining = None
        return resp

    def rate_limit_wait(self, seconds: float | None, attempt: int) -> float:
        """As announced (Retry-After), else exponential backoff: Algolia sends no reset header."""
        return seconds if seconds is not None else backoff(attempt, self.retry_multiplier, 300.0)

    def translate(self, exc: BaseException, what: str) -> BaseException:
        if isinstance(exc, Transient):
            self.state.last_error = f"hackernews: {what} failed after {self.options.max_retries + 1} attempts: {exc}"
            return SourceError(self.state.last_error)
        return super().translate(exc, what)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _message(resp: httpx.Response) -> str:
    try:
        msg = resp.json().get("message")
    except (ValueError, AttributeError):
        msg = None
    return str(msg)[:200] if msg else resp.reason_phrase
