"""Mastodon collector: hashtag timelines and status search on chosen instances, through Mastodon.py.

Each configured instance × hashtag (``GET /api/v1/timelines/tag/:hashtag``) and instance × search
query (``GET /api/v2/search?type=statuses``) is a *stream* with its own position, the id of the
newest status taken from it. Streams are read forward without gaps: ``min_id=<position>`` returns
the statuses immediately newer than the position (``since_id`` would return the newest page and
skip whatever lies between), each page is yielded oldest first, and the next page starts at the
page's newest id. The first run starts ``lookback_hours`` back (Mastodon.py turns the datetime into
a snowflake id). With ``stream = true`` the streaming API (``/api/v1/streaming/hashtag``) is used
as a doorbell: an ``update`` event triggers an immediate poll of that stream from its position, so
streaming lowers latency while the cursor keeps the gap-free REST semantics (a dropped stream
loses nothing; the final poll catches up).

A status becomes a Mention with ``native_id`` = the status ``uri`` (its ActivityPub id, the same on
every instance, whereas ``id`` is local to the instance that served it), ``parent_id`` =
``in_reply_to_id`` (as the serving instance numbers it), HTML content converted to plain text.

Rate limits: the clients run with ``ratelimit_method="throw"``; on ``MastodonRatelimitError`` the
collector waits (injected ``sleep``) until ``X-RateLimit-Reset`` as Mastodon.py parsed it, then
retries. 5xx and network errors are retried with exponential backoff (tenacity), then raise
SourceError.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, ClassVar

from pydantic import Field

from brandpulse.errors import ConfigError, CredentialsError, MalformedItemError, SourceError
from brandpulse.types import AuthorRef, Cursor, Deletion, Engagement, Mention
from listener.collector import BaseCollector, ListenOptions, RateLimited, SourceOptions
from listener.common import BrandPlan, health, parse_time

try:  # Mastodon.py is a hard dependency; the guard only keeps the import error readable
    from mastodon import Mastodon, StreamListener
    from mastodon.errors import (
        MastodonError,
        MastodonNetworkError,
        MastodonNotFoundError,
        MastodonRatelimitError,
        MastodonServerError,
        MastodonUnauthorizedError,
    )
except ImportError as exc:  # pragma: no cover
    raise ImportError("the mastodon source needs Mastodon.py (pip install Mastodon.py)") from exc

from listener.query.compiling import (
    Dialect,
    Lowering,
    conj_seqs,
    dnf,
    lower_positive_only,
    selectivity,
    word_or_phrase,
)
from listener.query.normal_form import NF

log = logging.getLogger(__name__)

DEFAULT_INSTANCE = "https://mastodon.social"
_TRANSIENT = (MastodonNetworkError, MastodonServerError)
_BLOCK_TAGS = frozenset({"p", "div", "blockquote", "pre", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"})


# --------------------------------------------------------------------------- HTML → text
class _TextExtractor(HTMLParser):
    """Plain text of Mastodon status HTML: tags dropped, entities unescaped, links kept as their text.

    Mastodon shortens long links for display with ``<span class="invisible">``/``"ellipsis"``
    spans; all span texts are kept, so the full URL comes back.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Mastodon's HTML ``content`` as plain text (stdlib only).

    Unlike ``listener.common.html_to_text`` (feeds, Hacker News: one line per block, spaces folded),
    paragraphs stay apart by a blank line and the author's own spacing is kept.
    """
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


# --------------------------------------------------------------------------- helpers
def _id_key(status_id: str) -> tuple[int, str]:
    """Order ids numerically when they are numbers (Mastodon snowflakes), else lexically."""
    return (len(status_id), status_id) if status_id.isdigit() else (0, status_id)


def _count(value: Any) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def _plain(obj: Any) -> Any:
    """A Mastodon.py object as plain JSON-able data (fallback when the raw body was not captured)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(obj, str):
        return str(obj)
    return obj


def tag_of(word: str) -> str:
    """A keyword as a Mastodon hashtag name: letters, digits and underscores only, lower case."""
    return re.sub(r"[^\w]", "", word, flags=re.UNICODE).lower()


def status_to_mention(status: dict[str, Any], *, brand: str | None, query: str | None) -> Mention:
    """One Mastodon Status entity (plain JSON) → Mention; MalformedItemError when it cannot be one."""
    nid = status.get("uri") if isinstance(status.get("uri"), str) else None
    local_id = status.get("id")
    if not nid:
        raise MalformedItemError(str(local_id) if local_id else None, "uri is missing")
    account = status.get("account")
    if not isinstance(account, dict) or not account.get("acct"):
        raise MalformedItemError(nid, "account.acct is missing")
    content = status.get("content")
    if not isinstance(content, str):
        raise MalformedItemError(nid, "content is missing")
    text = html_to_text(content)
    spoiler = status.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()}\n\n{text}"
    followers = account.get("followers_count")
    parent = status.get("in_reply_to_id")
    return Mention(
        platform="mastodon",
        native_id=nid,
        text=text,
        created_at=parse_time(status.get("created_at"), nid),
        author=AuthorRef(
            handle=str(account["acct"]),
            display_name=account.get("display_name") or None,
            followers=_count(followers) if followers is not None else None,
        ),
        url=status.get("url") or nid,
        language=status.get("language") or None,
        engagement=Engagement(
            likes=_count(status.get("favourites_count")),
            reposts=_count(status.get("reblogs_count")),
            replies=_count(status.get("replies_count")),
        ),
        parent_id=str(parent) if parent else None,
        brand=brand,
        query=query,
        raw=status,
    )


# --------------------------------------------------------------------------- streams
@dataclass(frozen=True)
class _Stream:
    """One (instance, hashtag) or (instance, search query) with its own position."""

    instance: str
    kind: str  # "tag" | "search"
    value: str

    @property
    def key(self) -> str:
        return f"{self.instance}|{self.kind}:{self.value}"


class _Doorbell(StreamListener):
    """Streaming listener that only reports *which* stream has news; the REST poll fetches it."""

    def __init__(self, stream_key: str, bell: queue.Queue[str]) -> None:
        super().__init__()
        self._key = stream_key
        self._bell = bell

    def on_update(self, status: Any) -> None:
        self._bell.put(self._key)

    def on_status_update(self, status: Any) -> None:  # edits: nothing new to fetch
        pass

    def on_unknown_event(self, name: str, unknown_event: Any = None) -> None:
        pass

    def on_abort(self, err: Exception) -> None:
        log.info("mastodon stream %s dropped (%s); the final poll catches up", self._key, err.__class__.__name__)


# --------------------------------------------------------------------------- search dialect
def _compile_mastodon(nf: NF, low: Lowering) -> tuple[str | None, list[str]]:
    """``/api/v2/search`` ``q``: bare clauses are OR-ed ("should", at least one), ``+clause`` is required
    ("must"), no OR groups, stemming, ``from:`` fails for unknown accounts: positive words/phrases only."""
    conjs = dnf(lower_positive_only(nf, low, "Mastodon"), low)
    queries: list[str] = []
    singles = [word_or_phrase(conj_seqs(c)[0]) for c in conjs if len(c) == 1]
    if singles:
        queries.append(" ".join(singles))
    for conj in conjs:
        if len(conj) > 1:
            seqs = [word_or_phrase(seq) for seq in conj_seqs(conj)]
            queries.append(" ".join([seqs[0], *("+" + s for s in seqs[1:])]))
    # One string: one clause of each alternative, all "should" (a superset of each alternative).
    single = " ".join(dict.fromkeys(word_or_phrase(max(conj_seqs(c), key=selectivity)) for c in conjs))
    return single, queries


MASTODON_DIALECT = Dialect("mastodon", _compile_mastodon)



# --------------------------------------------------------------------------- options
class MastodonOptions(ListenOptions):
    """``[sources.mastodon]`` keys (``duration_s``: how long one fetch listens to the stream)."""

    renamed: ClassVar[dict[str, str]] = {"stream_duration_s": "duration_s", "stream_idle_timeout_s": "idle_timeout_s"}

    #: Instances to read (base URLs).
    instances: list[str] = Field(default_factory=lambda: [DEFAULT_INSTANCE], min_length=1)
    #: Hashtags to follow: a list for every brand, or a table brand → list. Default: from brand name + keywords.
    hashtags: list[str] | dict[str, list[str]] | None = None
    #: Status search (needs MASTODON_ACCESS_TOKEN on most instances). Default: on when the token is set.
    search: bool | None = None
    #: Use the streaming API for hashtags (needs a user token since Mastodon 4.2).
    stream: bool = False
    #: Stream mode: return when no news arrives for this long (was ``stream_idle_timeout_s``).
    idle_timeout_s: float = Field(60.0, gt=0)
    #: Only statuses local to each instance.
    local: bool = False
    #: How far back the first run starts.
    lookback_hours: float = Field(24.0, ge=0)
    page_limit: int = Field(40, ge=1, le=40)
    #: Pages per stream per fetch (bounds one run; the next run continues from the cursor).
    max_pages: int = Field(50, ge=1)
    max_retries: int = Field(4, ge=0, le=10)
    #: Rate-limit waits per call before giving up with RateLimitedError.
    max_rate_limit_waits: int = Field(3, ge=0)
    request_timeout: float = Field(30.0, gt=0)


# --------------------------------------------------------------------------- collector
class MastodonCollector(BaseCollector[MastodonOptions]):
    """Hashtag timelines + status search on one or more instances, for one brand."""

    name: ClassVar[str] = "mastodon"
    dialect: ClassVar[Dialect | None] = MASTODON_DIALECT
    label: ClassVar[str] = "mastodon"
    Options: ClassVar[type[SourceOptions]] = MastodonOptions
    secret_env: ClassVar[tuple[str, ...]] = ("MASTODON_ACCESS_TOKEN",)
    transient_errors: ClassVar[tuple[type[BaseException], ...]] = _TRANSIENT

    def __init__(
        self,
        options: MastodonOptions,
        client: Mastodon | Sequence[Mastodon],
        *,
        hashtags: Sequence[str] = (),
        search: bool | None = None,
        **common: Any,
    ) -> None:
        super().__init__(options, **common)
        clients = [client] if isinstance(client, Mastodon) else list(client)
        if not clients:
            raise ConfigError("[sources.mastodon] instances: at least one instance is needed")
        self._clients: dict[str, Mastodon] = {str(c.api_base_url).rstrip("/"): c for c in clients}
        self.hashtags = [t for t in dict.fromkeys(tag_of(h.lstrip("#")) for h in hashtags) if t]
        self.search = bool(options.search) if search is None else search
        self.stream = options.stream
        self.local = options.local
        self.lookback = timedelta(hours=options.lookback_hours)
        self.page_limit = options.page_limit
        self.max_pages = options.max_pages
        self.stream_duration_s = options.duration_s
        self.stream_idle_timeout_s = options.idle_timeout_s
        self._positions: dict[str, str] = {}
        self._touched = False
        self._captured: dict[str, Any] = {}
        self._current: _Stream | None = None
        for instance, c in self._clients.items():
            self._install_capture(instance, c)

    def __repr__(self) -> str:  # never shows tokens
        return f"MastodonCollector(brand={self.brand!r}, instances={list(self._clients)!r}, hashtags={self.hashtags!r})"

    # -- config -------------------------------------------------------------------------
    @classmethod
    def shared_client(cls, options: MastodonOptions) -> tuple[list[Mastodon], bool]:
        """One client per instance, shared by every brand; status search on when asked (default: when a token is set)."""
        from brandpulse.config import secret

        needs_token = bool(options.search) or options.stream
        token = secret("MASTODON_ACCESS_TOKEN", required=needs_token)
        search = options.search if options.search is not None else token is not None
        clients = [
            Mastodon(
                api_base_url=url,
                access_token=token.get_secret_value() if token else None,
                ratelimit_method="throw",
                version_check_mode="none",
                request_timeout=options.request_timeout,
                user_agent="brandpulse (+https://github.com/brandpulse)",
            )
            for url in options.instances
        ]
        return clients, search

    @classmethod
    def brand_args(cls, plan: BrandPlan, options: MastodonOptions, shared: Any) -> dict[str, Any]:
        clients, search = shared
        return {
            **plan.collector_args(plan.compiled("mastodon")),
            "client": clients,
            "search": search,
            "hashtags": _brand_hashtags(options.hashtags, plan.brand),
        }

    # -- the contract -------------------------------------------------------------------
    def fetch(self, since: Cursor | None) -> Iterator[Mention | Deletion]:
        self._positions = self._load_positions(since)
        self._touched = False
        seen: set[str] = set()
        streams = self._streams()
        for s in streams:
            yield from self._poll(s, seen)
        if self.stream:
            yield from self._follow(streams, seen)

    def cursor(self) -> Cursor | None:
        if not self._positions:
            return None
        return Cursor(source=self.name, key=self.key, position=json.dumps(self._positions, sort_keys=True))

    def health(self) -> dict[str, Any]:
        per: dict[str, Any] = {}
        remaining: int | None = None
        reset: datetime | None = None
        for instance, c in self._clients.items():
            r = getattr(c, "ratelimit_remaining", None)
            rs = getattr(c, "ratelimit_reset", None)
            rs_dt = datetime.fromtimestamp(rs, UTC) if isinstance(rs, int | float) else None
            per[instance] = {"rate_limit_remaining": r, "rate_limit_reset": rs_dt}
            if isinstance(r, int) and (remaining is None or r < remaining):
                remaining, reset = r, rs_dt
        return health(remaining=remaining, reset=reset, last_error=self.state.last_error, instances=per)

    # -- streams and positions ----------------------------------------------------------
    def _streams(self) -> list[_Stream]:
        out: list[_Stream] = []
        for instance in self._clients:
            out.extend(_Stream(instance, "tag", t) for t in self.hashtags)
            if self.search:
                out.append(_Stream(instance, "search", self.query or self.brand or self.key))
        return out

    def _load_positions(self, since: Cursor | None) -> dict[str, str]:
        if since is None or not since.position:
            return {}
        try:
            data = json.loads(since.position)
        except json.JSONDecodeError:
            log.warning("mastodon %s: ignoring an unreadable cursor; starting from the look-back window", self.key)
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items() if v}

    def _start_point(self, s: _Stream) -> str | datetime:
        pos = self._positions.get(s.key)
        return pos if pos else self._now() - self.lookback

    # -- polling ------------------------------------------------------------------------
    def _poll(self, s: _Stream, seen: set[str]) -> Iterator[Mention]:
        """Everything newer than the stream's position, page by page, oldest first."""
        start = self._start_point(s)
        min_id: str | datetime = start
        for _ in range(self.max_pages):
            page = self._page(s, min_id)
            if not page:
                return
            for raw in page:
                sid = str(raw.get("id") or "")
                pos = self._positions.get(s.key)
                if not sid or (pos and _id_key(sid) <= _id_key(pos)):
                    continue  # no id, or not newer than where we are (a server ignoring min_id)
                self._positions[s.key] = sid
                mention = self._to_mention(raw, s)
                if mention is None or mention.native_id in seen:
                    continue
                seen.add(mention.native_id)
                if not self.wanted(mention):
                    continue
                yield mention
            newest = self._positions.get(s.key)
            if newest is None or newest == min_id:
                return
            min_id = newest

    def _to_mention(self, raw: dict[str, Any], s: _Stream) -> Mention | None:
        if raw.get("reblog"):
            return None  # a boost is not a post by the booster; the original comes on its own
        try:
            return status_to_mention(raw, brand=self.brand, query=self.query)
        except MalformedItemError as exc:
            log.warning("mastodon %s: skipped status %s: %s", s.instance, exc.item_id or raw.get("id"), exc.reason)
            return None

    def _page(self, s: _Stream, min_id: str | datetime) -> list[dict[str, Any]]:
        """One page as plain status dicts, oldest first."""
        client = self._clients[s.instance]
        if s.kind == "tag":
            result = self._call(
                s,
                lambda: client.timeline_hashtag(s.value, local=self.local, min_id=min_id, limit=self.page_limit),
            )
            items = result if result is not None else []
            raw = self._captured.pop(s.instance, None)
        else:
            result = self._call(
                s,
                lambda: client.search_v2(
                    s.value, resolve=False, result_type="statuses", min_id=min_id, limit=self.page_limit
                ),
            )
            items = (result or {}).get("statuses") or []
            raw = self._captured.pop(s.instance, None)
            raw = raw.get("statuses") if isinstance(raw, dict) else None
        statuses = self._originals(items, raw)
        return sorted(statuses, key=lambda st: _id_key(str(st.get("id") or "")))

    @staticmethod
    def _originals(items: list[Any], raw: Any) -> list[dict[str, Any]]:
        """Prefer the statuses exactly as the server sent them; fall back to Mastodon.py's objects."""
        if isinstance(raw, list) and len(raw) == len(items) and all(isinstance(r, dict) for r in raw):
            return list(raw)
        return [_plain(i) for i in items if isinstance(i, dict)]

    def _install_capture(self, instance: str, client: Mastodon) -> None:
        """Keep the JSON body of timeline/search responses so `raw` is the server's own payload."""
        session = getattr(client, "session", None)
        if session is None:
            return

        def capture(response: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                path = response.request.path_url
                if response.status_code == 200 and (
                    "/api/v1/timelines/" in path or "/api/v2/search" in path
                ):
                    self._captured[instance] = response.json()
            except Exception:  # capture is best effort; Mastodon.py's own parse decides success
                self._captured.pop(instance, None)
            return response

        session.hooks.setdefault("response", []).append(capture)

    # -- calling the API ----------------------------------------------------------------
    def _call(self, s: _Stream, fn: Callable[[], Any]) -> Any:
        client = self._clients[s.instance]

        def guarded() -> Any:
            try:
                return fn()
            except MastodonRatelimitError:
                reset = getattr(client, "ratelimit_reset", None)
                known = isinstance(reset, int | float)
                raise RateLimited(
                    seconds=float(reset) - time.time() if known else None,  # type: ignore[arg-type]
                    reset=datetime.fromtimestamp(reset, UTC) if known else None,  # type: ignore[arg-type]
                    where=s.instance,
                ) from None
            except MastodonNotFoundError:
                if s.kind == "tag":
                    return []  # a hashtag nobody has used yet on that instance
                raise

        self._current = s
        result = self.call_with_limits(f"{s.kind} {s.value!r}", guarded)
        self.state.last_error = None
        return result

    def rate_limit_wait(self, seconds: float | None, attempt: int) -> float:
        return min(super().rate_limit_wait(seconds, attempt), 15 * 60.0)

    def translate(self, exc: BaseException, what: str) -> BaseException:
        s = self._current
        assert s is not None
        if isinstance(exc, MastodonNotFoundError):
            return self._source_error(s, "the search endpoint was not found")
        if isinstance(exc, MastodonUnauthorizedError):
            self.state.last_error = f"{s.instance} refused the access token"
            return CredentialsError(
                f"mastodon: {s.instance} refused the request (HTTP 401); "
                "MASTODON_ACCESS_TOKEN is missing, expired or lacks the read scope"
            )
        if self.is_transient(exc):
            tries = self.options.max_retries + 1
            return self._source_error(s, f"still failing after {tries} attempts ({_brief(exc)})")
        return self._source_error(s, _brief(exc))

    def _source_error(self, s: _Stream, what: str) -> SourceError:
        self.state.last_error = f"{s.instance}: {what}"
        return SourceError(f"mastodon {s.instance} ({s.kind} {s.value!r}): {what}")

    # -- streaming ----------------------------------------------------------------------
    def _follow(self, streams: list[_Stream], seen: set[str]) -> Iterator[Mention]:
        """Listen to hashtag streams; each update triggers a poll of that stream from its position."""
        bell: queue.Queue[str] = queue.Queue()
        by_key = {s.key: s for s in streams}
        handles = self._open_streams([s for s in streams if s.kind == "tag"], bell)
        try:
            if handles:
                yield from self._ring_loop(bell, by_key, seen)
        finally:
            for h in handles:
                _close_stream(h)
        for s in streams:  # catch up on whatever a dropped connection missed
            yield from self._poll(s, seen)

    def _open_streams(self, streams: list[_Stream], bell: queue.Queue[str]) -> list[Any]:
        handles: list[Any] = []
        for s in streams:
            client = self._clients[s.instance]
            try:
                handles.append(
                    client.stream_hashtag(
                        s.value,
                        _Doorbell(s.key, bell),
                        local=self.local,
                        run_async=True,
                        reconnect_async=True,
                        reconnect_async_wait_sec=5,
                    )
                )
            except MastodonError as exc:
                log.warning("mastodon %s: cannot stream #%s (%s); polling only", s.instance, s.value, _brief(exc))
                self.state.last_error = f"{s.instance}: streaming unavailable"
        return handles

    def _ring_loop(self, bell: queue.Queue[str], by_key: dict[str, _Stream], seen: set[str]) -> Iterator[Mention]:
        started = time.monotonic()
        last_news = started
        while True:
            now = time.monotonic()
            left = min(self.stream_duration_s - (now - started), self.stream_idle_timeout_s - (now - last_news))
            if left <= 0:
                return
            try:
                keys = {bell.get(timeout=left)}
            except queue.Empty:
                continue
            while True:  # coalesce a burst into one poll per stream
                try:
                    keys.add(bell.get_nowait())
                except queue.Empty:
                    break
            last_news = time.monotonic()
            for k in sorted(keys):
                if k in by_key:
                    yield from self._poll(by_key[k], seen)


def _close_stream(handle: Any) -> None:
    try:
        handle.close()
        handle.join(timeout=5)
    except Exception as exc:  # closing is best effort
        log.debug("closing a mastodon stream failed: %s", exc)


def _brief(exc: BaseException) -> str:
    """An exception as one line without request headers (Mastodon.py errors carry no secrets, but be safe)."""
    parts = [str(a) for a in getattr(exc, "args", ()) if a is not None and not isinstance(a, dict)]
    msg = " ".join(parts) or exc.__class__.__name__
    return re.sub(r"Bearer\s+\S+", "Bearer REDACTED", msg)[:300]


def _brand_hashtags(option: list[str] | dict[str, list[str]] | None, brand: Any) -> list[str]:
    if isinstance(option, dict):
        for name, tags in option.items():
            if name.lower() == brand.name.lower():
                return list(tags)
        return []
    if isinstance(option, list):
        return list(option)
    words = [brand.name, *brand.keywords]
    return [t for t in dict.fromkeys(tag_of(w) for w in words) if t]


__all__ = ["MastodonCollector", "MastodonOptions", "html_to_text", "status_to_mention", "tag_of"]
