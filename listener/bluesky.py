"""Bluesky collector: the public Jetstream firehose (default) or ``app.bsky.feed.searchPosts``.

**Jetstream** (``mode = "jetstream"``): a WebSocket (``websockets`` sync client) to
``wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post``. Every
post of the network arrives; the brand's ``match`` filters locally. Commit ``create``/``update``
events become Mentions (``native_id`` = the at-uri ``at://{did}/app.bsky.feed.post/{rkey}``, author
handle = the DID, which is all Jetstream carries), commit ``delete`` events become
``Deletion``\\s (the store ignores ids it does not have).

Position: Jetstream cursors are times (``time_us``, unix microseconds) and it replays from a cursor.
Live events arrive slightly out of time order (tens of ms), so the position is the newest
``time_us`` processed plus short hashes of the events processed in the last ``rewind_s`` seconds
(``"<time_us>:<hash>,<hash>,…"``). Resuming connects ``rewind_s`` earlier and skips the events already
processed: nothing late is lost, nothing repeats. A bare ``"<time_us>"`` position is also accepted
(connect at it, skip events with ``time_us <=`` it). A dropped connection is re-opened the same way
(rewind + skip) after an exponential backoff.

One ``fetch`` returns when it has caught up (an event stamped at or after the moment the fetch
began), after ``idle_timeout_s`` without events, after ``duration_s``, or after ``max_events``
items, so ``brandpulse collect --once`` ends and ``--follow`` simply calls it again.

One Jetstream connection serves every configured brand (cursor key ``jetstream``): each post is matched
against every brand's query and a post naming several brands is one mention linked to each of them.

**Search** (``mode = "search"``): atproto's ``Client`` logged in with BLUESKY_HANDLE /
BLUESKY_APP_PASSWORD calls ``app.bsky.feed.searchPosts`` (``sort=latest``, ``since`` = the position),
pages back with the returned cursor to the position, then yields oldest first. 429 answers wait
for ``ratelimit-reset`` (injected ``sleep``). Login (``com.atproto.server.createSession`` at
``xrpc_url``) happens on the first fetch, never while the collectors are built, through one
`BlueskySession` shared by every brand; after it, requests go to the account's own server, the
``AtprotoPersonalDataServer`` endpoint in the session's ``didDoc`` (atproto's Client switches its
base URL to it). A refused or unreachable login is this source's failure only: the fetch raises
(the runner records it in source health, other sources carry on) and the next fetches retry the
login with exponential backoff (1 min doubling to 1 h); fetches inside the wait fail at once
without contacting the server.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from brandpulse.errors import ConfigError, CredentialsError, MalformedItemError, SourceError
from brandpulse.types import AuthorRef, Cursor, Deletion, Engagement, Mention
from listener.collector import BaseCollector, ListenOptions, RateLimited, SourceOptions, parse_options
from listener.common import BrandPlan, BrandTarget, backoff, brand_plans, link_matching, parse_retry_after, parse_time
from listener.query.compiling import Dialect, Lowering, conj_seqs, dnf, lower_positive_only, word_or_phrase
from listener.query.normal_form import NF
from listener.query.syntax import Field as QueryField

log = logging.getLogger(__name__)

DEFAULT_JETSTREAM_URL = "wss://jetstream2.us-east.bsky.network/subscribe"
DEFAULT_XRPC_URL = "https://bsky.social/xrpc"
POST_COLLECTION = "app.bsky.feed.post"
#: Largest frame accepted; bigger than any real post so a 1 MB junk record is skipped, not fatal.
MAX_FRAME_BYTES = 16 * 1024 * 1024
#: Frames buffered ahead of the consumer (backpressure beyond that; websockets' default is 16).
MAX_QUEUED_FRAMES = 4096
#: A close handshake waits at most this long (a paused reader cannot see the server's close frame).
CLOSE_TIMEOUT_S = 2.0
#: searchPosts filters ``since`` on sortAt, which may precede indexedAt: ask this much earlier.
SEARCH_SINCE_MARGIN = timedelta(minutes=10)
#: At most this many recent-event hashes go into a cursor.
MAX_RECENT_IN_CURSOR = 5000

Connect = Callable[..., ClientConnection]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- parsing
def expand_links(text: str, facets: Any) -> str:
    """Replace shortened link text (``www.example.com/pa...``) with the facet's full URI.

    Facet ranges are UTF-8 byte offsets; a facet that does not fit the text is ignored.
    """
    if not isinstance(facets, list) or not facets:
        return text
    spans: list[tuple[int, int, str]] = []
    for facet in facets:
        if not isinstance(facet, dict):
            continue
        raw_index, raw_features = facet.get("index"), facet.get("features")
        index: dict[str, Any] = raw_index if isinstance(raw_index, dict) else {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        features: list[Any] = raw_features if isinstance(raw_features, list) else []
        uri = next(
            (
                f.get("uri")
                for f in features
                if isinstance(f, dict) and f.get("$type") == "app.bsky.richtext.facet#link"
            ),
            None,
        )
        if isinstance(start, int) and isinstance(end, int) and isinstance(uri, str) and 0 <= start < end:
            spans.append((start, end, uri))
    if not spans:
        return text
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return text  # the Mention check reports it
    for start, end, uri in sorted(spans, reverse=True):
        if end <= len(data):
            data = data[:start] + uri.encode("utf-8") + data[end:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # a facet cut through a character: keep the original
        return text


def post_url(did: str, rkey: str) -> str:
    return f"https://bsky.app/profile/{did}/post/{rkey}"


def record_to_mention(
    uri: str,
    did: str,
    rkey: str,
    record: Any,
    *,
    brand: str | None,
    query: str | None,
    raw: dict[str, Any],
    author: AuthorRef | None = None,
    engagement: Engagement | None = None,
) -> Mention:
    """An ``app.bsky.feed.post`` record → Mention (MalformedItemError when it cannot be one)."""
    if not isinstance(record, dict):
        raise MalformedItemError(uri, "record is missing")
    text = record.get("text")
    if not isinstance(text, str):
        raise MalformedItemError(uri, "text is missing")
    langs = record.get("langs")
    reply = record.get("reply")
    parent = reply.get("parent") if isinstance(reply, dict) else None
    parent_uri = parent.get("uri") if isinstance(parent, dict) else None
    return Mention(
        platform="bluesky",
        native_id=uri,
        text=expand_links(text, record.get("facets")),
        created_at=parse_time(record.get("createdAt"), uri, "createdAt"),
        author=author or AuthorRef(handle=did),
        url=post_url(did, rkey),
        language=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        engagement=engagement or Engagement(),
        parent_id=parent_uri if isinstance(parent_uri, str) else None,
        brand=brand,
        query=query,
        raw=raw,
    )


# --------------------------------------------------------------------------- positions
def _event_hash(ev: dict[str, Any]) -> str:
    raw_commit = ev.get("commit")
    commit: dict[str, Any] = raw_commit if isinstance(raw_commit, dict) else {}
    key = "|".join(
        str(x)
        for x in (
            ev.get("time_us"),
            ev.get("did"),
            ev.get("kind"),
            commit.get("collection"),
            commit.get("rkey"),
            commit.get("operation"),
            commit.get("rev"),
        )
    )
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


class _Recent:
    """Hashes of the events processed within the rewind window (for gap-free, repeat-free resumes)."""

    def __init__(self, window_us: int) -> None:
        self.window_us = window_us
        self.items: OrderedDict[str, int] = OrderedDict()

    def __contains__(self, h: str) -> bool:
        return h in self.items

    def add(self, h: str, time_us: int, newest: int) -> None:
        self.items[h] = time_us
        floor = newest - 2 * self.window_us
        while self.items and next(iter(self.items.values())) < floor:
            self.items.popitem(last=False)

    def within(self, newest: int) -> list[str]:
        floor = newest - self.window_us
        hs = [h for h, t in self.items.items() if t >= floor]
        return hs[-MAX_RECENT_IN_CURSOR:]


def parse_position(position: str) -> tuple[int, set[str]] | None:
    head, _, tail = position.partition(":")
    if not head.isdigit():
        return None
    return int(head), {h for h in tail.split(",") if h}


# --------------------------------------------------------------------------- search dialect
_BSKY_HANDLE_RE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")


def _compile_bluesky(nf: NF, low: Lowering) -> tuple[str | None, list[str]]:
    """``app.bsky.feed.searchPosts`` ``q``: syntax officially unspecified; the reference implementation pulls
    ``from:``/``lang:``/``#tag`` out as global filters and runs the rest as an OpenSearch
    ``simple_query_string`` (AND by default, ``|`` for OR)."""
    conjs = dnf(lower_positive_only(nf, low, "Bluesky", lambda h: _BSKY_HANDLE_RE.fullmatch(h) is not None), low)
    queries: list[str] = []
    for conj in conjs:
        parts = [word_or_phrase(seq) for seq in conj_seqs(conj)]
        authors = sorted(lit.atom.value for lit in conj if isinstance(lit.atom, QueryField))
        if authors:  # searchPosts takes one author; a second from: can only narrow
            parts.append(f"from:{authors[0]}")
        queries.append(" ".join(parts))
    # One string: alternatives joined with "|" (OR in the reference implementation's
    # simple_query_string); from: is a global filter there, so it is left out.
    groups = [" ".join(word_or_phrase(seq) for seq in conj_seqs(c)) for c in conjs]
    single = (
        queries[0]
        if len(queries) == 1
        else " | ".join(f"({g})" if len(conj_seqs(c)) > 1 else g for g, c in zip(groups, conjs, strict=True))
    )
    return single, queries


BLUESKY_DIALECT = Dialect("bluesky", _compile_bluesky)



# --------------------------------------------------------------------------- options
class BlueskyOptions(ListenOptions):
    """``[sources.bluesky]`` keys."""

    renamed: ClassVar[dict[str, str]] = {"search_limit": "page_size", "catch_up": "stop_when_live"}

    mode: Literal["jetstream", "search"] = "jetstream"
    #: Jetstream subscribe URL (any public instance or your own).
    url: str = DEFAULT_JETSTREAM_URL
    #: Stop one fetch after this many items (Mentions + Deletions); None = no limit.
    max_events: int | None = Field(None, ge=1)
    #: Return once events reach the moment the fetch began (was ``catch_up``).
    stop_when_live: bool = True
    #: First run only: replay this far back (Jetstream keeps about a day). 0 = live only.
    lookback_s: float = Field(0.0, ge=0)
    #: Resumes and reconnects start this much earlier and skip what was processed (late events).
    rewind_s: float = Field(1.0, ge=0, le=60)
    max_reconnects: int = Field(8, ge=0)
    backoff_base_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(60.0, gt=0)
    open_timeout_s: float = Field(10.0, gt=0)
    #: Search mode: XRPC base URL to log in to, page size, pages per fetch.
    xrpc_url: str = DEFAULT_XRPC_URL
    #: Search mode: posts asked for per page (was ``search_limit``).
    page_size: int = Field(100, ge=1, le=100)
    max_pages: int = Field(10, ge=1)
    max_retries: int = Field(4, ge=0, le=10)
    #: Search mode: seconds to wait for one XRPC answer (a silent server is a network error, retried).
    timeout_s: float = Field(5.0, gt=0)


def _options(source_cfg: dict[str, Any]) -> BlueskyOptions:
    opts = parse_options(BlueskyOptions, "bluesky", source_cfg)
    if opts.mode == "jetstream" and urlsplit(opts.url).scheme not in ("ws", "wss"):
        raise ConfigError(f"[sources.bluesky] url: {opts.url!r} is not a ws:// or wss:// URL")
    return opts


# --------------------------------------------------------------------------- collector
class BlueskyCollector(BaseCollector[BlueskyOptions]):
    """Bluesky posts for one brand, from Jetstream (default) or searchPosts."""

    name: ClassVar[str] = "bluesky"
    dialect: ClassVar[Dialect | None] = BLUESKY_DIALECT
    Options: ClassVar[type[SourceOptions]] = BlueskyOptions
    secret_env: ClassVar[tuple[str, ...]] = ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD")

    def __init__(
        self,
        options: BlueskyOptions,
        client: Any = None,
        *,
        connect: Connect = ws_connect,
        targets: list[BrandTarget] | None = None,
        **common: Any,
    ) -> None:
        super().__init__(options, **common)
        if options.mode == "search" and client is None:
            raise ConfigError("[sources.bluesky] mode = 'search' needs an atproto Client or a BlueskySession")
        self.client = client  # search mode: a logged-in atproto Client, or a BlueskySession that logs in on first use
        #: Jetstream: every brand this connection serves (default: its own brand/query/match).
        self.targets = targets or [BrandTarget(self.brand, self.query, self.match)]
        self.mode = options.mode
        self.url = options.url
        self._connect = connect
        self.max_events = options.max_events
        self.duration_s = options.duration_s
        self.idle_timeout_s = options.idle_timeout_s
        self.stop_when_live = options.stop_when_live
        self.lookback_s = options.lookback_s
        self.rewind_us = int(options.rewind_s * 1_000_000)
        self.max_reconnects = options.max_reconnects
        self.backoff_base_s = options.backoff_base_s
        self.backoff_max_s = options.backoff_max_s
        self.open_timeout_s = options.open_timeout_s
        self.page_size = options.page_size
        self.max_pages = options.max_pages
        self._newest: int | None = None  # jetstream: newest time_us processed
        self._recent = _Recent(self.rewind_us)
        self._search_pos: str | None = None  # search: "indexedAt|uri,uri"
        self._reconnects = 0
        self._garbled_at: int | None = -1  # jetstream: the position a cut-off frame was last met at

    def __repr__(self) -> str:
        brands = [t.brand for t in self.targets] if self.mode == "jetstream" else [self.brand]
        return f"BlueskyCollector(brands={brands!r}, mode={self.mode!r}, url={self.url!r})"

    # -- config -------------------------------------------------------------------------
    @classmethod
    def parse_options(cls, source_cfg: Mapping[str, Any]) -> BlueskyOptions:
        return _options(dict(source_cfg))

    @classmethod
    def build(cls, options: Any, settings: Any) -> list[Any]:
        """Jetstream: one collector (one connection) for every brand; search: one per brand, sharing one session."""
        if options.mode == "search":
            return super().build(options, settings)
        targets = [BrandTarget(p.name, p.compiled("bluesky"), p.match) for p in brand_plans(settings)]
        return [cls(options, None, targets=targets, key="jetstream")] if targets else []

    @classmethod
    def shared_client(cls, options: BlueskyOptions) -> Any:
        """Search mode: a session that logs in on first use (credentials read now, so a missing one is a config error)."""
        if options.mode != "search":
            return None
        creds = cls.secret_values()
        return BlueskySession(options.xrpc_url, creds["BLUESKY_HANDLE"] or "", creds["BLUESKY_APP_PASSWORD"] or "",
                              timeout_s=options.timeout_s)

    @classmethod
    def brand_args(cls, plan: BrandPlan, options: BlueskyOptions, shared: Any) -> dict[str, Any]:
        return {**plan.collector_args(plan.compiled("bluesky")), "client": shared}

    # -- the contract -------------------------------------------------------------------
    def fetch(self, since: Cursor | None) -> Iterator[Mention | Deletion]:
        if self.mode == "search":
            return self._search(since)
        return self._jetstream(since)

    def cursor(self) -> Cursor | None:
        if self.mode == "search":
            if self._search_pos is None:
                return None
            return Cursor(source=self.name, key=self.key, position=self._search_pos)
        if self._newest is None:
            return None
        recent = self._recent.within(self._newest)
        position = f"{self._newest}:{','.join(recent)}" if recent else str(self._newest)
        return Cursor(source=self.name, key=self.key, position=position)

    def health(self) -> dict[str, Any]:
        return self.state.health(reconnects=self._reconnects)

    # -- jetstream ----------------------------------------------------------------------
    def _now_us(self) -> int:
        return (self._now() - EPOCH) // timedelta(microseconds=1)

    def _subscribe_url(self, cursor_us: int | None) -> str:
        parts = urlsplit(self.url)
        params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cursor"]
        if not any(k == "wantedCollections" for k, _ in params):
            params.append(("wantedCollections", POST_COLLECTION))
        if cursor_us is not None:
            params.append(("cursor", str(max(cursor_us, 0))))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(params), parts.fragment))

    def _start(self, since: Cursor | None) -> tuple[int | None, int | None, set[str]]:
        """(cursor to connect with, oldest time_us to accept, hashes already processed) for this fetch."""
        self._recent = _Recent(self.rewind_us)
        self._newest = None
        parsed = parse_position(since.position) if since and since.position else None
        if since and since.position and parsed is None:
            log.warning("bluesky %s: ignoring an unreadable cursor %r", self.key, since.position[:40])
        if parsed is not None:
            newest, done = parsed
            self._newest = newest
            if not done:  # a bare time: everything up to and including it was processed
                return newest, newest + 1, set()
            for h in done:  # carried forward until newer events push them out of the window
                self._recent.add(h, newest, newest)
            start = newest - self.rewind_us
            return start, start, done
        if self.lookback_s > 0:
            start = self._now_us() - int(self.lookback_s * 1_000_000)
            return start, start, set()
        return None, None, set()

    def _jetstream(self, since: Cursor | None) -> Iterator[Mention | Deletion]:
        connect_at, floor, done = self._start(since)
        started_us = self._now_us()
        deadline = time.monotonic() + self.duration_s
        state = {"items": 0, "failures": 0}
        while True:
            ws = self._open(connect_at, state)
            if ws is None:
                continue
            try:
                with ws:
                    finished = yield from self._read(ws, floor, done, started_us, deadline, state)
                if finished:
                    return
            except _Garbled:
                self._lost("a frame was cut off (not JSON); replaying from the cursor", state)
            except ConnectionClosed as exc:
                self._lost(f"connection closed ({exc.__class__.__name__})", state)
            except OSError as exc:
                self._lost(f"network error ({exc.__class__.__name__})", state)
            if self._newest is not None:
                connect_at = max(self._newest - self.rewind_us, floor or 0)

    def _open(self, cursor_us: int | None, state: dict[str, int]) -> ClientConnection | None:
        url = self._subscribe_url(cursor_us)
        try:
            return self._connect(
                url,
                open_timeout=self.open_timeout_s,
                close_timeout=CLOSE_TIMEOUT_S,
                max_size=MAX_FRAME_BYTES,
                max_queue=MAX_QUEUED_FRAMES,
                compression=None,
            )
        except InvalidURI as exc:
            raise ConfigError(f"[sources.bluesky] url: {self.url!r} is not a valid WebSocket URL") from exc
        except InvalidStatus as exc:  # refused (5xx, 429): wait what the server asked for, if it did
            status = exc.response.status_code
            wait = parse_retry_after(exc.response.headers.get("Retry-After"), self._now())
            if status == 429 or wait is not None:
                self.state.remaining = 0
                self.state.reset = self._now() + timedelta(seconds=wait or 0.0)
            self._lost(f"cannot connect to {self.url} (HTTP {status})", state, wait)
            return None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            self._lost(f"cannot connect to {self.url} ({exc.__class__.__name__})", state)
            return None

    def _lost(self, what: str, state: dict[str, int], wait: float | None = None) -> None:
        """Count a failure; back off exponentially (or `wait`, as the server asked), or give up with SourceError."""
        state["failures"] += 1
        self.state.last_error = what
        if state["failures"] > self.max_reconnects:
            raise SourceError(f"bluesky jetstream: {what}; gave up after {self.max_reconnects} reconnects")
        self._reconnects += 1
        if wait is None:
            wait = backoff(state["failures"], self.backoff_base_s, self.backoff_max_s)
        log.info("bluesky jetstream: %s; reconnecting in %.1f s", what, wait)
        self._sleep(wait)

    def _read(
        self,
        ws: ClientConnection,
        floor: int | None,
        done: set[str],
        started_us: int,
        deadline: float,
        state: dict[str, int],
    ) -> Generator[Mention | Deletion, None, bool]:
        """Events from one connection; returns True when this fetch is finished."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            try:
                message = ws.recv(timeout=min(self.idle_timeout_s, left))
            except TimeoutError:
                return True  # idle (or out of time): caught up as far as the stream goes
            state["failures"] = 0
            self.state.last_error = None
            self.state.remaining = self.state.reset = None
            event = self._decode(message)
            if event is None:
                continue
            time_us = event["time_us"]
            if floor is not None and time_us < floor:
                continue
            h = _event_hash(event)
            if h in done or h in self._recent:
                continue
            self._newest = max(self._newest or 0, time_us)
            self._recent.add(h, time_us, self._newest)
            for item in self._items(event):
                state["items"] += 1
                yield item
                if self.max_events is not None and state["items"] >= self.max_events:
                    return True
            if self.stop_when_live and time_us >= started_us:
                return True

    def _decode(self, message: str | bytes) -> dict[str, Any] | None:
        if isinstance(message, bytes):
            try:
                message = message.decode("utf-8")
            except UnicodeDecodeError as exc:
                log.warning("bluesky jetstream: skipped a frame that is not UTF-8 (byte %d)", exc.start)
                return None
        try:
            event = json.loads(message)
        except json.JSONDecodeError as exc:
            if self._garbled_at != self._newest:  # a frame cut in transit: replay from the cursor, once per position
                self._garbled_at = self._newest
                log.warning("bluesky jetstream: a frame is not JSON (%s); replaying from the cursor", exc.msg)
                raise _Garbled from None
            log.warning("bluesky jetstream: skipped a frame that is not JSON (%s)", exc.msg)
            return None
        if not isinstance(event, dict) or not isinstance(event.get("time_us"), int):
            log.warning("bluesky jetstream: skipped an event without time_us: %.120s", message)
            return None
        return event

    def _items(self, event: dict[str, Any]) -> Iterator[Mention | Deletion]:
        commit = event.get("commit")
        if event.get("kind") != "commit" or not isinstance(commit, dict):
            return  # identity / account events
        if commit.get("collection") != POST_COLLECTION:
            return
        did, rkey, op = event.get("did"), commit.get("rkey"), commit.get("operation")
        if not isinstance(did, str) or not did or not isinstance(rkey, str) or not rkey:
            log.warning("bluesky jetstream: skipped a post event without did/rkey at time_us %s", event["time_us"])
            return
        uri = f"at://{did}/{POST_COLLECTION}/{rkey}"
        if op == "delete":
            yield Deletion(platform="bluesky", native_id=uri)
            return
        if op not in ("create", "update"):
            return
        try:
            mention = record_to_mention(uri, did, rkey, commit.get("record"), brand=None, query=None, raw=event)
        except MalformedItemError as exc:
            log.warning("bluesky: skipped post %s: %s", uri, exc.reason)
            return
        if link_matching(mention, self.targets):
            yield mention

    # -- search -------------------------------------------------------------------------
    def _search(self, since: Cursor | None) -> Iterator[Mention | Deletion]:
        """searchPosts newest-first pages back to the position, then yields oldest first.

        The position is ``"<indexedAt>|<uri>,<uri>"``: the newest ``indexedAt`` taken and the posts
        taken at exactly that instant. ``since`` is sent a margin earlier (the server filters on
        ``sortAt``, which can be earlier than ``indexedAt``); older or already-taken posts are dropped here.
        """
        self._search_pos = since.position if since and since.position else None
        floor_s, done = _parse_search_pos(self._search_pos)
        floor = _iso(floor_s) if floor_s else None
        if floor is None:
            floor = self._now() - timedelta(seconds=self.lookback_s or 86400)
        since_param = (floor - SEARCH_SINCE_MARGIN).isoformat().replace("+00:00", "Z")
        q = self.query or f'"{self.brand}"'
        collected: dict[str, tuple[datetime, str, dict[str, Any]]] = {}
        page_cursor: str | None = None
        self.state.gap_warning = None
        for page_no in range(self.max_pages):
            resp = self._search_call(q, since_param, page_cursor)
            posts = [p for p in resp.get("posts") or [] if isinstance(p, dict)]
            oldest: datetime | None = None
            for pv in posts:
                uri, at_s = pv.get("uri"), pv.get("indexedAt")
                at = _iso(at_s) if isinstance(at_s, str) else None
                if not isinstance(uri, str) or at is None:
                    log.warning("bluesky search: skipped post %s: uri/indexedAt missing or not a date", uri)
                    continue
                oldest = at if oldest is None or at < oldest else oldest
                if at < floor or (at == floor and uri in done):
                    continue
                collected.setdefault(uri, (at, str(at_s), pv))
            page_cursor = resp.get("cursor")
            if not page_cursor or not posts or (oldest is not None and oldest < floor):
                break
            if page_no == self.max_pages - 1:
                self.state.gap_warning = f"more than {self.max_pages} pages of new results; the oldest were not read"
                log.warning("bluesky search %r: %s", q, self.state.gap_warning)
        for uri, (_, at_s, pv) in sorted(collected.items(), key=lambda kv: (kv[1][0], kv[0])):
            self._advance_search_pos(at_s, uri)
            mention = self._view_to_mention(pv)
            if mention is not None and self.wanted(mention):
                yield mention

    def _advance_search_pos(self, at: str, uri: str) -> None:
        cur_at, done = _parse_search_pos(self._search_pos)
        if cur_at is not None and _iso(cur_at) == _iso(at):
            done.add(uri)
        else:
            done = {uri}
        self._search_pos = f"{at}|{','.join(sorted(done))}"

    def _view_to_mention(self, pv: dict[str, Any]) -> Mention | None:
        uri = pv["uri"]
        try:
            author = pv.get("author") or {}
            did = author.get("did")
            if not isinstance(did, str) or not did:
                raise MalformedItemError(uri, "author.did is missing")
            rkey = uri.rsplit("/", 1)[-1]
            return record_to_mention(
                uri,
                did,
                rkey,
                pv.get("record"),
                brand=self.brand,
                query=self.query,
                raw=pv,
                author=AuthorRef(handle=author.get("handle") or did, display_name=author.get("displayName") or None),
                engagement=Engagement(
                    likes=max(int(pv.get("likeCount") or 0), 0),
                    reposts=max(int(pv.get("repostCount") or 0) + int(pv.get("quoteCount") or 0), 0),
                    replies=max(int(pv.get("replyCount") or 0), 0),
                ),
            )
        except MalformedItemError as exc:
            log.warning("bluesky search: skipped post %s: %s", uri, exc.reason)
        except (TypeError, ValueError) as exc:
            log.warning("bluesky search: skipped post %s: %s", uri, exc)
        return None

    def _search_call(self, q: str, since_iso: str, cursor: str | None) -> dict[str, Any]:
        """One searchPosts page as the server's own JSON (through the atproto Client: session, errors)."""
        from atproto_client import models

        params = models.AppBskyFeedSearchPosts.Params(
            q=q, sort="latest", since=since_iso, limit=self.page_size, cursor=cursor
        )
        client = self.client.client(self._now()) if isinstance(self.client, BlueskySession) else self.client
        resp = self.call_with_limits(
            "searchPosts",
            client.invoke_query,
            "app.bsky.feed.searchPosts",
            params=params,
            output_encoding="application/json",
        )
        self.state.last_error = None
        self._note_rate_headers(getattr(resp, "headers", None) or {})
        content = resp.content
        if not isinstance(content, dict):
            raise SourceError("bluesky searchPosts answered with something that is not a JSON object")
        return content

    def is_transient(self, exc: BaseException) -> bool:
        return _is_transient(exc)

    def rate_limit_of(self, exc: BaseException) -> RateLimited | None:
        from atproto_client.exceptions import RateLimitExceededError

        if isinstance(exc, RateLimitExceededError):
            return RateLimited(seconds=exc.retry_after, reset=exc.reset_at)
        return super().rate_limit_of(exc)

    def rate_limit_wait(self, seconds: float | None, attempt: int) -> float:
        return min(super().rate_limit_wait(seconds, attempt), 15 * 60.0)

    def translate(self, exc: BaseException, what: str) -> BaseException:
        from atproto_client.exceptions import UnauthorizedError

        if isinstance(exc, UnauthorizedError):
            self.state.last_error = "session refused"
            return CredentialsError(
                "bluesky: the server refused the session (401/403); check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD"
            )
        if _is_transient(exc):
            self.state.last_error = f"server or network error ({_status(exc)})"
            tries = self.options.max_retries + 1
            return SourceError(f"bluesky {what} still failing after {tries} attempts ({_status(exc)})")
        self.state.last_error = _status(exc)
        return SourceError(f"bluesky {what} failed ({_status(exc)})")

    def _note_rate_headers(self, headers: dict[str, Any]) -> None:
        remaining, reset = headers.get("ratelimit-remaining"), headers.get("ratelimit-reset")
        if isinstance(remaining, str) and remaining.isdigit():
            self.state.remaining = int(remaining)
        if isinstance(reset, str) and reset.isdigit():
            self.state.reset = datetime.fromtimestamp(int(reset), UTC)


class _Garbled(Exception):
    """A Jetstream frame that is not JSON (cut off on the way): the connection is dropped and replayed."""


def _status(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return f"HTTP {response.status_code}" if response is not None else exc.__class__.__name__


def _is_transient(exc: BaseException) -> bool:
    """Network failures and 5xx answers are worth retrying; 4xx (incl. 429, handled apart) are not."""
    from atproto_client.exceptions import NetworkError, RateLimitExceededError, RequestErrorBase

    if isinstance(exc, NetworkError):
        return True
    if isinstance(exc, RateLimitExceededError) or not isinstance(exc, RequestErrorBase):
        return False
    response = exc.response
    return response is not None and response.status_code >= 500


def _iso(value: str) -> datetime | None:
    try:
        return parse_time(value, None)
    except MalformedItemError:
        return None


def _parse_search_pos(position: str | None) -> tuple[str | None, set[str]]:
    if not position:
        return None, set()
    at, _, uris = position.partition("|")
    return (at or None), {u for u in uris.split(",") if u}


def new_client(xrpc_url: str, timeout_s: float) -> Any:
    """An atproto Client for `xrpc_url` (not logged in). Test seam: tests swap it for one with a local transport."""
    from atproto import Client
    from atproto_client.request import Request

    return Client(base_url=xrpc_url, request=Request(timeout=timeout_s))


class BlueskySession:
    """One atproto session for every search collector of the source, logged in on first use.

    A failed login raises (``CredentialsError`` when refused, ``SourceError`` when the server cannot be
    reached) and is retried by a later call once the backoff has passed (`base_wait_s` doubling up to
    `max_wait_s`); a call inside the wait raises ``SourceError`` at once, without contacting the server.
    """

    def __init__(
        self,
        xrpc_url: str,
        handle: str,
        password: str,
        *,
        base_wait_s: float = 60.0,
        max_wait_s: float = 3600.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.xrpc_url = xrpc_url
        self.timeout_s = timeout_s
        self._handle = handle
        self._password = password
        self.base_wait_s = base_wait_s
        self.max_wait_s = max_wait_s
        self._client: Any = None
        self.failures = 0
        self.next_try: datetime | None = None
        self.last_error: str | None = None

    def __repr__(self) -> str:  # never the password
        return f"BlueskySession(xrpc_url={self.xrpc_url!r}, logged_in={self._client is not None})"

    def client(self, now: datetime) -> Any:
        """The logged-in client (logging in if needed)."""
        if self._client is not None:
            return self._client
        if self.next_try is not None and now < self.next_try:
            raise SourceError(
                f"bluesky: login failed ({self.last_error}); next attempt after {self.next_try:%Y-%m-%d %H:%M:%S} UTC"
            )
        try:
            self._client = _login(self.xrpc_url, self._handle, self._password, self.timeout_s)
        except (CredentialsError, SourceError) as exc:
            self.failures += 1
            self.last_error = str(exc).removeprefix("bluesky: ")
            self.next_try = now + timedelta(seconds=backoff(self.failures, self.base_wait_s, self.max_wait_s))
            raise
        self.failures, self.next_try, self.last_error = 0, None, None
        return self._client


def _login(xrpc_url: str, handle: str, password: str, timeout_s: float) -> Any:
    """A Client logged in at `xrpc_url`; after login it talks to the session's own server (didDoc's PDS)."""
    from atproto_client.exceptions import AtProtocolError, UnauthorizedError

    client = new_client(xrpc_url, timeout_s)
    try:
        client.login(handle, password, fetch_bsky_profile=False)
    except UnauthorizedError:
        raise CredentialsError("bluesky: login refused; check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD") from None
    except AtProtocolError as exc:
        raise SourceError(f"bluesky: login to {xrpc_url} failed ({_status(exc)})") from None
    return client


__all__ = ["BlueskyCollector", "BlueskyOptions", "BlueskySession", "expand_links", "parse_position", "record_to_mention"]
