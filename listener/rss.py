"""RSS/Atom collector: news sites, blogs and Google Alerts feeds, fetched with httpx, parsed by feedparser.

Each feed is fetched with a conditional GET (If-None-Match / If-Modified-Since from the ETag and
Last-Modified the feed sent last time); a 304 yields nothing. Feeds have no server-side search, so
every entry becomes a candidate Mention (text = title + summary, HTML stripped) and the brands' local
filters decide. One collector serves every configured brand: each feed is fetched once per run and each
entry is matched against every brand's query; an entry naming several brands is stored once, linked to
each of them (``Mention.brands``).

URL: FeedBurner's ``<feedburner:origLink>`` (the article, where ``<link>`` is a feedproxy redirect), else
the entry link; Google Alerts wraps links in `google.com/url?...&url=<real>`; the real link is unwrapped.

Native id, scoped to the feed: a ``<guid>`` that is a permalink (RSS ``isPermaLink`` not "false") is the
entry's own URL and is used as is; any other guid / Atom ``<id>`` is only unique within its feed, so the
id is ``<feed key>:<guid>`` (feed key = hash of the feed URL, below; a guid over 200 characters is hashed);
an entry with no id uses its (unwrapped) link. Stores written before this rule have the bare guid: on the
first run after the upgrade those feeds' current entries are stored once more under the scoped id.

Cursor position (JSON), per feed, keyed by a hash of the feed URL (a private feed URL may carry a
token, so it never goes into the cursor, logs or errors)::

    {"v": 1, "feeds": {"<sha256[:16] of URL>": {"etag": ..., "last_modified": ...,
                        "seen": [["<sha256[:16] of entry id>", <feed date, Unix s>], ...],
                        "floor": "<iso>"}}}

`seen` holds digests of the newest `max_seen` entry ids (oldest evicted first); `floor` is the newest date of
an evicted id, so an entry older than everything remembered is treated as already seen. The ETag /
Last-Modified of a feed are saved only once all of its entries were handled, so a collector stopped
in the middle of a feed fetches it in full next time and skips what it already yielded.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import logging
import re
import time
from collections.abc import Iterator, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import SplitResult, parse_qs, urlsplit, urlunsplit

import feedparser
import httpx
from pydantic import Field, field_validator

from brandpulse.errors import MalformedItemError, SourceError
from brandpulse.types import AuthorRef, Cursor, Deletion, Mention
from listener.collector import BaseCollector, RateLimited, SourceOptions, Transient
from listener.common import BrandTarget, brand_plans, html_to_text, link_matching, parse_retry_after

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "brandpulse/0.1 (+https://github.com/brandpulse; feed reader)"

#: Stand-ins written into the document before parsing so that one bad entry, not the whole feed, is lost.
_BAD_BYTES = "\U0010fffe"  # invalid UTF-8 bytes in a UTF-8 document
_SURROGATE = "\U0010ffff"  # a character reference to a lone UTF-16 surrogate (&#xD800; …)
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


# --------------------------------------------------------------------------- helpers
def feed_key(url: str) -> str:
    """Stable, secret-free key of a feed URL (used in the cursor and in messages)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _digest(native_id: str) -> str:
    """Short digest of an entry id: keeps the cursor small (500 ids × many feeds) and free of URLs."""
    return hashlib.sha256(native_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]


_NOT_PERMALINK_GUID = re.compile(
    rb"""<guid\b[^>]*\bisPermaLink\s*=\s*["']false["'][^>]*>\s*([^<]*?)\s*</guid>""", re.IGNORECASE
)


def non_permalink_guids(body: bytes) -> set[str]:
    """The ``<guid isPermaLink="false">`` values of an RSS document (feedparser does not keep the attribute)."""
    return {html.unescape(m.group(1).decode("utf-8", "replace")) for m in _NOT_PERMALINK_GUID.finditer(body)}


def entry_native_id(
    feed_url: str, entry: Any, *, permalink_guids: bool = False, not_permalinks: Set[str] = frozenset()
) -> str | None:
    """The entry's id scoped to its feed (see the module docstring); None when it has no id and no link.

    `permalink_guids`: the feed is RSS, whose ``<guid>`` is a permalink unless marked ``isPermaLink="false"``
    (the guids in `not_permalinks`).
    """
    guid = str(entry.get("id") or "")
    is_url = guid.startswith(("http://", "https://"))
    if guid and is_url and (entry.get("guidislink") or (permalink_guids and guid not in not_permalinks)):
        return guid
    if guid:
        scoped = guid if len(guid) <= 200 else hashlib.sha256(guid.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{feed_key(feed_url)}:{scoped}"
    return entry_url(entry)


def entry_url(entry: Any) -> str | None:
    """The article's URL: FeedBurner's origLink, else the link, Google Alerts' wrapping removed."""
    link = entry.get("feedburner_origlink") or entry.get("link")
    return unwrap_google_link(str(link)) if link else None


def _describe(url: str) -> str:
    return f"feed {feed_key(url)} ({urlsplit(url).hostname or '?'})"


def _split(url: str) -> SplitResult | None:
    """`url` split, or None when it cannot be (a feed's link such as `https://[host/…`: "Invalid IPv6 URL")."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def unwrap_google_link(link: str | None) -> str | None:
    """`https://www.google.com/url?rct=j&sa=t&url=<real>&ct=ga…` → `<real>`; other links unchanged."""
    if not link:
        return link
    parts = _split(link)
    if parts is None:
        return link
    host = (parts.hostname or "").lower()
    is_google = host == "google.com" or host.startswith(("www.google.", "google."))
    if is_google and parts.path == "/url":
        qs = parse_qs(parts.query)
        for name in ("url", "q"):
            if qs.get(name) and qs[name][0].startswith(("http://", "https://")):
                return qs[name][0]
    return link


def _declared_charset(content_type: str | None, body: bytes) -> str | None:
    if content_type:
        header = re.search(r"charset\s*=\s*\"?([A-Za-z0-9._-]+)", content_type)
        if header:
            return header.group(1).lower()
    decl = _XML_ENCODING.match(body[:200])
    return decl.group(1).decode("ascii").lower() if decl else None


_ROOT = re.compile(rb"<([A-Za-z_][\w:.-]*)[\s>/]")


def cut_off(body: bytes) -> bool:
    """Does the document end before its root element closes (a feed cut off in transit)?

    Asked only of feeds feedparser found ill-formed: a well-formed feed is never cut off. A root that
    cannot be found (another encoding, no markup) is not called cut off.
    """
    start = 0
    while (m := _ROOT.search(body, start)) is not None and body[m.start() + 1 : m.start() + 2] in (b"?", b"!"):
        start = m.end()
    head = _ROOT.search(body, start)
    if head is None:
        return False
    return not body.rstrip().endswith(b"</" + head.group(1) + b">")


def sanitize_feed_bytes(body: bytes, content_type: str | None = None) -> bytes:
    """Mark bad spots with stand-in characters so feedparser parses the rest of the feed normally.

    - character references to lone surrogates (`&#xD800;`) would crash feedparser's fallback parser;
    - invalid UTF-8 bytes in a UTF-8 document make feedparser re-decode the *whole* feed as cp1252.
    Entries that then contain a stand-in are logged and skipped as malformed.
    """

    def charref(m: re.Match[bytes]) -> bytes:
        try:
            code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
        except ValueError:
            return m.group(0)
        return b"&#x10FFFF;" if 0xD800 <= code <= 0xDFFF else m.group(0)

    body = _CHARREF.sub(charref, body)
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body  # UTF-16: leave it to feedparser
    charset = _declared_charset(content_type, body)
    if charset not in (None, "utf-8", "utf8"):
        return body
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        text = body.decode("utf-8", errors="surrogateescape")
        text = re.sub("[\udc80-\udcff]+", "&#x10FFFE;", text)
        return text.encode("utf-8")


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, time.struct_time):
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC).isoformat()
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items() if k != "base"}
    if isinstance(value, list | tuple):
        return [_to_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _field(entry: Any, name: str) -> Any:
    """`entry[name]` as the feed gave it: feedparser's own `get` maps a missing "updated" to "published" (with a
    DeprecationWarning), which would make an entry without a date look dated."""
    return dict.get(entry, name) if isinstance(entry, dict) else entry.get(name)


def _entry_date(entry: Any) -> datetime | None:
    """published (else updated) in UTC; None when the entry has no date; raises ValueError on a bad one."""
    for name in ("published", "updated", "created"):
        raw = _field(entry, name)
        if not raw:
            continue
        parsed = _field(entry, f"{name}_parsed")
        if parsed is None:
            raise ValueError(f"{name} date {str(raw)[:60]!r} cannot be parsed")
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    return None


def _has_date(entry: Any) -> bool:
    return any(_field(entry, f"{name}_parsed") for name in ("published", "updated", "created"))


def _language(entry: Any, feed: Any) -> str | None:
    content = entry.get("content") or [None]
    for detail in (entry.get("title_detail"), entry.get("summary_detail"), content[0]):
        if detail and detail.get("language"):
            return str(detail["language"]).split("-")[0].lower() or None
    lang = feed.get("language")
    return (str(lang).split("-")[0].lower() or None) if lang else None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    parts = _split(url)
    host = parts.hostname if parts is not None else None
    return host[4:] if host and host.startswith("www.") else host


# --------------------------------------------------------------------------- cursor state
@dataclass
class _FeedState:
    etag: str | None = None
    last_modified: str | None = None
    #: (digest of entry id, feed date as Unix seconds or None), newest first
    seen: list[tuple[str, int | None]] = field(default_factory=list)
    floor: datetime | None = None

    def __post_init__(self) -> None:
        self._seen_set = {digest for digest, _ in self.seen}

    def has(self, native_id: str, dated: datetime | None) -> bool:
        if _digest(native_id) in self._seen_set:
            return True
        return self.floor is not None and dated is not None and dated <= self.floor

    def remember(self, native_id: str, dated: datetime | None, limit: int) -> None:
        """Add an id (newest first); `dated` is its feed date (None for undated/malformed entries)."""
        digest = _digest(native_id)
        if digest in self._seen_set:
            return
        self.seen.insert(0, (digest, int(dated.timestamp()) if dated else None))
        self._seen_set.add(digest)
        while len(self.seen) > limit:
            old, ts = self.seen.pop()
            self._seen_set.discard(old)
            if ts is not None:
                when = datetime.fromtimestamp(ts, tz=UTC)
                if self.floor is None or when > self.floor:
                    self.floor = when

    def to_json(self) -> dict[str, Any]:
        return {"etag": self.etag, "last_modified": self.last_modified, "seen": [list(p) for p in self.seen],
                "floor": self.floor.isoformat() if self.floor else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _FeedState:
        floor = data.get("floor")
        seen = [(str(p[0]), int(p[1]) if p[1] is not None else None) for p in data.get("seen") or []]
        return cls(etag=data.get("etag"), last_modified=data.get("last_modified"), seen=seen,
                   floor=datetime.fromisoformat(floor) if floor else None)


# --------------------------------------------------------------------------- collector
class RSSOptions(SourceOptions):
    """[sources.rss] options."""

    feeds: list[str] = Field(min_length=1)
    timeout_s: float = Field(30.0, gt=0)
    max_seen: int = Field(500, ge=10, le=100_000)
    #: Retries of one feed request on 5xx/network errors after its first attempt.
    max_retries: int = Field(3, ge=0, le=20)
    user_agent: str = DEFAULT_USER_AGENT

    @field_validator("feeds")
    @classmethod
    def _http_urls(cls, feeds: list[str]) -> list[str]:
        for url in feeds:
            if urlsplit(url).scheme not in ("http", "https"):
                raise ValueError("every feed must be an http(s) URL")
        return feeds


class RSSCollector(BaseCollector[RSSOptions]):
    """Mentions from RSS 2.0 / Atom feeds (news, blogs, Google Alerts), filtered locally by `match`."""

    name: ClassVar[str] = "rss"
    Options: ClassVar[type[SourceOptions]] = RSSOptions
    name_unknown_keys: ClassVar[bool] = False
    retry_min_wait: float = 0.0

    def __init__(
        self,
        options: RSSOptions,
        client: httpx.Client,
        *,
        backoff_s: float = 1.0,
        targets: list[BrandTarget] | None = None,
        **common: Any,
    ) -> None:
        super().__init__(options, **common)
        #: Every brand this collector serves (default: its own brand/query/match).
        self.targets = targets or [BrandTarget(self.brand, self.query, self.match)]
        self._client = client
        self.feeds = list(options.feeds)
        self.max_seen = options.max_seen
        self.retry_multiplier = backoff_s
        self._states: dict[str, _FeedState] = {}
        self._touched = False
        self.skipped: int = 0

    def __repr__(self) -> str:
        return f"RSSCollector(brands={[t.brand for t in self.targets]!r}, feeds={len(self.feeds)})"

    # -- config --------------------------------------------------------------
    @classmethod
    def build(cls, options: Any, settings: Any) -> list[Any]:
        """One collector for every brand (cursor key ``feeds``): each feed is fetched once a run."""
        targets = []
        for plan in brand_plans(settings):
            native = plan.compiled("rss")
            targets.append(BrandTarget(plan.name, native if isinstance(native, str) else plan.spec.source, plan.match))
        if not targets:
            return []
        client = httpx.Client(timeout=options.timeout_s, follow_redirects=True, headers={"User-Agent": options.user_agent})
        return [cls(options, client, targets=targets, key="feeds")]

    # -- cursor --------------------------------------------------------------
    def _load(self, since: Cursor | None) -> None:
        self._states = {}
        self._touched = False
        if since is None or not since.position:
            return
        try:
            data = json.loads(since.position)
            feeds = data.get("feeds", {}) if isinstance(data, dict) else {}
            current = {feed_key(url) for url in self.feeds}  # feeds dropped from the config are forgotten
            self._states = {k: _FeedState.from_json(v) for k, v in feeds.items()
                            if k in current and isinstance(v, dict)}
        except (ValueError, TypeError, AttributeError, IndexError) as exc:
            log.warning("rss %s: ignoring unreadable cursor (%s); starting fresh", self.key, exc.__class__.__name__)
            self._states = {}

    def cursor(self) -> Cursor | None:
        if not self._touched:
            return None
        position = json.dumps({"v": 1, "feeds": {k: s.to_json() for k, s in self._states.items()}},
                              separators=(",", ":"), sort_keys=True)
        return Cursor(source=self.name, key=self.key, position=position)

    def health(self) -> dict[str, Any]:
        return self.state.health(skipped_items=self.skipped)

    # -- fetching ------------------------------------------------------------
    def fetch(self, since: Cursor | None) -> Iterator[Mention | Deletion]:
        self._load(since)
        failed: list[str] = []
        for url in self.feeds:
            try:
                yield from self._fetch_feed(url)
            except SourceError as exc:
                self.state.last_error = str(exc).splitlines()[0]
                log.warning("rss %s: %s", self.key, self.state.last_error)
                failed.append(_describe(url))
        if failed:
            raise SourceError(f"rss: {len(failed)} of {len(self.feeds)} feeds failed: {', '.join(failed)}")

    def _fetch_feed(self, url: str) -> Iterator[Mention]:
        fk = feed_key(url)
        state = self._states.setdefault(fk, _FeedState())
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        resp = self._get(url, headers)
        if resp.status_code == 304:
            return
        if resp.status_code != 200:
            raise SourceError(f"rss: {_describe(url)} answered HTTP {resp.status_code}")
        parsed = self._parse(url, resp)
        entries = self._ordered(parsed.entries)
        is_rss = str(parsed.get("version") or "").startswith("rss")
        not_permalinks = non_permalink_guids(resp.content) if is_rss else set()
        for entry in entries:
            native_id = entry_native_id(url, entry, permalink_guids=is_rss, not_permalinks=not_permalinks)
            mention = self._handle_entry(url, state, parsed.feed, entry, native_id)
            if mention is not None:
                yield mention
        state.etag = resp.headers.get("etag")
        state.last_modified = resp.headers.get("last-modified")
        self._touched = True

    def _parse(self, url: str, resp: httpx.Response) -> Any:
        body = sanitize_feed_bytes(resp.content, resp.headers.get("content-type"))
        parts = urlsplit(url)
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))  # no query: it may hold a token
        response_headers = {"content-location": location}
        if resp.headers.get("content-type"):
            response_headers["content-type"] = resp.headers["content-type"]
        try:
            parsed = feedparser.parse(body, response_headers=response_headers)
        except Exception as exc:  # feedparser's fallback parser can still crash on hostile input
            raise SourceError(f"rss: {_describe(url)} could not be parsed ({exc.__class__.__name__})") from None
        if parsed.bozo and not parsed.entries:
            reason = parsed.get("bozo_exception")
            raise SourceError(f"rss: {_describe(url)} is not a readable feed ({reason.__class__.__name__})")
        if parsed.bozo and cut_off(resp.content):  # its last entry may be cut too: read it whole next time
            raise SourceError(f"rss: {_describe(url)} was cut off (the document ends before its root element closes)")
        return parsed

    def _ordered(self, entries: list[Any]) -> list[Any]:
        """Oldest first (feeds list newest first); undated entries keep their relative place at the end."""

        def sort_key(pair: tuple[int, Any]) -> tuple[int, float, int]:
            index, entry = pair
            try:
                when = _entry_date(entry)
            except ValueError:
                when = None
            return (0, when.timestamp(), -index) if when else (1, 0.0, -index)

        return [e for _, e in sorted(enumerate(entries), key=sort_key)]

    def _handle_entry(self, url: str, state: _FeedState, feed: Any, entry: Any, native_id: str | None) -> Mention | None:
        try:
            mention = self._to_mention(feed, entry, native_id)
        except MalformedItemError as exc:
            self.skipped += 1
            log.warning("rss %s: skipping malformed item %s from %s: %s", self.key,
                        exc.item_id or native_id or "<no id>", _describe(url), exc.reason)
            if native_id:
                state.remember(native_id, None, self.max_seen)
                self._touched = True
            return None
        dated = mention.created_at if _has_date(entry) else None
        if state.has(mention.native_id, dated):
            return None
        state.remember(mention.native_id, dated, self.max_seen)
        self._touched = True
        if not link_matching(mention, self.targets):
            return None
        return mention

    def _to_mention(self, feed: Any, entry: Any, native_id: str | None) -> Mention:
        if not native_id:
            raise MalformedItemError(None, "entry has no id, guid or link")
        if _SURROGATE in native_id or _BAD_BYTES in native_id:
            raise MalformedItemError(None, "entry id is not valid UTF-8")
        try:
            created_at = _entry_date(entry) or self._now()
        except ValueError as exc:
            raise MalformedItemError(native_id, str(exc)) from None
        title = html_to_text(entry.get("title"))
        summary = entry.get("summary")
        if not summary and entry.get("content"):
            summary = entry["content"][0].get("value")
        body = html_to_text(summary)
        text = "\n".join(part for part in (title, body) if part)
        if not text:
            raise MalformedItemError(native_id, "entry has neither title nor summary")
        if _SURROGATE in text:
            raise MalformedItemError(native_id, "text contains a lone surrogate (not valid UTF-8)")
        if _BAD_BYTES in text:
            raise MalformedItemError(native_id, "text contains invalid UTF-8 bytes")
        link = entry_url(entry)
        return Mention(
            platform=self.name,
            native_id=native_id,
            text=text,
            created_at=created_at,
            author=AuthorRef(handle=self._author(entry, link, feed)),
            url=link,
            language=_language(entry, feed),
            raw=_to_jsonable(dict(entry)),
        )

    @staticmethod
    def _author(entry: Any, link: str | None, feed: Any) -> str:
        detail = entry.get("author_detail") or {}
        name = (detail.get("name") or entry.get("author") or "").strip()
        if name:
            return name
        return _host(link) or _host(feed.get("link")) or "unknown"

    # -- HTTP ----------------------------------------------------------------
    def _get(self, url: str, headers: dict[str, str]) -> httpx.Response:
        return self.call_with_limits(_describe(url), self._get_once, url, headers)

    def _get_once(self, url: str, headers: dict[str, str]) -> httpx.Response:
        try:
            resp = self._client.get(url, headers=headers)
        except httpx.TransportError as exc:
            raise Transient(exc.__class__.__name__) from None
        if resp.status_code in (429, 503):
            wait = parse_retry_after(resp.headers.get("retry-after"), self._now())
            if wait is None:
                raise Transient(f"HTTP {resp.status_code}")
            log.info("rss %s: %s answered %s; Retry-After %.0f s", self.key, _describe(url), resp.status_code, wait)
            raise RateLimited(wait, where=_describe(url))
        if resp.status_code >= 500:
            raise Transient(f"HTTP {resp.status_code}")
        return resp

    def translate(self, exc: BaseException, what: str) -> BaseException:
        if isinstance(exc, Transient):
            return SourceError(f"rss: {what} failed after {self.options.max_retries + 1} attempts: {exc}")
        return super().translate(exc, what)
