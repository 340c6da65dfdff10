"""XCollector / XStreamCollector through the real tweepy clients against a local fake X API.

The fake serves recorded real payloads (tests/fixtures/x/SOURCE.md): the X API v2 docs' example
responses for recent search, the user Tweet timeline and the data dictionary, the filtered
stream's rule examples, and stream lines built from those posts in the documented stream line
shape. It honours ``since_id`` and ``next_token`` like recent search. tweepy 4.17 sends every
request to https://api.twitter.com; a requests transport adapter mounted on the client's session
redirects that prefix to the fake server (tweepy, requests and urllib3 all run for real).
"""

from __future__ import annotations

import copy
import html
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import tweepy

from brandpulse.config import Settings
from brandpulse.errors import ConfigError, CredentialsError, SourceError
from brandpulse.types import Cursor, Mention
from listener.x import API_HOST, StreamTarget, XCollector, XOptions, XStreamCollector, snowflake_time
from tests.fakeserver import LocalServer, QuietHandler, Sleeps, send
from tests.options import pop_options

FIX = Path(__file__).parent / "fixtures" / "x"
TOKEN = "REDACTED-test-bearer-token"
NOW = datetime(2021, 3, 24, 12, 0, tzinfo=UTC)  # the recorded posts are from 2021-03-18..23
QUERY = '("Twitter API" OR @TwitterDev OR #TwitterAPI) -is:retweet'
ALL_IDS = [
    "1296887316556980230",
    "1307025659294674945",
    "1372625612460810242",
    "1372627771717869568",
    "1373001119480344583",
    "1374104599456534531",
    "1374405406261268481",
]
STREAM_IDS = ALL_IDS[2:]


def load(name: str) -> Any:
    return json.loads((FIX / name).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- fake X API
class FakeX:
    """Recent search pages, stream rules and stream sessions, plus one-shot injected replies."""

    def __init__(self) -> None:
        self.pages: list[dict[str, Any]] = [load("search_page_1.json"), load("search_page_2.json")]
        self.rules: list[dict[str, Any]] = list(load("stream_rules_get.json")["data"])
        self.next_rule_id = int(load("stream_rules_post.json")["data"][0]["id"])
        self.sessions: list[tuple[str, bool]] = []  # (ndjson file, end cleanly?)
        self.inject: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        self.requests: list[tuple[str, str, dict[str, list[str]], Any]] = []
        self.lock = threading.Lock()

    def search(self, qs: dict[str, list[str]]) -> dict[str, Any]:
        since = int(qs["since_id"][0]) if "since_id" in qs else 0
        pages = []
        for page in self.pages:
            kept = [t for t in page.get("data", []) if int(t["id"]) > since]
            if kept:
                pages.append((page, kept))
        index = int(qs["next_token"][0].split("-")[1]) if "next_token" in qs else 0
        if not pages:
            return {"meta": {"result_count": 0}}
        page, kept = pages[index]
        body = copy.deepcopy(page)
        body["data"] = kept
        meta = {"newest_id": kept[0]["id"], "oldest_id": kept[-1]["id"], "result_count": len(kept)}
        if index + 1 < len(pages):
            meta["next_token"] = f"{page['meta'].get('next_token', 'page')}-{index + 1}"
        body["meta"] = meta
        return body

    def rules_post(self, body: dict[str, Any]) -> dict[str, Any]:
        template = load("stream_rules_post.json")
        if "delete" in body:
            ids = set(body["delete"]["ids"])
            before = len(self.rules)
            self.rules = [r for r in self.rules if r["id"] not in ids]
            gone = before - len(self.rules)
            return {"meta": {"sent": template["meta"]["sent"], "summary": {"deleted": gone, "not_deleted": 0}}}
        created = []
        for rule in body.get("add", []):
            created.append({"value": rule["value"], "tag": rule.get("tag"), "id": str(self.next_rule_id)})
            self.next_rule_id += 1
        self.rules += created
        n = len(created)
        meta = {"sent": template["meta"]["sent"], "summary": {"created": n, "not_created": 0, "valid": n, "invalid": 0}}
        return {"data": created, "meta": meta}


def _handler(fake: FakeX) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            send(self, status, raw, headers, close=True)

        def _stream(self, name: str, clean: bool) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("transfer-encoding", "chunked")
            self.send_header("connection", "close")
            self.end_headers()
            for line in (FIX / name).read_bytes().splitlines(keepends=True):
                self.wfile.write(f"{len(line):X}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            if clean:
                self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True  # without the last chunk: an abrupt disconnect

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            qs = parse_qs(url.query)
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            with fake.lock:
                fake.requests.append((method, url.path, qs, body))
                injected = fake.inject.get(url.path)
                if injected:
                    status, headers, raw = injected.pop(0)
                    return self._reply(status, raw, headers)
            ok = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "448", "x-rate-limit-reset": "1616590000"}
            if url.path == "/2/tweets/search/recent":
                return self._reply(200, fake.search(qs), ok)
            if url.path == "/2/tweets/search/stream/rules" and method == "GET":
                meta = {"sent": load("stream_rules_get.json")["meta"]["sent"], "result_count": len(fake.rules)}
                return self._reply(200, {"data": fake.rules, "meta": meta} if fake.rules else {"meta": meta}, ok)
            if url.path == "/2/tweets/search/stream/rules":
                return self._reply(200, fake.rules_post(body or {}), ok)
            if url.path == "/2/tweets/search/stream" and fake.sessions:
                name, clean = fake.sessions.pop(0)
                return self._stream(name, clean)
            return self._reply(404, {"title": "Not Found Error"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler


class _ToFake(requests.adapters.HTTPAdapter):
    """Transport seam: send tweepy's https://api.twitter.com requests to the fake server."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert request.url is not None
        request.url = self.base + request.url[len(API_HOST) :]
        return super().send(request, **kwargs)


@pytest.fixture
def fake() -> Iterator[tuple[FakeX, str]]:
    state = FakeX()
    with LocalServer(_handler(state)) as server:
        yield state, server.url


@pytest.fixture
def clients(fake: tuple[FakeX, str]) -> Iterator[dict[str, Any]]:
    _, base = fake
    made = {
        "search": tweepy.Client(bearer_token=TOKEN),
        "stream": tweepy.StreamingClient(TOKEN),
        "search2": tweepy.Client(bearer_token=TOKEN),
    }
    for c in made.values():
        c.session.mount(API_HOST, _ToFake(base))
    yield made
    for c in made.values():
        c.session.close()


def collector(client: tweepy.Client, **kw: Any) -> XCollector:
    kw.setdefault("sleep", Sleeps())
    return XCollector(pop_options(XOptions, kw), client, brand="TwitterDev", query=QUERY, key="TwitterDev", now=lambda: NOW, **kw)


def ids(items: list[Mention]) -> list[str]:
    return [m.native_id for m in items]


# --------------------------------------------------------------------------- parsing
def test_docs_recent_search_example_parses(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    state.pages = [load("search_recent_optional_fields.json")]
    got = list(collector(clients["search"]).fetch(None))
    assert len(got) == 1
    m = got[0]
    assert m.platform == "x" and m.native_id == "1373001119480344583"
    assert m.created_at == datetime(2021, 3, 19, 19, 59, 10, tzinfo=UTC)
    assert m.author.handle == "TwitterDev" and m.author.display_name == "Twitter Dev"
    assert m.author.followers is None  # the example asked for no user public_metrics
    assert m.language == "en" and m.url == "https://x.com/TwitterDev/status/1373001119480344583"
    assert m.text.startswith("Looking to get started with the Twitter API")
    assert m.brand == "TwitterDev" and m.query == QUERY
    assert m.raw is not None and m.raw["data"]["conversation_id"] == "1373001119480344583"
    assert m.raw["includes"]["users"][0]["username"] == "TwitterDev"
    method, path, qs, _ = state.requests[0]
    assert (method, path) == ("GET", "/2/tweets/search/recent")
    assert qs["query"] == [QUERY] and qs["max_results"] == ["100"]
    assert qs["expansions"][0].split(",") == ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
    assert set(qs["tweet.fields"][0].split(",")) >= {
        "created_at",
        "lang",
        "public_metrics",
        "conversation_id",
        "referenced_tweets",
        "in_reply_to_user_id",
    }
    assert set(qs["user.fields"][0].split(",")) == {"username", "name", "public_metrics"}
    assert "since_id" not in qs


def test_pages_parse_into_mentions_oldest_first(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    c = collector(clients["search"])
    got = list(c.fetch(None))
    assert ids(got) == ALL_IDS
    by = {m.native_id: m for m in got}
    reply = by["1372625612460810242"]  # a reply with in_reply_to_user_id, from the timeline example
    assert reply.parent_id == "1371363774729363460"
    assert reply.engagement.likes == 1 and reply.author.followers == 517602
    quoted = by["1374104599456534531"]
    assert quoted.parent_id == "1373001119480344583"  # a quote points to the quoted post (issue 11)
    assert (quoted.engagement.likes, quoted.engagement.reposts, quoted.engagement.replies) == (21, 7 + 2, 1)
    old = by["1296887316556980230"]  # the data dictionary's "Tweet reply" example
    assert old.parent_id == "1296887091901718529" and old.author.followers == 513962
    assert old.created_at == datetime(2020, 8, 21, 19, 10, 5, tzinfo=UTC)
    assert [len(r[2].get("next_token", [])) for r in state.requests] == [0, 1]
    assert c.cursor() == Cursor(source="x", key="TwitterDev", position=ALL_IDS[-1], updated_at=NOW)
    h = c.health()
    assert h["rate_limit_remaining"] == 448 and h["rate_limit_reset"] == datetime.fromtimestamp(1616590000, UTC)
    assert h["last_error"] is None and h["gap_warning"] is None


def test_snowflake_time_matches_created_at() -> None:
    for page in (load("search_page_1.json"), load("search_page_2.json")):
        for t in page["data"]:
            created = datetime.fromisoformat(t["created_at"].replace("Z", "+00:00"))
            assert abs(snowflake_time(t["id"]) - created) < timedelta(seconds=1)


# --------------------------------------------------------------------------- resume
def test_resume_from_cursor_misses_nothing_and_repeats_nothing(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    first = collector(clients["search"])
    it = first.fetch(None)
    head = [next(it) for _ in range(3)]
    cur = first.cursor()
    assert cur is not None and cur.position == head[-1].native_id
    it.close()
    second = collector(clients["search2"])
    tail = list(second.fetch(cur))
    assert ids(head) + ids(tail) == ALL_IDS
    assert len(set(ids(head)) & set(ids(tail))) == 0
    assert state.requests[-1][2]["since_id"] == [cur.position]
    assert second.cursor().position == ALL_IDS[-1]  # type: ignore[union-attr]


def test_cursor_advances_past_items_dropped_by_match(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    c = collector(clients["search"], match=lambda m: "APIs 101" in m.text)
    got = list(c.fetch(None))
    assert ids(got) == ["1373001119480344583", "1374104599456534531"]
    assert c.cursor().position == ALL_IDS[-1]  # type: ignore[union-attr]


def test_old_cursor_sets_gap_warning(fake: tuple[FakeX, str], clients: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    state, _ = fake
    old = Cursor(source="x", key="TwitterDev", position="1296887316556980230")  # 2020-08-21
    c = collector(clients["search"])
    with caplog.at_level(logging.WARNING, logger="listener.x"):
        got = list(c.fetch(old))
    assert ids(got) == ALL_IDS[1:]
    gap = c.health()["gap_warning"]
    assert gap and "cannot be fetched" in gap and "2020-08-21" in gap
    assert "cannot be fetched" in caplog.text
    assert "since_id" not in state.requests[0][2]  # X rejects since_id older than the window


# --------------------------------------------------------------------------- rate limits and errors
def test_429_waits_until_reset_then_continues(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    reset = int(NOW.timestamp()) + 37
    headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    body = (FIX / "rate_limit_429.json").read_bytes()
    state.inject["/2/tweets/search/recent"] = [(429, headers, body)]
    sleeps = Sleeps()
    c = collector(clients["search"], sleep=sleeps)
    assert ids(list(c.fetch(None))) == ALL_IDS
    assert sleeps == [37.0]
    assert c.health()["rate_limit_remaining"] == 448


def test_5xx_is_retried_with_backoff_then_gives_up(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    err = (503, {}, json.dumps({"title": "Service Unavailable"}).encode())
    state.inject["/2/tweets/search/recent"] = [err, err]
    sleeps = Sleeps()
    assert ids(list(collector(clients["search"], sleep=sleeps).fetch(None))) == ALL_IDS
    assert sleeps == [1, 2]
    state.inject["/2/tweets/search/recent"] = [err] * 3
    c = collector(clients["search2"], max_retries=2)
    with pytest.raises(SourceError) as exc:
        list(c.fetch(None))
    assert "after 3 attempts" in str(exc.value) and TOKEN not in str(exc.value)
    assert c.health()["last_error"]


def test_401_is_a_credentials_error(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    body = json.dumps({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
    state.inject["/2/tweets/search/recent"] = [(401, {}, body.encode())]
    with pytest.raises(CredentialsError) as exc:
        list(collector(clients["search"]).fetch(None))
    assert "X_BEARER_TOKEN" in str(exc.value) and TOKEN not in str(exc.value)


# --------------------------------------------------------------------------- malformed items and filters
def test_malformed_items_are_logged_and_skipped(
    fake: tuple[FakeX, str], clients: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    state, _ = fake
    page = state.pages[0]
    by = {t["id"]: t for t in page["data"]}
    by["1374405406261268481"]["created_at"] = "yesterday"
    by["1374104599456534531"]["text"] = "broken \ud800 surrogate"
    by["1373001119480344583"]["text"] = "x" * 1_000_000
    del by["1372627771717869568"]["author_id"]
    with caplog.at_level(logging.WARNING, logger="listener.x"):
        got = list(collector(clients["search"]).fetch(None))
    assert ids(got) == ["1296887316556980230", "1307025659294674945", "1372625612460810242"]
    for nid, reason in [
        ("1374405406261268481", "created_at"),
        ("1374104599456534531", "UTF-8"),
        ("1373001119480344583", "characters"),
        ("1372627771717869568", "includes.users"),
    ]:
        assert any(nid in r.getMessage() and reason in r.getMessage() for r in caplog.records), nid


def test_local_match_drops_non_matching(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    got = list(collector(clients["search"], match=lambda m: "@suhemparack" in m.text).fetch(None))
    assert ids(got) == ["1372625612460810242"]


def test_bearer_token_never_logged(fake: tuple[FakeX, str], clients: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        c = collector(clients["search"])
        list(c.fetch(None))
    assert "Bearer" in caplog.text  # tweepy did log its request headers ...
    assert TOKEN not in caplog.text  # ... with the token redacted
    assert TOKEN not in repr(c)


# --------------------------------------------------------------------------- filtered stream
def stream_collector(clients: dict[str, Any], **kw: Any) -> XStreamCollector:
    target = StreamTarget(brand="TwitterDev", query=QUERY)
    kw.setdefault("sleep", Sleeps())
    options = pop_options(XOptions, kw, stream_seconds=None)
    return XStreamCollector(options, clients["stream"], targets=[target], now=lambda: NOW, read_timeout=5.0, **kw)


def test_stream_rules_reconnect_and_dedup(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    state.sessions = [("stream_session_1.ndjson", False), ("stream_session_2.ndjson", True)]
    state.inject["/2/tweets/search/stream"] = []  # the 503 goes between the two sessions, see below
    sleeps = Sleeps()
    c = stream_collector(clients, sleep=sleeps, max_items=5)
    it = c.fetch(None)
    got = [next(it), next(it)]  # session 1: two posts, a post for someone else's rule, then it drops
    state.inject["/2/tweets/search/stream"] = [(503, {}, b'{"title":"Service Unavailable"}')]
    got += list(it)
    assert ids(got) == STREAM_IDS
    assert sleeps == [5.0]  # dropped after data → at once; the 503 → 5 s (X's HTTP backoff)
    assert c.reconnects == 2
    posts = [r for r in state.requests if r[0] == "POST"]
    assert [p[3] for p in posts] == [{"add": [{"value": QUERY, "tag": "brandpulse:TwitterDev#0"}]}]
    assert sorted(str(r.get("tag")) for r in state.rules) == ["None", "brandpulse:TwitterDev#0", "dog pictures"]
    stream_req = next(r for r in state.requests if r[1] == "/2/tweets/search/stream")
    assert "referenced_tweets.id" in stream_req[2]["expansions"][0].split(",")  # retweets' originals come along
    assert c.cursor().position == STREAM_IDS[-1]  # type: ignore[union-attr]
    m = got[0]
    assert m.brand == "TwitterDev" and m.author.followers == 513962 and m.parent_id == "1371363774729363460"


def test_stream_rules_already_present_are_kept(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    state.rules.append({"id": "1273026480692322304", "value": QUERY, "tag": "brandpulse:TwitterDev#0"})
    state.rules.append({"id": "1273026480692322305", "value": "old query", "tag": "brandpulse:Gone#0"})
    stream_collector(clients).sync_rules()
    posts = [r[3] for r in state.requests if r[0] == "POST"]
    assert posts == [{"delete": {"ids": ["1273026480692322305"]}}]
    assert sorted(str(r.get("tag")) for r in state.rules) == ["None", "brandpulse:TwitterDev#0", "dog pictures"]


def test_stream_resume_catches_up_by_search(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    state.sessions = [("stream_session_1.ndjson", False)]
    first = stream_collector(clients, max_items=2)
    head = list(first.fetch(None))
    cur = first.cursor()
    assert cur is not None and cur.position == STREAM_IDS[1]
    second = stream_collector(clients, max_items=3, search_client=clients["search"])
    tail = list(second.fetch(cur))
    assert ids(head) + ids(tail) == STREAM_IDS
    search = [r for r in state.requests if r[1] == "/2/tweets/search/recent"]
    assert search and search[0][2]["since_id"] == [cur.position]


def test_stream_429_waits_until_reset(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    reset = int(NOW.timestamp()) + 42
    headers = {"x-rate-limit-limit": "50", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    body = (FIX / "stream_429_too_many_connections.json").read_bytes()
    state.inject["/2/tweets/search/stream"] = [(429, headers, body)]
    state.sessions = [("stream_session_2.ndjson", True)]
    sleeps = Sleeps()
    got = list(stream_collector(clients, sleep=sleeps, max_items=4).fetch(None))
    assert sleeps == [42.0]
    assert ids(got) == STREAM_IDS[1:]


def test_stream_gives_up_after_max_reconnects(fake: tuple[FakeX, str], clients: dict[str, Any]) -> None:
    state, _ = fake
    state.inject["/2/tweets/search/stream"] = [(503, {}, b"{}")] * 3
    sleeps = Sleeps()
    with pytest.raises(SourceError) as exc:
        list(stream_collector(clients, sleep=sleeps, max_reconnects=2).fetch(None))
    assert "reconnects" in str(exc.value)
    assert sleeps == [5.0, 10.0]


def test_stream_malformed_post_is_logged_and_skipped(
    fake: tuple[FakeX, str], clients: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    state, _ = fake
    state.sessions = [("stream_session_default_format.ndjson", True)]
    with caplog.at_level(logging.WARNING, logger="listener.x"):
        got = list(stream_collector(clients, max_items=1).fetch(None))
    assert ids(got) == ["1373001119480344583"]
    assert any("1067094924124872705" in r.getMessage() and "created_at" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("ending", ["clean", "abrupt"])
def test_recorded_stream_with_a_cut_off_last_line(
    fake: tuple[FakeX, str], clients: dict[str, Any], caplog: pytest.LogCaptureFixture, ending: str
) -> None:
    """A real filtered-stream capture (twarc-csv): rule ids as JSON numbers with a null tag, a quote post, replies,
    and a last line cut off mid-object when the connection dropped. Every complete line is stored; the cut line is
    logged and skipped; the lost connection is the source's fault, not a crash."""
    state, _ = fake
    name = "recorded/stream_dogs_truncated_last_line.jsonl"
    lines = (FIX / name).read_bytes().splitlines()
    complete = [json.loads(line) for line in lines[:-1]]
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[-1])
    (rule_id,) = {r["id"] for line in complete for r in line["matching_rules"]}
    state.rules.append({"id": str(rule_id), "value": QUERY, "tag": "brandpulse:TwitterDev#0"})  # our rule, X's id
    state.sessions = [(name, ending == "clean")]
    got: list[Mention] = []
    with caplog.at_level(logging.WARNING, logger="listener.x"), pytest.raises(SourceError, match="reconnects"):
        for m in stream_collector(clients, max_reconnects=0).fetch(None):
            got.append(m)
    posted = [line["data"]["id"] for line in complete]
    assert [m.native_id for m in got if m.native_id in posted] == posted  # every complete line, in order
    assert all(m.brand == "TwitterDev" for m in got)
    by_id = {m.native_id: m for m in got}
    for line in complete:
        tweet, users = line["data"], {u["id"]: u for u in line["includes"]["users"]}
        m = by_id[tweet["id"]]
        assert m.text == html.unescape(tweet["text"]) and m.author.handle == users[tweet["author_id"]]["username"]
        refs = {r["type"]: r["id"] for r in tweet.get("referenced_tweets", [])}
        if "quoted" in refs or "replied_to" in refs:
            assert m.parent_id in refs.values()
    # the cut line reaches the parser when the response ended cleanly; an abrupt end drops it with the connection
    expected = "malformed X stream line" if ending == "clean" else "X stream disconnected"
    assert any(expected in r.getMessage() for r in caplog.records)


def test_stream_rule_longer_than_512_is_refused() -> None:
    target = StreamTarget(brand="B", query="x" * 600)
    with pytest.raises(ConfigError):
        target.rule_values()


# --------------------------------------------------------------------------- configuration
def _settings(**sources: Any) -> Settings:
    return Settings(brands=[{"name": "TwitterDev", "keywords": ["Twitter API"]}], sources={"x": sources})


def test_from_config_builds_collectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    built = XCollector.from_config({}, _settings())
    assert len(built) == 1 and isinstance(built[0], XCollector)
    c = built[0]
    assert c.brand == "TwitterDev" and c.query and "twitter api" in c.query.lower()
    assert c.client.return_type is dict and c.client.wait_on_rate_limit is False
    streams = XCollector.from_config({"mode": "stream", "stream_seconds": 30}, _settings())
    assert len(streams) == 1 and isinstance(streams[0], XStreamCollector)
    assert streams[0].max_seconds == 30 and streams[0].search_client is not None
    for obj in (c, streams[0]):
        assert TOKEN not in repr(obj)
        obj.client.session.close()
    streams[0].search_client.session.close()  # type: ignore[union-attr]


def test_from_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.delenv("BRANDPULSE_SECRETS_FILE", raising=False)
    with pytest.raises(CredentialsError) as exc:
        XCollector.from_config({}, _settings())
    assert "X_BEARER_TOKEN" in str(exc.value)
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    with pytest.raises(ConfigError) as bad:
        XCollector.from_config({"max_results": 500}, _settings())
    assert "max_results" in str(bad.value)
    with pytest.raises(ConfigError) as unknown:
        XCollector.from_config({"modee": "stream"}, _settings())
    assert "modee" in str(unknown.value)
