"""RedditCollector through the real praw/prawcore against a local fake Reddit.

The fake serves recorded real Reddit responses (tests/fixtures/reddit/SOURCE.md) taken from
praw's and prawcore's own integration-test cassettes: an app-only OAuth token reply, a real
``/r/all/search`` listing, a real submission listing, a real ``/r/<sub>/comments`` listing with
its ``x-ratelimit-*`` headers and a real 429 reply. It serves the token endpoint and honours
``after`` / ``before`` / ``limit`` like Reddit listings (an unknown ``before`` anchor gives an
empty listing, as on Reddit). praw is pointed at it with ``oauth_url``/``reddit_url`` and a
requests session (``requestor_kwargs``), so praw, prawcore and requests all run for real.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import praw
import prawcore
import pytest
import requests

from brandpulse.config import Settings
from brandpulse.errors import ConfigError, CredentialsError, SourceError
from brandpulse.types import Cursor, Mention
from listener.reddit import RedditCollector, RedditOptions, covering_time_filter, id36
from tests.fakeserver import LocalServer, QuietHandler, Sleeps, send
from tests.options import pop_options

FIX = Path(__file__).parent / "fixtures" / "reddit"
SECRET = "REDACTED-test-client-secret"
NOW = datetime(2026, 4, 14, 12, 0, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((FIX / name).read_text(encoding="utf-8"))


def children(name: str) -> list[dict[str, Any]]:
    """The listing's children, newest first (Reddit's order for sort=new and /comments)."""
    kids = load(name)["data"]["children"]
    return sorted(kids, key=lambda c: int(c["data"]["id"], 36), reverse=True)


SUBMISSIONS = children("submissions_listing.json")
COMMENTS = children("comments_listing.json")
SUB_IDS = [c["data"]["name"] for c in reversed(SUBMISSIONS)]  # oldest first
COMMENT_IDS = [c["data"]["name"] for c in reversed(COMMENTS)]


# --------------------------------------------------------------------------- fake Reddit
class FakeReddit:
    def __init__(self) -> None:
        self.submissions = copy.deepcopy(SUBMISSIONS)
        self.comments = copy.deepcopy(COMMENTS)
        self.page_size = 3  # small pages, so pagination is exercised
        self.inject: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.token_requests: list[dict[str, str]] = []
        self.used = 0
        self.lock = threading.Lock()

    def listing(self, items: list[dict[str, Any]], qs: dict[str, list[str]]) -> dict[str, Any]:
        limit = min(int(qs.get("limit", ["25"])[0]), self.page_size)
        names = [c["data"]["name"] for c in items]
        if "before" in qs:
            anchor = qs["before"][0]
            if anchor not in names:
                page = []  # Reddit answers an unknown/deleted anchor with an empty listing
            else:
                newer = items[: names.index(anchor)]
                page = newer[-limit:]
            after = None
        else:
            start = names.index(qs["after"][0]) + 1 if "after" in qs and qs["after"][0] in names else 0
            page = items[start : start + limit]
            after = page[-1]["data"]["name"] if page and start + limit < len(items) else None
        data = {"after": after, "dist": len(page), "modhash": "", "geo_filter": "", "children": page, "before": None}
        return {"kind": "Listing", "data": data}

    def ratelimit_headers(self) -> dict[str, str]:
        self.used += 1
        return {
            "x-ratelimit-remaining": f"{600 - self.used}.0",
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-reset": str(526 - self.used),
        }


def _handler(fake: FakeReddit) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()  # ASCII escapes, like Reddit
            headers = headers or {}
            content_type = headers.pop("content-type", "application/json; charset=UTF-8")
            send(self, status, raw, headers, content_type=content_type, close=True)

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            qs = parse_qs(url.query)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            with fake.lock:
                if url.path == "/api/v1/access_token":
                    fake.token_requests.append({"auth": self.headers.get("authorization", ""), "body": body})
                    return self._reply(200, load("access_token.json"))
                fake.requests.append((method, url.path, qs))
                for prefix, queue in fake.inject.items():
                    if url.path.startswith(prefix) and queue:
                        status, headers, raw = queue.pop(0)
                        return self._reply(status, raw, dict(headers))
                if url.path.endswith("/search/") or url.path.endswith("/search"):
                    return self._reply(200, fake.listing(fake.submissions, qs), fake.ratelimit_headers())
                if url.path.endswith("/comments/") or url.path.endswith("/comments"):
                    return self._reply(200, fake.listing(fake.comments, qs), fake.ratelimit_headers())
            return self._reply(404, {"message": "Not Found", "error": 404})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler


@pytest.fixture
def fake() -> Iterator[tuple[FakeReddit, str]]:
    state = FakeReddit()
    with LocalServer(_handler(state)) as server:
        yield state, server.url


@pytest.fixture(autouse=True)
def no_prawcore_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """prawcore retries 5xx itself after a real, randomised sleep; keep its retries, drop the wait."""
    monkeypatch.setattr(prawcore.sessions.FiniteRetryStrategy, "_sleep_seconds", lambda self: None)


@pytest.fixture
def make(fake: tuple[FakeReddit, str]) -> Iterator[Any]:
    _, base = fake
    sessions: list[requests.Session] = []

    def build(**kw: Any) -> RedditCollector:
        session = requests.Session()
        sessions.append(session)
        reddit = praw.Reddit(
            client_id="REDACTED-client-id",
            client_secret=SECRET,
            user_agent="brandpulse-tests/0.1 (by u/REDACTED)",
            oauth_url=base,
            reddit_url=base,
            check_for_updates=False,
            requestor_kwargs={"session": session},
        )
        kw.setdefault("brand", "Acme")
        kw.setdefault("query", '"resident evil" OR silksong')
        kw.setdefault("sleep", Sleeps())
        return RedditCollector(pop_options(RedditOptions, kw), reddit, session=session, now=lambda: NOW, **kw)

    yield build
    for s in sessions:
        s.close()


def ids(items: list[Mention]) -> list[str]:
    return [m.native_id for m in items]


def position(c: RedditCollector) -> dict[str, str]:
    cur = c.cursor()
    assert cur is not None and cur.source == "reddit"
    return json.loads(cur.position)


# --------------------------------------------------------------------------- parsing
def test_real_r_all_search_listing_parses(fake: tuple[FakeReddit, str], make: Any) -> None:
    state, _ = fake
    state.submissions = children("search_r_all_2016.json")
    c = make(subreddits=["all"])
    got = list(c.fetch(None))
    assert len(got) == 6 and ids(got) == sorted(ids(got), key=id36)
    m = next(x for x in got if x.native_id == "t3_3gpbiu")
    assert m.platform == "reddit" and m.author.handle == "dClauzel" and m.author.followers is None
    assert m.created_at == datetime.fromtimestamp(1439370514, UTC)
    assert m.text.startswith("[PRAW][OAuth2Util] Problem using get_banned()") and "\n\n" in m.text
    assert m.url is not None and m.url.startswith("https://www.reddit.com/r/redditdev/comments/3gpbiu/")
    assert m.language is None and m.parent_id is None and m.brand == "Acme"
    assert m.raw is not None and m.raw["subreddit"] == "redditdev" and m.raw["author"] == "dClauzel"
    json.dumps(m.raw)  # JSON-able
    method, path, qs = state.requests[0]
    assert (method, path) == ("GET", "/r/all/search/")
    assert qs["q"] == ['"resident evil" OR silksong'] and qs["sort"] == ["new"] and qs["t"] == ["week"]
    assert qs["restrict_sr"] == ["False"] and qs["syntax"] == ["lucene"]
    assert state.token_requests and "grant_type=client_credentials" in state.token_requests[0]["body"]


def test_submissions_and_comments_parse(fake: tuple[FakeReddit, str], make: Any) -> None:
    state, _ = fake
    c = make(subreddits=["gaming", "Steam"], comment_subreddits=["test"])
    got = list(c.fetch(None))
    assert ids(got) == SUB_IDS + COMMENT_IDS
    by = {m.native_id: m for m in got}
    s = by["t3_1ski9yy"]
    assert s.author.handle == "Trickshot945" and s.engagement.likes == 1110 and s.engagement.replies == 413
    assert s.text.startswith("In all honesty, how far do you think you could thr")
    assert s.created_at == datetime.fromtimestamp(1776102428, UTC)
    k = by["t1_k3yrfii"]
    assert k.text == "Did it work?" and k.author.handle == "Acceptable-Bread-566"
    assert k.parent_id == "t1_k3u4rtt" and k.engagement.replies == 0  # not the link's num_comments
    assert k.url == "https://www.reddit.com/r/test/comments/agi5zf/test/k3yrfii/"
    search_paths = {r[1] for r in state.requests if "search" in r[1]}
    assert search_paths == {"/r/gaming+Steam/search/"}
    assert all(r[2]["restrict_sr"] == ["True"] for r in state.requests if "search" in r[1])
    assert position(c) == {"search": SUB_IDS[-1], "search_utc": 1776102428.0, "comments": COMMENT_IDS[-1]}
    h = c.health()
    assert h["rate_limit_remaining"] == 600 - state.used and h["rate_limit_used"] == state.used
    assert isinstance(h["rate_limit_reset"], datetime) and h["last_error"] is None and h["gap_warning"] is None


# --------------------------------------------------------------------------- resume
def test_resume_search_then_comments(fake: tuple[FakeReddit, str], make: Any) -> None:
    state, _ = fake
    everything = SUB_IDS + COMMENT_IDS
    for stop_at in (3, len(SUB_IDS) + 4):
        first = make(comment_subreddits=["test"])
        it = first.fetch(None)
        head = [next(it) for _ in range(stop_at)]
        cur = first.cursor()
        it.close()
        second = make(comment_subreddits=["test"])
        tail = list(second.fetch(cur))
        assert ids(head) + ids(tail) == everything, stop_at
        assert not set(ids(head)) & set(ids(tail))
    befores = [r[2]["before"][0] for r in state.requests if "before" in r[2]]
    assert COMMENT_IDS[3] in befores  # the second run continued the stream after the cursor


def test_new_comments_after_a_run_are_picked_up(fake: tuple[FakeReddit, str], make: Any) -> None:
    state, _ = fake
    later = state.comments[:4]
    state.comments = state.comments[4:]
    first = make(search=False, comment_subreddits=["test"])
    assert ids(list(first.fetch(None))) == COMMENT_IDS[:-4]
    state.comments = later + state.comments  # four new comments arrive
    second = make(search=False, comment_subreddits=["test"])
    assert ids(list(second.fetch(first.cursor()))) == COMMENT_IDS[-4:]
    assert ids(list(make(search=False, comment_subreddits=["test"]).fetch(second.cursor()))) == []


def test_deleted_stream_anchor_falls_back_without_repeats(
    fake: tuple[FakeReddit, str], make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    gone = "t1_" + _b36(id36(COMMENT_IDS[5]) + 1)  # type: ignore[operator]  # never served: "deleted"
    c = make(search=False, comment_subreddits=["test"])
    got = list(c.fetch(Cursor(source="reddit", key="Acme", position=json.dumps({"comments": gone}))))
    assert ids(got) == COMMENT_IDS[6:]
    assert c.health()["gap_warning"] is None
    old = make(search=False, comment_subreddits=["test"])
    ancient = json.dumps({"comments": "t1_a00000"})
    with caplog.at_level(logging.WARNING, logger="listener.reddit"):
        got = list(old.fetch(Cursor(source="reddit", key="Acme", position=ancient)))
    assert ids(got) == COMMENT_IDS
    assert old.health()["gap_warning"] and "may be missing" in caplog.text


def test_search_window_widens_to_reach_an_old_cursor(fake: tuple[FakeReddit, str], make: Any) -> None:
    state, _ = fake
    old = SUBMISSIONS[-1]["data"]  # the oldest submission, posted 2026-04-13 05:40 UTC
    assert covering_time_filter("hour", old["created_utc"], NOW) == "week"
    assert covering_time_filter("day", old["created_utc"] - 40 * 86400, NOW) == "year"
    assert covering_time_filter("month", None, NOW) == "month"
    since = Cursor(source="reddit", key="Acme", position=json.dumps({"search": old["name"], "search_utc": 1.0e9}))
    got = list(make(time_filter="day").fetch(since))
    assert ids(got) == SUB_IDS[1:]
    assert state.requests[0][2]["t"] == ["all"]  # a 2001 cursor needs the widest window


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def test_skip_existing_first_run_remembers_without_yielding(make: Any) -> None:
    c = make(search=False, comment_subreddits=["test"], skip_existing=True)
    assert list(c.fetch(None)) == []
    assert position(c) == {"comments": COMMENT_IDS[-1]}


# --------------------------------------------------------------------------- rate limits and errors
def _recorded_429() -> tuple[int, dict[str, str], bytes]:
    headers = {"retry-after": "4", "content-type": "text/html; charset=UTF-8"}
    return 429, headers, (FIX / "rate_limit_429.html").read_bytes()


def test_429_on_search_waits_then_continues(fake: tuple[FakeReddit, str], make: Any) -> None:
    state, _ = fake
    state.inject["/r/all/search"] = [_recorded_429()]
    sleeps = Sleeps()
    c = make(sleep=sleeps)
    assert ids(list(c.fetch(None))) == SUB_IDS
    assert sleeps == [4.0]


def test_429_on_comment_stream_waits_then_resumes_without_repeats(fake: tuple[FakeReddit, str], make: Any) -> None:
    state, _ = fake
    state.page_size = 100
    sleeps = Sleeps()
    c = make(search=False, comment_subreddits=["test"], sleep=sleeps)
    it = c.fetch(None)
    head = [next(it) for _ in range(5)]
    state.inject["/r/test/comments"] = [_recorded_429()]
    more = copy.deepcopy(COMMENTS[:2])
    for n, child in enumerate(more):  # two newer comments arrive (ids beyond the fixture's newest)
        new_id = _b36(id36(COMMENT_IDS[-1]) + 10 + n)  # type: ignore[operator]
        child["data"].update(id=new_id, name=f"t1_{new_id}")
    state.comments = list(reversed(more)) + state.comments
    tail = list(it)
    assert ids(head) + ids(tail) == COMMENT_IDS + [m["data"]["name"] for m in more]
    assert sleeps == [4.0]


def test_5xx_retried_with_backoff_then_source_error(fake: tuple[FakeReddit, str], make: Any) -> None:
    state, _ = fake
    err = (503, {}, b'{"message": "Service Unavailable", "error": 503}')
    state.inject["/r/all/search"] = [err] * 3  # prawcore retries twice itself, then our backoff
    sleeps = Sleeps()
    assert ids(list(make(sleep=sleeps).fetch(None))) == SUB_IDS
    assert sleeps == [1]
    state.inject["/r/all/search"] = [err] * 9
    c = make(max_retries=2)
    with pytest.raises(SourceError) as exc:
        list(c.fetch(None))
    assert "after 3 attempts" in str(exc.value) and SECRET not in str(exc.value)
    assert c.health()["last_error"]


def test_refused_credentials(fake: tuple[FakeReddit, str], make: Any) -> None:
    state, _ = fake
    headers = {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'}  # recorded by prawcore
    state.inject["/r/all/search"] = [(401, headers, (FIX / "invalid_token_401.json").read_bytes())] * 3
    with pytest.raises(CredentialsError) as exc:
        list(make().fetch(None))
    assert "REDDIT_CLIENT_ID" in str(exc.value) and SECRET not in str(exc.value)
    assert len(state.token_requests) == 3  # prawcore fetched a fresh token before each retry


# --------------------------------------------------------------------------- malformed items and filters
def test_malformed_items_are_logged_and_skipped(
    fake: tuple[FakeReddit, str], make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    state, _ = fake
    by = {c["data"]["name"]: c["data"] for c in state.submissions}
    del by["t3_1ski9yy"]["created_utc"]
    by["t3_1skcw8y"]["created_utc"] = "yesterday"
    by["t3_1skbgrz"]["title"] = "broken \ud800 surrogate"
    by["t3_1skbcy2"]["selftext"] = "x" * 1_000_000
    del by["t3_1skaj6p"]["author"]
    with caplog.at_level(logging.WARNING, logger="listener.reddit"):
        got = list(make().fetch(None))
    assert ids(got) == ["t3_1sk1wcc", "t3_1sk4gcb", "t3_1sk894v"]
    for nid, reason in [
        ("t3_1ski9yy", "created_utc"),
        ("t3_1skcw8y", "created_utc"),
        ("t3_1skbgrz", "UTF-8"),
        ("t3_1skbcy2", "characters"),
        ("t3_1skaj6p", "author"),
    ]:
        assert any(nid in r.getMessage() and reason in r.getMessage() for r in caplog.records), nid


def test_local_match_drops_non_matching(fake: tuple[FakeReddit, str], make: Any) -> None:
    c = make(comment_subreddits=["test"], match=lambda m: "VettedBot" in m.text or "Resident Evil" in m.text)
    got = list(c.fetch(None))
    assert ids(got) == ["t3_1skbcy2", "t1_k3ynm7c", "t1_k3ynwqb"]
    assert position(c)["search"] == SUB_IDS[-1]  # items dropped by the filter still advance the cursor
    assert position(c)["comments"] == COMMENT_IDS[-1]


# --------------------------------------------------------------------------- configuration
def _settings() -> Settings:
    return Settings(brands=[{"name": "Acme", "keywords": ["acme phone"]}, {"name": "Nimbus"}])


def test_from_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDDIT_CLIENT_ID", "REDACTED-id")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("REDDIT_USER_AGENT", "brandpulse-tests/0.1 (by u/REDACTED)")
    built = RedditCollector.from_config(
        {"subreddits": ["technology", "gadgets"], "comment_subreddits": ["acme"], "time_filter": "day"}, _settings()
    )
    assert [c.brand for c in built] == ["Acme", "Nimbus"]
    assert built[0].reddit is built[1].reddit and built[0].reddit.read_only
    assert built[0].query and "acme phone" in built[0].query.lower()
    assert built[0].subreddits == ["technology", "gadgets"] and built[0].time_filter == "day"
    assert SECRET not in repr(built[0])
    with pytest.raises(ConfigError) as bad:
        RedditCollector.from_config({"time_filter": "decade"}, _settings())
    assert "time_filter" in str(bad.value)
    with pytest.raises(ConfigError) as sub:
        RedditCollector.from_config({"subreddits": ["r/technology"]}, _settings())
    assert "subreddits" in str(sub.value)
    monkeypatch.delenv("REDDIT_CLIENT_SECRET")
    monkeypatch.delenv("BRANDPULSE_SECRETS_FILE", raising=False)
    with pytest.raises(CredentialsError) as missing:
        RedditCollector.from_config({}, _settings())
    assert "REDDIT_CLIENT_SECRET" in str(missing.value)
