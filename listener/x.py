"""X (Twitter) collector: API v2 recent search (default) and the filtered stream, through tweepy.

Recent search (``XCollector``, ``mode = "search"``)
    ``GET /2/tweets/search/recent`` via ``tweepy.Client.search_recent_tweets``: 100 posts a page,
    ``next_token`` pagination, ``since_id`` = the cursor (the newest post id already taken).
    The endpoint returns newest first, so a run gathers every page down to the cursor, then
    yields oldest first; the cursor after each item is that item's id, so a run stopped at an
    item boundary resumes with nothing missed and nothing repeated. Recent search only covers
    the last 7 days: a cursor older than that (post id → time through the snowflake timestamp)
    cannot be honoured, and ``health()["gap_warning"]`` says which span was lost.

Filtered stream (``XStreamCollector``, ``mode = "stream"``)
    ``GET /2/tweets/search/stream`` with rules (``/2/tweets/search/stream/rules``) built from
    each brand's compiled X query, split into values of at most 512 characters and tagged
    ``brandpulse:<brand>#<n>``. X allows one stream connection per app, so a single stream
    collector serves every brand and routes posts by their ``matching_rules`` tags. tweepy's
    ``StreamingClient`` manages the rules; the connection itself is read here (on the client's
    session, with its bearer token) so ``fetch`` stays a generator with an injectable ``sleep``.
    Reconnects follow X's "handling disconnections" guide: at once after a connection that
    delivered data, then exponential backoff (network: 1 s doubling to 16 s; HTTP errors: 5 s
    doubling to 320 s; 429: until ``x-rate-limit-reset``, else 60 s doubling). On restart with a
    cursor, an optional recent-search catch-up fetches what was posted while disconnected.

Text: X sends post text and display names HTML-escaped (``&amp;``, ``&lt;``, ``&gt;``); every text field
(the post, the retweeted and quoted originals, display names) is unescaped before it is stored or matched.

Retweets (decided here, one rule for search and stream):
- by default a retweet is stored as a *repost pointing to its original*: requests ask for the
  ``referenced_tweets.id`` (and ``referenced_tweets.id.author_id``) expansions, so the original's full
  text arrives in ``includes.tweets`` (the retweet's own text is cut at about 140 characters and ends
  with "…"). The retweet's mention carries the original's full text (used for matching and scoring),
  ``parent_id`` = the original's id, the retweeter as author (so it counts toward reach with the
  retweeter's followers) and *no* engagement of its own: X reports the original's counts on a retweet,
  and copying them would count the original's reposts once per retweet. The original itself is stored
  once, as its own mention with its own metrics (when it matches the brand), however many retweets of
  it a run sees. When the original is missing from ``includes`` (deleted, withheld), the retweet's own
  text is used.
- ``exclude_retweets = true`` in ``[sources.x]`` adds ``-is:retweet`` to every compiled query (and
  stream rule), so X returns no retweets at all.
Quote posts keep their own text and point to the quoted post (``parent_id``); a reply points to the post
it replies to.

Rate limits: tweepy runs with ``wait_on_rate_limit=False``; on ``tweepy.TooManyRequests`` the
collector waits (injected ``sleep``) until ``x-rate-limit-reset`` (epoch seconds) and retries.
``x-rate-limit-remaining``/``-reset`` of every response are recorded (a requests response hook
on the client's session) and shown in ``health()``. 5xx and network errors are retried with
exponential backoff (tenacity), then raise ``SourceError``.

The clients must return raw JSON (``return_type=dict``): one malformed post must not break its
page (tweepy's own objects would raise while parsing it) and ``Mention.raw`` keeps the payload.
The collectors set that (and ``wait_on_rate_limit=False``) on the client they are given.

Test seam: tweepy 4.17 builds every URL on ``https://api.twitter.com`` (no host setting); tests
mount a requests transport adapter for that prefix on ``client.session`` that sends the request
to a local fake server.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import requests
import tweepy
from pydantic import Field

from brandpulse.errors import ConfigError, CredentialsError, MalformedItemError, SourceError
from brandpulse.types import AuthorRef, Cursor, Engagement, Mention
from listener.collector import BaseCollector, RateLimited, SourceOptions, SourceState
from listener.common import BrandPlan, backoff, brand_plans, describe
from listener.query.compiling import (
    Dialect,
    Lowering,
    is_accented,
    positives_first,
    prepare,
    seq_text,
    word_or_phrase,
)
from listener.query.matching import Query
from listener.query.normal_form import FALSE, NF, TRUE, Lit, NAnd, NOr, Seq, make, nnf
from listener.query.syntax import Field as QueryField
from listener.query.syntax import syntax_error

log = logging.getLogger(__name__)

SOURCE = "x"
#: tweepy 4.17 sends every request to this host (see tweepy.client.BaseClient.request).
API_HOST = "https://api.twitter.com"
STREAM_URL = f"{API_HOST}/2/tweets/search/stream"
#: Recent search covers the last seven days.
SEARCH_WINDOW = timedelta(days=7)
#: Twitter snowflake epoch (2010-11-04T01:42:54.657Z), in milliseconds.
SNOWFLAKE_EPOCH_MS = 1288834974657
#: Filtered-stream rule value / self-serve search query length limit.
RULE_MAX_CHARS = 512
RULE_TAG_PREFIX = "brandpulse:"
#: A stream connection that stayed up this long counts as healthy even without posts (keep-alives only).
HEALTHY_CONNECTION_S = 60.0

EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
#: Added to every compiled query and stream rule when ``exclude_retweets`` is set.
NO_RETWEETS = "-is:retweet"
USER_FIELDS = ["username", "name", "public_metrics"]
TWEET_FIELDS = [
    "created_at",
    "lang",
    "public_metrics",
    "conversation_id",
    "referenced_tweets",
    "in_reply_to_user_id",
    "note_tweet",
]

_TRANSIENT = (tweepy.TwitterServerError, requests.ConnectionError, requests.Timeout)
_NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


# --------------------------------------------------------------------------- search dialect
#: X API v2 recent search, self-serve access: 512 characters per query (Enterprise: 4,096).
X_MAX_QUERY_LENGTH = 512
_X_USER_RE = re.compile(r"[a-z0-9_]{1,15}")
_X_CASHTAG_RE = re.compile(r"[a-z][a-z0-9_]*")


def _x_seq_ok(seq: Seq) -> bool:
    """Can X express this token sequence exactly (hashtag/mention/cashtag rules)?"""
    if len(seq.tokens) > 1:
        return all(s == "" for s, _ in seq.tokens)  # inside "…", X treats #/@/$ tokens as plain words
    sigil, word = seq.tokens[0]
    if sigil == "#":
        return not word.isdigit()
    if sigil == "@":
        return _X_USER_RE.fullmatch(word) is not None
    if sigil == "$":
        return _X_CASHTAG_RE.fullmatch(word) is not None
    return True


def _lower_x(nf: NF, low: Lowering) -> NF:
    def lit(n: Lit) -> NF:
        atom = n.atom
        if isinstance(atom, QueryField):
            if atom.name == "from" and _X_USER_RE.fullmatch(atom.value) is None:
                low.widen(f"from:{atom.value} is not an X username; searched without it")
                return TRUE
            return n
        if n.neg:
            if is_accented(atom):
                low.widen(f"-{word_or_phrase(atom)}: X folds accents, so excluding it could hide posts; filtered locally")
                return TRUE
            if not _x_seq_ok(atom):
                low.widen(f"-{word_or_phrase(atom)}: X matches it more loosely; filtered locally")
                return TRUE
            return n
        return n if _x_seq_ok(atom) else low.as_plain_words(n, "X")

    return low.drop_negative_ors(low.lower(nf, lit))


def _render_x(n: NF) -> str:
    if isinstance(n, Lit):
        atom = n.atom
        if isinstance(atom, QueryField):
            return ("-" if n.neg else "") + f"{atom.name}:{atom.value}"
        text = seq_text(atom)
        if len(atom.tokens) > 1:
            return ("-" if n.neg else "") + f'"{text}"'
        if n.neg and atom.tokens[0][0] == "":
            return f'-"{text}"'  # the phrase operator matches the post body only; a keyword also URLs
        return ("-" if n.neg else "") + text
    if isinstance(n, NAnd):
        return " ".join(f"({_render_x(c)})" if isinstance(c, NOr) else _render_x(c) for c in positives_first(n))
    if isinstance(n, NOr):
        return " OR ".join(f"({_render_x(c)})" if isinstance(c, NAnd) else _render_x(c) for c in n.items)
    raise AssertionError("constants are folded away before rendering")  # pragma: no cover



def compile_x_queries(query: Query | str, max_length: int = X_MAX_QUERY_LENGTH) -> list[str]:
    """X queries of at most `max_length` characters whose union is the compiled X query.

    Splits top-level ORs (and ORs inside ANDs, repeating the other AND-ed parts). Raises
    `QuerySyntaxError` if a single indivisible part is still too long.
    """
    q = prepare(query)
    nf = nnf(q.ast, False, "x")
    if nf == FALSE:
        return []
    lowered = _lower_x(nf, Lowering("x"))
    out: list[str] = []
    _split_x(lowered, max_length, out, q.source)
    return out


def _split_x(n: NF, limit: int, out: list[str], source: str) -> None:
    text = _render_x(n)
    if len(text) <= limit:
        out.append(text)
        return
    if isinstance(n, NOr):
        _pack(list(n.items), lambda group: make(NOr, group), limit, out, source)
        return
    if isinstance(n, NAnd):
        ors = [c for c in n.items if isinstance(c, NOr)]
        if ors:
            big = max(ors, key=lambda c: len(c.items))
            rest = [c for c in n.items if c is not big]
            assert isinstance(big, NOr)
            _pack(list(big.items), lambda group: make(NAnd, [*rest, make(NOr, group)]), limit, out, source)
            return
    raise syntax_error(
        f"the query is too long for X search ({len(text)} characters in one indivisible part, limit {limit}); "
        "shorten it or split it into several brands",
        source,
        0,
    )


def _pack(items: Sequence[NF], build: Callable[[list[NF]], NF], limit: int, out: list[str], source: str) -> None:
    """Greedily group `items` so that `build(group)` renders within `limit`; recurse on what never fits."""
    group: list[NF] = []
    for item in items:
        if group and len(_render_x(build([*group, item]))) > limit:
            _split_x(build(group), limit, out, source)
            group = []
        group.append(item)
    if group:
        _split_x(build(group), limit, out, source)


def _compile_x(nf: NF, low: Lowering) -> tuple[str | None, list[str]]:
    """X API v2 search query: one string (parentheses, implicit AND, ``OR``, ``-`` negation, ``"phrase"``,
    ``#``, ``@``, ``$``, ``from:``, ``lang:``). X cannot negate a group (NOT is pushed down to terms), folds
    accents (negated accented words are dropped) and limits a query to 512 characters on self-serve access
    (`compile_x_queries` splits)."""
    text = _render_x(_lower_x(nf, low))
    return text, [text]


X_DIALECT = Dialect("x", _compile_x)



# --------------------------------------------------------------------------- secrets in logs
class _RedactBearer(logging.Filter):
    """tweepy logs request headers at DEBUG, bearer token included: never let that reach a log."""

    _pattern = re.compile(r"(Bearer\s+)[^'\"\s,}]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "Bearer" in record.msg:
            record.msg = self._pattern.sub(r"\1REDACTED", record.msg)
        return True


for _logger_name in ("tweepy.client", "tweepy.streaming"):
    logging.getLogger(_logger_name).addFilter(_RedactBearer())


# --------------------------------------------------------------------------- parsing
def snowflake_time(tweet_id: str | int) -> datetime:
    """When a post with this id was created (X ids are snowflakes: milliseconds in the top bits)."""
    ms = (int(tweet_id) >> 22) + SNOWFLAKE_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _valid_id(value: Any) -> str | None:
    return value if isinstance(value, str) and value.isdigit() else None


def _parse_time(value: Any, nid: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise MalformedItemError(nid, "created_at is missing")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedItemError(nid, f"created_at {value[:40]!r} is not an ISO-8601 time") from None
    if dt.tzinfo is None:
        raise MalformedItemError(nid, f"created_at {value[:40]!r} has no time zone")
    return dt.astimezone(UTC)


def _count(metrics: Mapping[str, Any], name: str, nid: str) -> int:
    value = metrics.get(name, 0)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedItemError(nid, f"public_metrics.{name} is {value!r}, not a count")
    return value


def _users_by_id(includes: Any) -> dict[str, dict[str, Any]]:
    users = includes.get("users") if isinstance(includes, Mapping) else None
    if not isinstance(users, list):
        return {}
    return {u["id"]: u for u in users if isinstance(u, dict) and isinstance(u.get("id"), str)}


def _tweets_by_id(includes: Any) -> dict[str, dict[str, Any]]:
    tweets = includes.get("tweets") if isinstance(includes, Mapping) else None
    return {t["id"]: t for t in tweets or [] if isinstance(t, dict) and isinstance(t.get("id"), str)}


@dataclass(frozen=True)
class Includes:
    """A page's (or stream line's) ``includes``: authors and referenced posts by id."""

    users: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tweets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, payload: Any) -> Includes:
        includes = payload.get("includes") if isinstance(payload, Mapping) else None
        return cls(_users_by_id(includes), _tweets_by_id(includes))


def _refs(tweet: Mapping[str, Any]) -> dict[str, str]:
    """``referenced_tweets`` as type → id (``retweeted``, ``quoted``, ``replied_to``)."""
    raw = tweet.get("referenced_tweets")
    out: dict[str, str] = {}
    for ref in raw if isinstance(raw, list) else []:
        if isinstance(ref, Mapping) and isinstance(ref.get("type"), str) and _valid_id(ref.get("id")):
            out.setdefault(ref["type"], ref["id"])
    return out


def _text_of(tweet: Mapping[str, Any], nid: str) -> str:
    """The post's full text (a long post's ``note_tweet``), HTML entities unescaped."""
    note = tweet.get("note_tweet")
    text = note.get("text") if isinstance(note, Mapping) and isinstance(note.get("text"), str) else tweet.get("text")
    if not isinstance(text, str):
        raise MalformedItemError(nid, "text is missing")
    return html.unescape(text)


def retweeted_original(tweet: Mapping[str, Any], includes: Includes) -> Mapping[str, Any] | None:
    """The post `tweet` retweets, from ``includes.tweets`` (None: not a retweet, or the original is not included)."""
    original_id = _refs(tweet).get("retweeted")
    return includes.tweets.get(original_id) if original_id else None


def parse_tweet(
    tweet: Mapping[str, Any],
    users: Mapping[str, Mapping[str, Any]],
    *,
    brand: str | None,
    query: str | None,
    tweets: Mapping[str, Mapping[str, Any]] | None = None,
) -> Mention:
    """One X API v2 post (author from ``includes.users``) as a Mention; MalformedItemError if it can't be.

    A retweet whose original is in `tweets` (``includes.tweets``) carries the original's full text, points
    to it and has no engagement of its own (see the module docstring); a quote or reply points to its parent.
    """
    nid = _valid_id(tweet.get("id"))
    if nid is None:
        raise MalformedItemError(str(tweet.get("id") or "") or None, "post id is missing or not numeric")
    text = _text_of(tweet, nid)
    created = _parse_time(tweet.get("created_at"), nid)
    author_id = tweet.get("author_id")
    user = users.get(author_id) if isinstance(author_id, str) else None
    if user is None:
        raise MalformedItemError(nid, f"author {author_id!r} is not in includes.users")
    username = user.get("username")
    if not isinstance(username, str) or not username:
        raise MalformedItemError(nid, "author username is missing")
    raw_metrics, raw_user_metrics = tweet.get("public_metrics"), user.get("public_metrics")
    metrics: Mapping[str, Any] = raw_metrics if isinstance(raw_metrics, Mapping) else {}
    followers = _count(raw_user_metrics, "followers_count", nid) if isinstance(raw_user_metrics, Mapping) else None
    refs = _refs(tweet)
    raw: dict[str, Any] = {"data": dict(tweet), "includes": {"users": [dict(user)]}}
    original = (tweets or {}).get(refs["retweeted"]) if "retweeted" in refs else None
    if "retweeted" in refs:
        # X copies the original's counts onto a retweet: a retweet has no engagement of its own here.
        engagement = Engagement()
        if original is not None:
            text = _text_of(original, refs["retweeted"])
            raw["includes"]["tweets"] = [dict(original)]
    else:
        engagement = Engagement(
            likes=_count(metrics, "like_count", nid),
            reposts=_count(metrics, "retweet_count", nid) + _count(metrics, "quote_count", nid),
            replies=_count(metrics, "reply_count", nid),
        )
    parent = refs.get("retweeted") or refs.get("quoted") or refs.get("replied_to")
    lang = tweet.get("lang")
    name = user.get("name")
    return Mention(
        platform=SOURCE,
        native_id=nid,
        text=text,
        created_at=created,
        author=AuthorRef(
            handle=username, display_name=html.unescape(name) if isinstance(name, str) else None, followers=followers
        ),
        url=f"https://x.com/{username}/status/{nid}",
        language=lang if isinstance(lang, str) and lang and lang != "und" else None,
        engagement=engagement,
        parent_id=parent,
        brand=brand,
        query=query,
        raw=raw,
    )


def mentions_of(
    tweet: Mapping[str, Any], includes: Includes, *, brand: str | None, query: str | None
) -> list[Mention]:
    """The mentions one post gives: a retweet's original (from ``includes``) first, then the post itself.

    Malformed posts are logged and left out.
    """
    out: list[Mention] = []
    original = retweeted_original(tweet, includes)
    if original is not None:
        first = _parse_or_log(original, includes.users, brand=brand, query=query, tweets=includes.tweets)
        if first is not None:
            out.append(first)
    post = _parse_or_log(tweet, includes.users, brand=brand, query=query, tweets=includes.tweets)
    if post is not None:
        out.append(post)
    return out


def _parse_or_log(
    tweet: Mapping[str, Any],
    users: Mapping[str, Mapping[str, Any]],
    *,
    brand: str | None,
    query: str | None,
    tweets: Mapping[str, Mapping[str, Any]] | None = None,
) -> Mention | None:
    """``parse_tweet``, or None (logged with the post id and the reason) for a malformed post."""
    try:
        return parse_tweet(tweet, users, brand=brand, query=query, tweets=tweets)
    except MalformedItemError as exc:
        log.warning("skipping malformed X item %s: %s", exc.item_id, exc.reason)
        return None


# --------------------------------------------------------------------------- options
class XOptions(SourceOptions):
    """``[sources.x]`` options."""

    #: "search" (recent search, polled) or "stream" (filtered stream; Pro access or above).
    mode: Literal["search", "stream"] = "search"
    #: Posts per recent-search page (X allows 10..100).
    max_results: int = Field(100, ge=10, le=100)
    #: Stop a recent-search run after this many pages (None: all pages down to the cursor).
    max_pages: int | None = Field(None, ge=1)
    #: Longest query sent (512 on self-serve access; longer brand queries are split).
    max_query_length: int = Field(RULE_MAX_CHARS, ge=64, le=4096)
    #: Retries of one request on 5xx/network errors after its first attempt.
    max_retries: int = Field(4, ge=0, le=20)
    #: 429 waits allowed per request before RateLimitedError.
    max_rate_limit_waits: int = Field(5, ge=0, le=100)
    #: Seconds to wait for X to answer one request (a silent server is a network error, retried);
    #: stream mode: the longest silence on the stream (X sends a keep-alive every 20 s).
    timeout_s: float = Field(30.0, gt=0)
    #: Stream mode: seconds one `fetch` keeps the stream open (None: until stopped).
    stream_seconds: float | None = Field(300.0, gt=0)
    #: Stream mode: consecutive failed reconnects before SourceError.
    max_reconnects: int = Field(10, ge=0, le=1000)
    #: Stream mode: on restart, fetch what was posted while disconnected with recent search.
    catch_up: bool = True
    #: Leave retweets out (``-is:retweet`` added to every query and stream rule). By default a retweet is
    #: stored as a repost pointing to its original (see the module docstring).
    exclude_retweets: bool = False


def without_retweets(query: str) -> str:
    """`query` with ``-is:retweet`` AND-ed to all of it (a top-level OR is parenthesised first)."""
    if NO_RETWEETS in query.split():
        return query
    body = f"({query})" if " OR " in query else query
    return f"{body} {NO_RETWEETS}"


# --------------------------------------------------------------------------- shared plumbing
def _prepare_client(client: Any, state: SourceState, timeout_s: float) -> None:
    """Raw JSON results, no sleeping inside tweepy, a timeout on every request (tweepy sets none: a silent
    server would hang the run), rate-limit headers recorded from every response."""
    client.return_type = dict
    client.wait_on_rate_limit = False
    request = client.session.request

    def timed(method: str, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout_s)
        return request(method, url, **kwargs)

    client.session.request = timed

    def observe(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        _record_limits(state, response.headers)

    client.session.hooks.setdefault("response", []).append(observe)


def _record_limits(state: SourceState, headers: Mapping[str, str]) -> None:
    remaining, reset = headers.get("x-rate-limit-remaining"), headers.get("x-rate-limit-reset")
    try:
        if remaining is not None:
            state.remaining = int(remaining)
        if reset is not None:
            state.reset = datetime.fromtimestamp(int(reset), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        log.debug("unreadable X rate-limit headers: remaining=%r reset=%r", remaining, reset)


def _reset_from(headers: Mapping[str, str], reset_time: int | None = None) -> datetime | None:
    """The reset time a 429 response announced (``x-rate-limit-reset``, epoch seconds), if any."""
    raw = reset_time if reset_time is not None else headers.get("x-rate-limit-reset")
    try:
        return datetime.fromtimestamp(int(raw), tz=UTC) if raw is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


class _XBase(BaseCollector[XOptions]):
    """Request plumbing shared by the search and stream collectors."""

    name: ClassVar[str] = SOURCE
    label: ClassVar[str] = "X"
    dialect: ClassVar[Dialect | None] = X_DIALECT
    Options: ClassVar[type[SourceOptions]] = XOptions
    secret_env: ClassVar[tuple[str, ...]] = ("X_BEARER_TOKEN",)
    transient_errors: ClassVar[tuple[type[BaseException], ...]] = _TRANSIENT

    def _rate_wait(self, reset: datetime | None, attempt: int) -> float:
        """Seconds to wait after a 429: until the reset time, else 60 s doubling (X's guidance)."""
        return self.rate_limit_wait((reset - self._now()).total_seconds() if reset is not None else None, attempt)

    def rate_limit_of(self, exc: BaseException) -> RateLimited | None:
        if isinstance(exc, tweepy.TooManyRequests):
            _record_limits(self.state, exc.response.headers)
            return RateLimited(reset=_reset_from(exc.response.headers, exc.reset_time))
        return super().rate_limit_of(exc)

    def translate(self, exc: BaseException, what: str) -> BaseException:
        if isinstance(exc, tweepy.Unauthorized | tweepy.Forbidden):
            return CredentialsError(
                f"X refused the request for {what} ({exc.response.status_code}): check X_BEARER_TOKEN "
                "(an App-only bearer token) and that the app's access level includes this endpoint"
            )
        if isinstance(exc, tweepy.BadRequest):
            detail = "; ".join(str(m) for m in exc.api_messages) or str(exc)
            return SourceError(f"X rejected the {what} request: {detail[:300]}")
        return super().translate(exc, what)

    def _search(
        self, client: Any, queries: Sequence[str], since_id: str | None, max_results: int, max_pages: int | None
    ) -> list[tuple[dict[str, Any], Includes]]:
        """Every post newer than `since_id` for any of `queries` (each with its page's includes), deduped."""
        found: dict[str, tuple[dict[str, Any], Includes]] = {}
        for query in queries:
            params: dict[str, Any] = {
                "max_results": max_results,
                "expansions": EXPANSIONS,
                "tweet_fields": TWEET_FIELDS,
                "user_fields": USER_FIELDS,
            }
            if since_id:
                params["since_id"] = since_id
            pages = 0
            while True:
                page = self.call_with_limits("recent search", client.search_recent_tweets, query, **params)
                pages += 1
                page = page if isinstance(page, Mapping) else {}
                includes = Includes.of(page)
                for tweet in page.get("data") or []:
                    if isinstance(tweet, dict):
                        key = _valid_id(tweet.get("id")) or f"?{len(found)}"
                        found.setdefault(key, (tweet, includes))
                for err in page.get("errors") or []:
                    log.debug("X search partial error: %s", err)
                token = (page.get("meta") or {}).get("next_token")
                if not token:
                    break
                if max_pages is not None and pages >= max_pages:
                    msg = f"X recent search stopped after {pages} pages (max_pages); older posts of this run were not fetched"
                    self.state.gap_warning = msg
                    log.warning(msg)
                    break
                params["next_token"] = token
        return list(found.values())

    def _check_window(self, since_id: str) -> str | None:
        """The since_id to send, or None (with a gap warning) when it lies outside the 7-day window."""
        horizon = self._now() - SEARCH_WINDOW + timedelta(minutes=1)
        when = snowflake_time(since_id)
        if when >= horizon:
            return since_id
        msg = (
            f"X cursor {since_id} is from {when:%Y-%m-%d %H:%M} UTC, older than the 7-day recent-search window: "
            f"mentions posted between {when:%Y-%m-%d %H:%M} and {horizon:%Y-%m-%d %H:%M} UTC cannot be fetched"
        )
        self.state.gap_warning = msg
        log.warning(msg)
        return None


def _sorted_by_id(
    items: Iterable[tuple[dict[str, Any], Includes]],
) -> list[tuple[dict[str, Any], Includes]]:
    """Oldest first; posts without a usable id are logged and dropped."""
    good = []
    for tweet, includes in items:
        nid = _valid_id(tweet.get("id"))
        if nid is None:
            log.warning("skipping malformed X item %s: post id is missing or not numeric", tweet.get("id"))
            continue
        good.append((tweet, includes))
    return sorted(good, key=lambda pair: int(pair[0]["id"]))


def _cursor_id(since: Cursor | None) -> str | None:
    if since is None:
        return None
    nid = _valid_id(since.position.strip())
    if nid is None:
        log.warning("ignoring X cursor %r: not a post id", since.position[:40])
    return nid


# --------------------------------------------------------------------------- recent search
class XCollector(_XBase):
    """Mentions of one brand from X recent search (``GET /2/tweets/search/recent``)."""

    def __init__(
        self, options: XOptions, client: tweepy.Client, *, queries: Sequence[str] | None = None, **common: Any
    ) -> None:
        super().__init__(options, **common)
        self.client = client
        self.queries = list(queries) if queries else ([self.query] if self.query else [])
        self.max_results = options.max_results
        self.max_pages = options.max_pages
        self._position: str | None = None
        _prepare_client(client, self.state, options.timeout_s)

    def __repr__(self) -> str:
        return f"XCollector(brand={self.brand!r}, query={self.query!r})"

    # -- the contract -------------------------------------------------------------------
    def fetch(self, since: Cursor | None) -> Iterator[Mention]:
        if not self.queries:
            log.info("X: brand %s has no X query; nothing to fetch", self.brand)
            return
        self.state.gap_warning = None
        floor = _cursor_id(since)
        since_id = self._check_window(floor) if floor else None
        items = self._search(self.client, self.queries, since_id, self.max_results, self.max_pages)
        yielded: set[str] = set()  # a retweeted original is stored once however many retweets of it a run sees
        for tweet, includes in _sorted_by_id(items):
            nid = tweet["id"]
            if floor and int(nid) <= int(floor):
                continue
            self._position = nid
            for mention in mentions_of(tweet, includes, brand=self.brand, query=self.query):
                if mention.native_id not in yielded and self.wanted(mention):
                    yielded.add(mention.native_id)
                    yield mention

    def cursor(self) -> Cursor | None:
        if self._position is None:
            return None
        return Cursor(source=SOURCE, key=self.key, position=self._position, updated_at=self._now())

    def health(self) -> dict[str, Any]:
        return self.state.health(mode="search")

    @classmethod
    def build(cls, options: XOptions, settings: Any) -> list[Any]:
        """One search collector per brand, or (``mode = "stream"``) one stream collector for all brands."""
        bearer = cls.secret_values()["X_BEARER_TOKEN"]
        plans: list[tuple[BrandPlan, str, list[str]]] = []
        for plan in brand_plans(settings):
            compiled = plan.compiled("x")
            if not compiled:
                log.warning("X: brand %s has no X query (it excludes the platform); skipped", plan.name)
                continue
            if options.exclude_retweets:
                limit = options.max_query_length - len(NO_RETWEETS) - 3  # " (…)" around a top-level OR
                parts = [without_retweets(q) for q in compile_x_queries(plan.spec, limit)]
                plans.append((plan, without_retweets(compiled), parts))
            else:
                plans.append((plan, compiled, compile_x_queries(plan.spec, options.max_query_length)))
        if options.mode == "stream":
            stream_client = tweepy.StreamingClient(bearer, return_type=dict)
            search_client = tweepy.Client(bearer_token=bearer, return_type=dict) if options.catch_up else None
            targets = [StreamTarget(brand=p.name, query=c, rules=tuple(parts), match=p.match) for p, c, parts in plans]
            return [XStreamCollector(options, stream_client, targets=targets, search_client=search_client)]
        client = tweepy.Client(bearer_token=bearer, return_type=dict, wait_on_rate_limit=False)
        return [cls(options, client, **p.collector_args(c), queries=parts) for p, c, parts in plans]


# --------------------------------------------------------------------------- filtered stream
@dataclass(frozen=True)
class StreamTarget:
    """One brand on the shared filtered stream: its compiled query, the rule values sent, its local filter."""

    brand: str
    query: str
    rules: tuple[str, ...] = ()
    match: Callable[[Mention], bool] | None = field(default=None, compare=False)

    def rule_values(self) -> tuple[str, ...]:
        values = self.rules or (self.query,)
        for v in values:
            if len(v) > RULE_MAX_CHARS:
                raise ConfigError(
                    f"X stream rule for brand {self.brand!r} is {len(v)} characters (limit {RULE_MAX_CHARS}); "
                    "split the query (listener.query.compile_x_queries) or shorten it"
                )
        return values


class XStreamCollector(_XBase):
    """Mentions of every brand from X's filtered stream (``GET /2/tweets/search/stream``)."""

    def __init__(
        self,
        options: XOptions,
        client: tweepy.StreamingClient,
        *,
        targets: Sequence[StreamTarget],
        key: str = "stream",
        search_client: tweepy.Client | None = None,
        max_items: int | None = None,
        read_timeout: float | None = None,
        **common: Any,
    ) -> None:
        super().__init__(options, key=key, **common)
        self.client = client
        self.search_client = search_client
        self.targets = list(targets)
        self.max_items = max_items
        self.max_seconds = options.stream_seconds
        self.max_reconnects = options.max_reconnects
        self.read_timeout = read_timeout if read_timeout is not None else options.timeout_s
        self.max_results = options.max_results
        self._position: str | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._tags: dict[str, StreamTarget] = {}
        self._rule_ids: dict[str, StreamTarget] = {}  # X's rule id → target (a stream line may carry a null tag)
        self.reconnects = 0
        _prepare_client(client, self.state, options.timeout_s)
        if search_client is not None:
            _prepare_client(search_client, self.state, options.timeout_s)

    def __repr__(self) -> str:
        return f"XStreamCollector(brands={[t.brand for t in self.targets]!r})"

    # -- the contract -------------------------------------------------------------------
    def fetch(self, since: Cursor | None) -> Iterator[Mention]:
        if not self.targets:
            return
        self.state.gap_warning = None
        floor = _cursor_id(since)
        self.sync_rules()
        yielded = 0
        if floor and self.search_client is not None:
            for mention in self._catch_up(floor):
                yielded += 1
                yield mention
                if self.max_items is not None and yielded >= self.max_items:
                    return
        started = time.monotonic()
        for mention in self._stream(floor, started):
            yielded += 1
            yield mention
            if self.max_items is not None and yielded >= self.max_items:
                return

    def cursor(self) -> Cursor | None:
        if self._position is None:
            return None
        return Cursor(source=SOURCE, key=self.key, position=self._position, updated_at=self._now())

    def health(self) -> dict[str, Any]:
        return self.state.health(mode="stream", reconnects=self.reconnects)

    # -- rules --------------------------------------------------------------------------
    def desired_rules(self) -> dict[str, str]:
        """tag → rule value for every target."""
        out: dict[str, str] = {}
        for target in self.targets:
            for i, value in enumerate(target.rule_values()):
                out[f"{RULE_TAG_PREFIX}{target.brand}#{i}"] = value
        return out

    def sync_rules(self) -> None:
        """Make the stream's brandpulse rules exactly the desired ones (rules of other tools stay)."""
        desired = self.desired_rules()
        self._tags = {}
        for target in self.targets:
            for i in range(len(target.rule_values())):
                self._tags[f"{RULE_TAG_PREFIX}{target.brand}#{i}"] = target
        current = self.call_with_limits("stream rules lookup", self.client.get_rules)
        existing = [r for r in (current or {}).get("data") or [] if isinstance(r, Mapping)]
        stale = [
            str(r.get("id"))
            for r in existing
            if str(r.get("tag") or "").startswith(RULE_TAG_PREFIX) and desired.get(str(r.get("tag"))) != r.get("value")
        ]
        kept = [r for r in existing if desired.get(str(r.get("tag"))) == r.get("value")]
        present = {str(r.get("tag")) for r in kept}
        if stale:
            self.call_with_limits("stream rules delete", self.client.delete_rules, stale)
        missing = [tweepy.StreamRule(value=v, tag=t) for t, v in desired.items() if t not in present]
        added: list[Any] = []
        if missing:
            reply = self.call_with_limits("stream rules add", self.client.add_rules, missing)
            for err in (reply or {}).get("errors") or []:
                raise SourceError(f"X refused a stream rule: {str(err)[:300]}")
            added = [r for r in (reply or {}).get("data") or [] if isinstance(r, Mapping)]
        self._rule_ids = {str(r["id"]): self._tags[str(r.get("tag"))] for r in kept + added
                          if r.get("id") is not None and str(r.get("tag")) in self._tags}
        log.info("X stream rules: %d kept, %d added, %d removed", len(present), len(missing), len(stale))

    # -- catch-up after a restart ---------------------------------------------------------
    def _catch_up(self, floor: str) -> Iterator[Mention]:
        """Posts newer than `floor` for every target, by recent search, oldest first."""
        assert self.search_client is not None
        since_id = self._check_window(floor)
        found: dict[str, tuple[dict[str, Any], Includes, list[StreamTarget]]] = {}
        for target in self.targets:
            items = self._search(self.search_client, target.rule_values(), since_id, self.max_results, None)
            for tweet, includes in _sorted_by_id(items):
                found.setdefault(tweet["id"], (tweet, includes, []))[2].append(target)
        for nid in sorted(found, key=int):
            tweet, includes, targets = found[nid]
            if int(nid) > int(floor):
                yield from self._emit(tweet, includes, targets)

    # -- the connection -----------------------------------------------------------------
    def _stream(self, floor: str | None, started: float) -> Iterator[Mention]:
        failures = 0
        while True:
            if self._expired(started):
                return
            outcome, delay = yield from self._connect_once(floor, started, failures)
            if outcome == "done":
                return
            failures = 0 if outcome == "delivered" else failures + 1
            if failures > self.max_reconnects:
                raise SourceError(f"X stream: {failures} reconnects in a row failed ({self.state.last_error or 'no data'})")
            self.reconnects += 1
            if delay > 0:
                log.warning("X stream: reconnecting in %.2f s", delay)
                self._sleep(delay)
            else:
                log.warning("X stream disconnected; reconnecting at once")

    def _expired(self, started: float) -> bool:
        return self.max_seconds is not None and time.monotonic() - started >= self.max_seconds

    def _connect_once(self, floor: str | None, started: float, failures: int) -> Generator[Mention, None, tuple[str, float]]:
        """One connection: yields its posts, returns ("delivered" | "failed" | "done", delay before the next)."""
        params = {
            "expansions": ",".join(EXPANSIONS),
            "tweet.fields": ",".join(TWEET_FIELDS),
            "user.fields": ",".join(USER_FIELDS),
        }
        headers = {"Authorization": f"Bearer {self.client.bearer_token}", "User-Agent": self.client.user_agent}
        try:
            resp = self.client.session.get(
                STREAM_URL, params=params, headers=headers, stream=True, timeout=(10.0, self.read_timeout)
            )
        except _NETWORK_ERRORS as exc:
            self.state.last_error = describe(exc)
            return "failed", backoff(failures + 1, 1.0, 16.0)
        with resp:
            _record_limits(self.state, resp.headers)
            if resp.status_code == 429:
                reset = _reset_from(resp.headers)
                self.state.remaining = 0
                self.state.last_error = "429 Too Many Requests on the stream connection"
                return "failed", self._rate_wait(reset, failures + 1)
            if resp.status_code in (401, 403):
                self.state.last_error = f"{resp.status_code} on the stream connection"
                raise CredentialsError(
                    f"X refused the filtered stream connection ({resp.status_code}): check X_BEARER_TOKEN and that "
                    "the app's access level includes the filtered stream"
                )
            if resp.status_code != 200:
                self.state.last_error = f"HTTP {resp.status_code} on the stream connection"
                return "failed", backoff(failures + 1, 5.0, 320.0)
            delivered = False
            opened = time.monotonic()
            try:
                for line in resp.iter_lines(chunk_size=512):
                    if line.strip():
                        delivered = True
                        yield from self._on_line(line, floor)
                    if self._expired(started):
                        return "done", 0.0
            except _NETWORK_ERRORS as exc:
                self.state.last_error = describe(exc)
        if delivered or time.monotonic() - opened >= HEALTHY_CONNECTION_S:
            return "delivered", 0.0
        return "failed", backoff(failures + 1, 1.0, 16.0)

    def _on_line(self, line: bytes, floor: str | None) -> Iterator[Mention]:
        try:
            payload = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            log.warning("skipping malformed X stream line: not JSON (%d bytes)", len(line))
            return
        if not isinstance(payload, dict):
            return
        data = payload.get("data")
        if data is None:
            for err in payload.get("errors") or []:
                log.warning("X stream message: %s", str(err)[:300])
            return
        includes = Includes.of(payload)
        targets = self._targets_for(payload.get("matching_rules"))
        for tweet in data if isinstance(data, list) else [data]:
            if not isinstance(tweet, dict):
                continue
            nid = _valid_id(tweet.get("id"))
            if nid is None:
                log.warning("skipping malformed X item %s: post id is missing or not numeric", tweet.get("id"))
                continue
            if floor and int(nid) <= int(floor):
                continue
            if not targets:
                log.debug("X stream post %s matched no brandpulse rule", nid)
                continue
            yield from self._emit(tweet, includes, targets)

    def _targets_for(self, rules: Any) -> list[StreamTarget]:
        found: dict[str, StreamTarget] = {}
        for rule in rules or []:
            if not isinstance(rule, Mapping):
                continue
            # by tag, else by the rule's id (X sends ids as strings; older captures have numbers and a null tag)
            target = self._tags.get(str(rule.get("tag"))) or self._rule_ids.get(str(rule.get("id")))
            if target is not None:
                found.setdefault(target.brand, target)
        return list(found.values())

    def _emit(self, tweet: dict[str, Any], includes: Includes, targets: Iterable[StreamTarget]) -> Iterator[Mention]:
        """The post (and a retweet's original) once, linked to every target whose local filter it passes."""
        nid = tweet["id"]
        if self._position is None or int(nid) > int(self._position):
            self._position = nid
        targets = list(targets)
        for mention in mentions_of(tweet, includes, brand=None, query=None):
            if mention.native_id in self._seen:
                continue
            for target in targets:
                if target.match is None or target.match(mention):
                    if mention.brand is None:
                        mention.query = target.query
                    mention.link(target.brand)
            if mention.brand is None:
                continue
            self._seen[mention.native_id] = None
            while len(self._seen) > 10_000:
                self._seen.popitem(last=False)
            yield mention
