"""Reddit collector: submission search and subreddit comment streams, through praw.

Search (``GET /r/<subs>/search?sort=new``)
    ``reddit.subreddit("all" | "a+b").search(query, sort="new", time_filter=…)``, with the brand's
    query compiled to Reddit's Lucene syntax. Results come newest first; a run reads down to the
    cursor (the newest submission fullname already taken, ``t3_…``; base-36 ids grow with time),
    then yields oldest first, so a run stopped at an item boundary resumes with nothing missed or
    repeated. Reddit listings stop after about 1000 items: when a run reaches that limit without
    meeting the cursor, ``health()["gap_warning"]`` says older matches were not reachable.

Comment streams (``GET /r/<subs>/comments``)
    ``subreddit.stream.comments(continue_after_id=<cursor>, pause_after=-1)``: praw pages forward
    with ``before=<newest seen>``, oldest first; the run ends at the first response with nothing
    new (so ``brandpulse collect --once`` returns). Comments have no server-side search, so every
    comment is filtered locally with the brand query. If the anchor comment was deleted Reddit
    answers ``before=`` with nothing; praw then re-reads the newest comments and anything at or
    below the cursor is dropped (with a gap warning if the anchor was far behind).

The cursor position is JSON with one fullname per mode: ``{"comments": "t1_…", "search": "t3_…",
"search_utc": <created_utc of that submission>}``; with that time a later run widens ``time_filter``
(hour → day → week → month → year → all) as far as needed to reach back to the cursor.

A submission is ``title`` + blank line + ``selftext``; a comment is its ``body``. ``native_id`` is
the fullname (``t3_…``/``t1_…``), ``parent_id`` the comment's parent fullname. Reddit listings
carry no follower counts: ``AuthorRef.followers`` stays None (the author name is kept). Engagement:
``score`` → likes (floored at 0: Reddit scores can be negative), ``num_comments`` → replies,
``num_crossposts`` → reposts.

Rate limits: praw/prawcore pace requests from ``x-ratelimit-remaining``/``-used``/``-reset`` on
their own; ``health()`` shows ``reddit.auth.limits`` and the reset time seen on responses. On a
429 (``prawcore.TooManyRequests``) the collector waits (injected ``sleep``) for
``x-ratelimit-reset`` / ``retry-after`` seconds and continues where it was. 5xx and network
errors (after prawcore's own two retries) are retried with exponential backoff (tenacity), then
raise ``SourceError``.

Test seam: ``praw.Reddit(oauth_url=…, reddit_url=…, requestor_kwargs={"session": …})`` against a
local fake that also serves the OAuth token endpoint (``POST /api/v1/access_token``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Generator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import praw
import prawcore
import requests
from pydantic import Field

from brandpulse.errors import ConfigError, CredentialsError, MalformedItemError, SourceError
from brandpulse.types import AuthorRef, Cursor, Engagement, Mention
from listener.collector import BaseCollector, RateLimited, SourceOptions, parse_options
from listener.common import BrandPlan, backoff, describe
from listener.query.compiling import Dialect, Lowering, positives_first, seq_text, word_or_phrase
from listener.query.normal_form import NF, TRUE, Lit, NAnd, NOr
from listener.query.syntax import Field as QueryField

log = logging.getLogger(__name__)

SOURCE = "reddit"
SITE = "https://www.reddit.com"
_TRANSIENT = (prawcore.exceptions.ServerError, prawcore.exceptions.RequestException)
_AUTH_ERRORS = (prawcore.exceptions.OAuthException, prawcore.exceptions.InvalidToken)
_PRAW_ERRORS = (prawcore.exceptions.PrawcoreException, praw.exceptions.PRAWException)
_PRAW_INTERNAL = frozenset({"comment_limit", "comment_sort"})
_END = object()


# --------------------------------------------------------------------------- parsing
def id36(fullname: str | None) -> int | None:
    """The numeric value of a Reddit fullname's base-36 id (``t3_abc`` → 13368), None if unreadable."""
    if not isinstance(fullname, str) or "_" not in fullname:
        return None
    try:
        return int(fullname.split("_", 1)[1], 36)
    except ValueError:
        return None


def _fullname(item: Any, data: Mapping[str, Any]) -> str | None:
    name = data.get("name")
    if isinstance(name, str) and name.startswith(("t1_", "t3_")) and id36(name) is not None:
        return name
    ident = data.get("id")
    if isinstance(ident, str) and ident.isalnum():
        return ("t1_" if isinstance(item, praw.models.Comment) else "t3_") + ident
    return None


def _jsonable(value: Any) -> Any:
    """praw attribute values as plain JSON data (Redditor → name, Subreddit → display name)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def raw_payload(item: Any) -> dict[str, Any]:
    """The listing child's data as praw received it (minus praw's own bookkeeping attributes)."""
    data = vars(item)
    return {k: _jsonable(v) for k, v in data.items() if not k.startswith("_") and k not in _PRAW_INTERNAL}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def item_url(data: Mapping[str, Any], fullname: str) -> str | None:
    """The item's page: its ``permalink``, else built from the ids (old listings have no ``permalink``).

    A submission is ``/r/<sub>/comments/<id>/``, a comment ``/r/<sub>/comments/<link id>/_/<id>/``
    (Reddit accepts any slug in place of the title, ``_`` included); without a subreddit, ``/comments/…``.
    """
    permalink = data.get("permalink")
    if isinstance(permalink, str) and permalink.startswith("/"):
        return SITE + permalink
    sub = data.get("subreddit")
    name = str(getattr(sub, "display_name", sub) or "") if sub is not None else ""
    prefix = f"{SITE}/r/{name}" if re.fullmatch(r"[A-Za-z0-9_]{2,21}", name) else SITE
    ident = fullname[3:]
    if fullname.startswith("t3_"):
        return f"{prefix}/comments/{ident}/"
    link = data.get("link_id")
    if isinstance(link, str) and link.startswith("t3_") and link[3:].isalnum():
        return f"{prefix}/comments/{link[3:]}/_/{ident}/"
    return None


def parse_item(item: Any, *, brand: str | None, query: str | None) -> Mention:
    """A praw Submission or Comment as a Mention (attributes read from the listing data only)."""
    data = vars(item)  # never getattr: a missing attribute would make praw fetch the item
    nid = _fullname(item, data)
    if nid is None:
        raise MalformedItemError(None, "fullname/id is missing")
    created = data.get("created_utc")
    if not isinstance(created, int | float) or isinstance(created, bool):
        raise MalformedItemError(nid, f"created_utc {created!r} is missing or not a number")
    try:
        created_at = datetime.fromtimestamp(float(created), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedItemError(nid, f"created_utc {created!r} is out of range") from None
    if "author" not in data:
        raise MalformedItemError(nid, "author is missing")
    author = data["author"]
    handle = getattr(author, "name", None) if author is not None else "[deleted]"
    if not isinstance(handle, str) or not handle:
        raise MalformedItemError(nid, "author name is missing")
    is_comment = nid.startswith("t1_")
    if is_comment:
        text = data.get("body")
        if not isinstance(text, str):
            raise MalformedItemError(nid, "body is missing")
    else:
        title, selftext = data.get("title"), data.get("selftext")
        if not isinstance(title, str):
            raise MalformedItemError(nid, "title is missing")
        text = f"{title}\n\n{selftext}" if isinstance(selftext, str) and selftext.strip() else title
    parent = data.get("parent_id") if is_comment else None
    return Mention(
        platform=SOURCE,
        native_id=nid,
        text=text,
        created_at=created_at,
        author=AuthorRef(handle=handle, display_name=None, followers=None),
        url=item_url(data, nid),
        language=None,
        engagement=Engagement(
            likes=max(_int(data.get("score")), 0),
            reposts=0 if is_comment else _int(data.get("num_crossposts")),
            replies=0 if is_comment else _int(data.get("num_comments")),
        ),
        parent_id=parent if isinstance(parent, str) else None,
        brand=brand,
        query=query,
        raw=raw_payload(item),
    )


# --------------------------------------------------------------------------- search dialect
_REDDIT_USER_RE = re.compile(r"[a-z0-9_-]{3,20}")


def _lower_reddit(nf: NF, low: Lowering) -> NF:
    def lit(n: Lit) -> NF:
        atom = n.atom
        if isinstance(atom, QueryField):
            if atom.name == "lang":
                low.widen("Reddit search has no language filter: lang: is applied locally")
                return TRUE
            if _REDDIT_USER_RE.fullmatch(atom.value) is None:
                low.widen(f"from:{atom.value} is not a Reddit username; searched without it")
                return TRUE
            return n
        if n.neg:
            low.widen(f"NOT {word_or_phrase(atom)}: Reddit stems words, so exclusions are applied locally")
            return TRUE
        return low.as_plain_words(n, "Reddit") if any(s for s, _ in atom.tokens) else n

    return low.drop_negative_ors(low.lower(nf, lit))


def _render_reddit(n: NF) -> str:
    if isinstance(n, Lit):
        atom = n.atom
        if isinstance(atom, QueryField):
            core = f"author:{atom.value}"
        else:
            text = seq_text(atom)
            core = f'"{text}"' if len(atom.tokens) > 1 else text
        return f"NOT {core}" if n.neg else core
    if isinstance(n, NAnd | NOr):
        joiner = " AND " if isinstance(n, NAnd) else " OR "
        items = positives_first(n) if isinstance(n, NAnd) else n.items
        return joiner.join(f"({_render_reddit(c)})" if isinstance(c, NAnd | NOr) else _render_reddit(c) for c in items)
    raise AssertionError("constants are folded away before rendering")  # pragma: no cover


def _compile_reddit(nf: NF, low: Lowering) -> tuple[str | None, list[str]]:
    """Lucene syntax (praw's default ``syntax="lucene"``): ``AND``/``OR``/``NOT``, parentheses, ``"phrase"``,
    ``author:``. Reddit stems and has no language filter, so negated words and ``lang:`` are dropped;
    ``NOT author:x`` is kept."""
    text = _render_reddit(_lower_reddit(nf, low))
    return text, [text]


REDDIT_DIALECT = Dialect("reddit", _compile_reddit)



def _force_timeout(session: requests.Session, timeout_s: float) -> None:
    """Every request on `session` waits at most `timeout_s`: prawcore sends its own fixed timeout (16 s, or
    PRAWCORE_TIMEOUT) with every request, and praw 8 ignores its ``timeout`` setting."""
    request = session.request

    def timed(*args: Any, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = timeout_s
        return request(*args, **kwargs)

    session.request = timed  # type: ignore[method-assign]


# --------------------------------------------------------------------------- options
class RedditOptions(SourceOptions):
    """``[sources.reddit]`` options."""

    #: Subreddits searched for submissions ("all" = the whole site).
    subreddits: list[str] = Field(default_factory=lambda: ["all"])
    #: Search submissions at all (False: comment streams only).
    search: bool = True
    #: Subreddits whose comment streams are read and filtered locally (none by default).
    comment_subreddits: list[str] = Field(default_factory=list)
    #: How far back the first search run looks: hour, day, week, month, year or all.
    time_filter: Literal["hour", "day", "week", "month", "year", "all"] = "week"
    #: Most submissions one search run reads (Reddit listings end near 1000).
    search_limit: int = Field(1000, ge=1, le=1000)
    #: First run of a comment stream: skip the comments that exist already (about 100).
    skip_existing: bool = False
    #: Retries of one request on 5xx/network errors after its first attempt (beyond prawcore's own retries).
    max_retries: int = Field(2, ge=0, le=20)
    #: 429 waits allowed per request before RateLimitedError.
    max_rate_limit_waits: int = Field(5, ge=0, le=100)
    #: Seconds to wait for Reddit to answer one request.
    request_timeout: float = Field(16.0, gt=0, le=300)


def _options(source_cfg: Mapping[str, Any]) -> RedditOptions:
    opts = parse_options(RedditOptions, SOURCE, source_cfg)
    for key in ("subreddits", "comment_subreddits"):
        for name in getattr(opts, key):
            if not name or not name.replace("_", "").isalnum():
                raise ConfigError(f"[sources.reddit] {key}: {name!r} is not a subreddit name (write it without r/)")
    if opts.search and not opts.subreddits:
        raise ConfigError("[sources.reddit] subreddits: give at least one subreddit (or 'all') to search")
    return opts


def _parse_position(since: Cursor | None) -> dict[str, Any]:
    if since is None or not since.position.strip():
        return {}
    text = since.position.strip()
    if text.startswith(("t1_", "t3_")):  # a bare fullname
        return {"comments" if text.startswith("t1_") else "search": text}
    try:
        data = json.loads(text)
    except ValueError:
        log.warning("ignoring Reddit cursor %r: not JSON", text[:40])
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {k: v for k, v in data.items() if k in ("search", "comments") and id36(v) is not None}
    if "search" in out and isinstance(data.get("search_utc"), int | float) and not isinstance(data["search_utc"], bool):
        out["search_utc"] = float(data["search_utc"])
    return out


#: Reddit search `t` windows, narrowest first.
TIME_WINDOWS: dict[str, timedelta | None] = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=31),
    "year": timedelta(days=365),
    "all": None,
}


def covering_time_filter(configured: str, since_utc: float | None, now: datetime) -> str:
    """The configured search window, widened (hour → … → all) until it reaches back to `since_utc`."""
    if since_utc is None:
        return configured
    age = now - datetime.fromtimestamp(since_utc, tz=UTC) + timedelta(minutes=5)
    names = list(TIME_WINDOWS)
    for name in names[names.index(configured) :]:
        window = TIME_WINDOWS[name]
        if window is None or window >= age:
            return name
    return "all"


# --------------------------------------------------------------------------- collector
class RedditCollector(BaseCollector[RedditOptions]):
    """Mentions of one brand from Reddit submission search and subreddit comment streams."""

    name: ClassVar[str] = SOURCE
    label: ClassVar[str] = "Reddit"
    dialect: ClassVar[Dialect | None] = REDDIT_DIALECT
    Options: ClassVar[type[SourceOptions]] = RedditOptions
    secret_env: ClassVar[tuple[str, ...]] = ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USER_AGENT")
    transient_errors: ClassVar[tuple[type[BaseException], ...]] = _TRANSIENT
    rate_limit_cap: ClassVar[float] = 600.0

    def __init__(
        self, options: RedditOptions, client: praw.Reddit, *, session: requests.Session | None = None, **common: Any
    ) -> None:
        super().__init__(options, **common)
        self.reddit = client
        self.subreddits = list(options.subreddits)
        self.search = options.search
        self.comment_subreddits = list(options.comment_subreddits)
        self.time_filter = options.time_filter
        self.search_limit = options.search_limit
        self.skip_existing = options.skip_existing
        self._pos: dict[str, Any] = {}
        self._advanced = False
        self._used: int | None = None
        if session is not None:
            session.hooks.setdefault("response", []).append(self._observe)

    def __repr__(self) -> str:
        return f"RedditCollector(brand={self.brand!r}, query={self.query!r})"

    # -- the contract -------------------------------------------------------------------
    def fetch(self, since: Cursor | None) -> Iterator[Mention]:
        start = _parse_position(since)
        self._pos = dict(start)
        self.state.gap_warning = None
        if self.search and self.subreddits:
            if self.query:
                yield from self._search(start.get("search"), start.get("search_utc"))
            else:
                log.info("Reddit: brand %s has no Reddit query; search skipped", self.brand)
        if self.comment_subreddits:
            yield from self._comments(start.get("comments"))

    def cursor(self) -> Cursor | None:
        if not self._advanced:
            return None
        position = json.dumps(self._pos, sort_keys=True)
        return Cursor(source=SOURCE, key=self.key, position=position, updated_at=self._now())

    def health(self) -> dict[str, Any]:
        remaining, used = self.state.remaining, self._used
        try:
            limits = self.reddit.auth.limits
            if limits.get("remaining") is not None:
                remaining = int(float(limits["remaining"] or 0))
            if limits.get("used") is not None:
                used = int(limits["used"] or 0)
        except Exception:  # health is informational; praw's internals may differ between versions
            pass
        return self.state.health(rate_limit_used=int(used) if used is not None else None) | {
            "rate_limit_remaining": int(remaining) if remaining is not None else None
        }

    @classmethod
    def parse_options(cls, source_cfg: Mapping[str, Any]) -> RedditOptions:
        return _options(source_cfg)

    @classmethod
    def shared_client(cls, options: RedditOptions) -> tuple[praw.Reddit, requests.Session]:
        """One read-only praw.Reddit (app-only OAuth) for every brand."""
        creds = cls.secret_values()
        session = requests.Session()
        _force_timeout(session, options.request_timeout)
        reddit = praw.Reddit(
            client_id=creds["REDDIT_CLIENT_ID"],
            client_secret=creds["REDDIT_CLIENT_SECRET"],
            user_agent=creds["REDDIT_USER_AGENT"],
            check_for_updates=False,
            requestor_kwargs={"session": session},
        )
        reddit.read_only = True
        return reddit, session

    @classmethod
    def brand_args(cls, plan: BrandPlan, options: RedditOptions, shared: Any) -> dict[str, Any]:
        reddit, session = shared
        return {**plan.collector_args(plan.compiled(SOURCE)), "client": reddit, "session": session}

    # -- search -------------------------------------------------------------------------
    def _search(self, floor: str | None, floor_utc: float | None) -> Iterator[Mention]:
        subreddit = self.reddit.subreddit("+".join(self.subreddits))
        time_filter = covering_time_filter(self.time_filter, floor_utc, self._now())
        if time_filter != self.time_filter:
            log.info("Reddit search for %s: time_filter widened to %r to reach the cursor", self.brand, time_filter)
        listing = subreddit.search(self.query or "", sort="new", time_filter=time_filter, limit=self.search_limit)
        floor_n = id36(floor)
        batch: list[tuple[int, Any]] = []
        met_floor = False
        while True:
            item = self._next(listing, "search")
            if item is _END:
                break
            n = id36(_fullname(item, vars(item)))
            if n is None:
                log.warning("skipping malformed Reddit item %s: fullname/id is missing", vars(item).get("id"))
                continue
            if floor_n is not None and n <= floor_n:
                met_floor = True
                break
            batch.append((n, item))
        if floor_n is not None and not met_floor and len(batch) >= self.search_limit:
            self._warn_gap(
                f"Reddit search for brand {self.brand} read {len(batch)} submissions (the listing limit) without "
                f"reaching the cursor {floor}: older matching submissions could not be fetched"
            )
        for _, item in sorted(batch, key=lambda pair: pair[0]):
            mention = self._process("search", item)
            if mention is not None:
                yield mention

    def _next(self, iterator: Iterator[Any], what: str) -> Any:
        """next(iterator) with 429 waits and transient-error retries (a ListingGenerator resumes its page)."""
        return self.call_with_limits(what, next, iterator, _END)

    # -- comment streams ------------------------------------------------------------------
    def _comments(self, floor: str | None) -> Iterator[Mention]:
        subreddit = self.reddit.subreddit("+".join(self.comment_subreddits))
        floor_n = id36(floor)
        skipping = floor is None and self.skip_existing
        state = {"new": 0, "responses": 0, "fallback": False, "met_floor": False}
        waits = failures = 0
        while True:
            anchor = self._pos.get("comments")
            stream = subreddit.stream.comments(pause_after=-1, skip_existing=False, continue_after_id=anchor)
            try:
                done = yield from self._drain(stream, floor_n, state, skipping)
            except prawcore.exceptions.TooManyRequests as exc:
                waits += 1
                self._wait_out(RateLimited() if (limit := self.rate_limit_of(exc)) is None else limit, waits, "comment stream")
                continue
            except _TRANSIENT as exc:
                failures += 1
                self.state.last_error = describe(exc)
                if failures > self.options.max_retries:
                    raise self._translate(exc, "comment stream") from None
                delay = backoff(failures, 1.0, 60.0)
                log.warning("Reddit comment stream failed (%s); retrying in %.0f s", describe(exc), delay)
                self._sleep(delay)
                continue
            except _PRAW_ERRORS as exc:
                raise self._translate(exc, "comment stream") from None
            finally:
                stream.close()
            if done:
                if state["fallback"] and state["new"] and not state["met_floor"]:
                    self._warn_gap(
                        f"Reddit comment stream anchor {floor} is gone; comments between it and the oldest one "
                        "read now may be missing"
                    )
                return

    def _drain(
        self, stream: Iterator[Any], floor_n: int | None, state: dict[str, Any], skipping: bool
    ) -> Generator[Mention, None, bool]:
        """Read one praw stream until a response brings nothing new; returns True when caught up."""
        in_response = 0
        for item in stream:
            if item is None:  # pause_after=-1: end of one response
                state["responses"] += 1
                if in_response == 0:
                    if state["new"] == 0 and not state["fallback"] and floor_n is not None:
                        state["fallback"] = True  # praw now re-reads without `before` (anchor deleted?)
                        continue
                    return True
                in_response = 0
                continue
            in_response += 1
            fullname = _fullname(item, vars(item))
            n = id36(fullname)
            if fullname is None or n is None:
                log.warning("skipping malformed Reddit item %s: fullname/id is missing", vars(item).get("id"))
                continue
            current = id36(self._pos.get("comments"))
            if current is not None and n <= current:
                state["met_floor"] = True  # read before (or the fallback re-read reached the cursor)
                continue
            state["new"] += 1
            if skipping and state["responses"] == 0:
                self._set("comments", fullname)  # first run with skip_existing: remember, don't yield
                continue
            mention = self._process("comments", item)
            if mention is not None:
                yield mention
        return True

    # -- helpers ------------------------------------------------------------------------
    def _process(self, mode: str, item: Any) -> Mention | None:
        fullname = _fullname(item, vars(item))
        if fullname is not None and self._set(mode, fullname) and mode == "search":
            created = vars(item).get("created_utc")
            if isinstance(created, int | float) and not isinstance(created, bool):
                self._pos["search_utc"] = float(created)
        try:
            mention = parse_item(item, brand=self.brand, query=self.query)
        except MalformedItemError as exc:
            log.warning("skipping malformed Reddit item %s: %s", exc.item_id or vars(item).get("id"), exc.reason)
            return None
        if not self.wanted(mention):
            return None
        return mention

    def _set(self, mode: str, fullname: str) -> bool:
        if (id36(fullname) or 0) > (id36(self._pos.get(mode)) or -1):
            self._pos[mode] = fullname
            self._pos.pop(f"{mode}_utc", None)
            self._advanced = True
            return True
        return False

    def _warn_gap(self, message: str) -> None:
        self.state.gap_warning = message
        log.warning(message)

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        headers = response.headers
        try:
            if "x-ratelimit-remaining" in headers:
                self.state.remaining = int(float(headers["x-ratelimit-remaining"]))
            if "x-ratelimit-used" in headers:
                self._used = int(headers["x-ratelimit-used"])
            if "x-ratelimit-reset" in headers:
                self.state.reset = self._now() + timedelta(seconds=int(headers["x-ratelimit-reset"]))
        except (TypeError, ValueError):
            log.debug("unreadable Reddit rate-limit headers")

    def rate_limit_of(self, exc: BaseException) -> RateLimited | None:
        if not isinstance(exc, prawcore.exceptions.TooManyRequests):
            return super().rate_limit_of(exc)
        self._observe(exc.response)
        seconds = None
        for header in ("x-ratelimit-reset", "retry-after"):
            try:
                seconds = float(exc.response.headers[header])
                break
            except (KeyError, TypeError, ValueError):
                continue
        return RateLimited(seconds)

    def translate(self, exc: BaseException, what: str) -> BaseException:
        return self._translate(exc, what)

    def _translate(self, exc: BaseException, what: str) -> Exception:
        self.state.last_error = describe(exc)
        if isinstance(exc, _AUTH_ERRORS) or (
            isinstance(exc, prawcore.exceptions.ResponseException) and exc.response.status_code == 401
        ):
            return CredentialsError(
                f"Reddit refused the app's credentials ({describe(exc)}): check REDDIT_CLIENT_ID, "
                "REDDIT_CLIENT_SECRET and REDDIT_USER_AGENT (a 'script' or 'web' app's id and secret)"
            )
        if isinstance(exc, prawcore.exceptions.Forbidden):
            return SourceError(f"Reddit {what}: forbidden (a private, quarantined or banned subreddit?)")
        if isinstance(exc, prawcore.exceptions.NotFound | prawcore.exceptions.Redirect):
            return SourceError(f"Reddit {what}: a subreddit in {self.subreddits + self.comment_subreddits} not found")
        if isinstance(exc, _TRANSIENT):
            return SourceError(f"Reddit {what} failed after {self.options.max_retries + 1} attempts: {describe(exc)}")
        return SourceError(f"Reddit {what} failed: {describe(exc)}")
