"""Bluesky through ``brandpulse collect`` over real recordings (tests/fixtures/bluesky).

- Jetstream: the 152 events captured from production Jetstream v1 (``jetstream_v1_events.jsonl``), served by
  the fake Jetstream of tests/test_collector_bluesky.py; two brands share one connection.
- Search login: the fake entryway answers ``com.atproto.server.createSession`` with the recorded account of
  ``recorded/describe_repo_with_did_doc.json`` (its ``handle``, ``did`` and ``didDoc``, the fields
  createSession returns; no createSession body with a reusable license was found, see that SOURCE.md) and
  test tokens in place of the (secret) JWTs. The didDoc names the account's PDS,
  ``https://shimeji.us-east.host.bsky.network``; a transport on the client sends that host to a local fake
  PDS, so the test sees where atproto's client sends ``searchPosts`` after login.
- A refused or unreachable login fails only the Bluesky source: replay still stores everything.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine

from brandpulse.config import BrandConfig, Settings
from brandpulse.errors import CredentialsError, SourceError
from brandpulse.store.cursors import source_health
from brandpulse.store.engine import make_engine
from brandpulse.store.migrate import upgrade
from listener import bluesky
from listener.bluesky import BlueskySession
from listener.registry import get_collector_class
from listener.runner import follow
from tests.fakeserver import LocalServer, QuietHandler, collect_cli, send, stored_cursors, stored_mentions
from tests.test_collector_bluesky import FakeJetstream, FakeXrpc, post_views, recorded

FIX = Path(__file__).parent / "fixtures" / "bluesky"
ACCOUNT = json.loads((FIX / "recorded" / "describe_repo_with_did_doc.json").read_text(encoding="utf-8"))
PDS = ACCOUNT["didDoc"]["service"][0]["serviceEndpoint"]  # https://shimeji.us-east.host.bsky.network
PASSWORD = "REDACTED-app-password"
T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def _test_jwt(scope: str) -> str:
    """An unsigned JWT (atproto's client reads only ``exp``): stands in for the recording's removed secrets."""
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"scope": scope, "sub": ACCOUNT["did"], "exp": int((datetime.now(UTC) + timedelta(days=1)).timestamp())}
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.c2lnbmF0dXJl"


class FakeEntryway:
    """``POST /xrpc/com.atproto.server.createSession`` with the recorded account; 401 on a wrong password."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                with fake.lock:
                    fake.requests.append((urlsplit(self.path).path, body))
                if urlsplit(self.path).path != "/xrpc/com.atproto.server.createSession":
                    return send(self, 404, b'{"error":"XRPCNotSupported","message":"XRPCNotSupported"}')
                if body.get("password") != PASSWORD:
                    return send(self, 401, b'{"error":"AuthenticationRequired","message":"Invalid identifier or password"}')
                session = {"did": ACCOUNT["did"], "didDoc": ACCOUNT["didDoc"], "handle": ACCOUNT["handle"],
                           "accessJwt": _test_jwt("com.atproto.appPass"), "refreshJwt": _test_jwt("com.atproto.refresh")}
                send(self, 200, json.dumps(session).encode())

        self.server = LocalServer(Handler).start()
        self.url = self.server.url


class _ToLocal(httpx.BaseTransport):
    """Send requests for `prefix` (the recorded PDS) to a local server; everything else as addressed."""

    def __init__(self, prefix: str, base: str) -> None:
        self.prefix, self.base, self.inner = prefix, base, httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url.startswith(self.prefix):
            request.url = httpx.URL(self.base + url[len(self.prefix):])
        return self.inner.handle_request(request)


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeEntryway, FakeXrpc]]:
    from atproto import Client
    from atproto_client.request import Request

    entryway, pds = FakeEntryway(), FakeXrpc()
    monkeypatch.setattr(
        bluesky, "new_client",
        lambda url, timeout_s: Client(base_url=url, request=Request(transport=_ToLocal(PDS, pds.url), timeout=timeout_s)),
    )
    monkeypatch.setenv("BLUESKY_HANDLE", ACCOUNT["handle"])
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", PASSWORD)
    yield entryway, pds
    entryway.server.close()
    pds.close()


# --------------------------------------------------------------------------- jetstream
def test_recorded_jetstream_one_connection_for_two_brands(db_url: str, tmp_path: Path) -> None:
    events = recorded()
    posts = {f"at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}": e["commit"]["record"] for e in events
             if e.get("kind") == "commit" and e["commit"]["collection"] == "app.bsky.feed.post"
             and e["commit"]["operation"] == "create"}
    assert (len(events), len(posts)) == (152, 17)  # what the capture holds
    brands = {"People": "people", "Government": "government"}
    want = {uri: sorted(b for b, w in brands.items() if re.search(rf"\b{w}\b", rec["text"], re.IGNORECASE))
            for uri, rec in posts.items()}
    want = {uri: b for uri, b in want.items() if b}
    cfg = "".join(f'[[brands]]\nname = "{b}"\nkeywords = ["{w}"]\nlanguages = []\n\n' for b, w in brands.items())
    with FakeJetstream(events) as js:
        cfg += f'[sources.bluesky]\nurl = "{js.url}"\nidle_timeout_s = 0.5\nduration_s = 20\n'
        first = collect_cli(tmp_path, cfg, db_url, "bluesky")
        assert first.exit_code == 0, first.output
        assert len(js.connections) == 1  # one connection serves both brands
        got = stored_mentions(db_url)
        assert {uri: row["brands"] for uri, row in got.items()} == want
        assert len(got) == 4 and sum(len(b) == 2 for b in want.values()) == 1  # 4 of 17 posts; 1 names both
        for uri, row in got.items():
            did, rkey = uri.removeprefix("at://").split("/app.bsky.feed.post/")
            assert row["text"] == posts[uri]["text"] and row["author_handle"] == did
            assert row["url"] == f"https://bsky.app/profile/{did}/post/{rkey}"
            assert row["created_at"] == datetime.fromisoformat(posts[uri]["createdAt"].replace("Z", "+00:00"))
        cursor = stored_cursors(db_url)[("bluesky", "jetstream")]

        second = collect_cli(tmp_path, cfg, db_url, "bluesky")
        assert second.exit_code == 0, second.output
        assert "cursor" in js.connections[1]  # resumed from the stored position
        assert int(js.connections[1]["cursor"][0]) <= int(cursor.split(":")[0])
        assert stored_mentions(db_url).keys() == got.keys()


# --------------------------------------------------------------------------- search: login, then the PDS
SEARCH_CFG = """
[[brands]]
name = "Acme"
keywords = ["acme"]
languages = []

[sources.bluesky]
mode = "search"
xrpc_url = "{url}"
lookback_s = 86400
"""


def test_login_then_requests_go_to_the_sessions_pds(
    servers: tuple[FakeEntryway, FakeXrpc], db_url: str, tmp_path: Path
) -> None:
    entryway, pds = servers
    now = datetime.now(UTC).replace(microsecond=0)
    pds.posts = post_views(6, now - timedelta(hours=2))  # the recorded postView, 6 times with new ids/times/text
    res = collect_cli(tmp_path, SEARCH_CFG.format(url=entryway.url), db_url, "bluesky")
    assert res.exit_code == 0, res.output
    assert [p for p, _ in entryway.requests] == ["/xrpc/com.atproto.server.createSession"]  # nothing else there
    assert entryway.requests[0][1]["identifier"] == ACCOUNT["handle"]
    assert len(pds.requests) == 2 and all(q["q"] == ["acme"] for q in pds.requests)  # searchPosts went to the PDS
    got = stored_mentions(db_url)
    assert set(got) == {p["uri"] for p in pds.posts} and len(got) == 6
    row = got[pds.posts[0]["uri"]]
    assert (row["author_handle"], row["likes"], row["text"]) == (ACCOUNT["handle"], 5, "acme post 5")
    again = collect_cli(tmp_path, SEARCH_CFG.format(url=entryway.url), db_url, "bluesky")
    assert again.exit_code == 0 and stored_mentions(db_url).keys() == got.keys()


def test_refused_login_is_retried_with_backoff_on_later_fetches(servers: tuple[FakeEntryway, FakeXrpc]) -> None:
    entryway, _ = servers
    session = BlueskySession(entryway.url, ACCOUNT["handle"], "wrong password", base_wait_s=60, max_wait_s=3600)
    with pytest.raises(CredentialsError, match="login refused"):
        session.client(T0)
    with pytest.raises(SourceError, match="next attempt after"):
        session.client(T0 + timedelta(seconds=59))  # inside the wait: the server is not asked
    assert len(entryway.requests) == 1
    with pytest.raises(CredentialsError):
        session.client(T0 + timedelta(seconds=61))
    assert len(entryway.requests) == 2 and session.next_try == T0 + timedelta(seconds=61 + 120)  # doubled
    session._password = PASSWORD  # the user fixed the app password
    assert session.client(T0 + timedelta(seconds=182)) is session.client(T0 + timedelta(seconds=183))
    assert len(entryway.requests) == 3 and session.failures == 0


# --------------------------------------------------------------------------- one failing source
def _replay_csv(tmp_path: Path, n: int) -> Path:
    data = tmp_path / "replay.csv"
    data.write_text("id,created_at,author,text,brand\n" + "".join(
        f"{i},2026-11-02T10:{i:02d}:00Z,u{i},Acme post {i},Acme\n" for i in range(n)), encoding="utf-8")
    return data


@pytest.mark.parametrize("where", ["refused", "unreachable"])
def test_failed_login_stops_only_bluesky(
    servers: tuple[FakeEntryway, FakeXrpc], where: str, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entryway, _ = servers
    if where == "refused":
        monkeypatch.setenv("BLUESKY_APP_PASSWORD", "wrong password")
        url = entryway.url
    else:
        url = "http://127.0.0.1:9"  # nothing listens there
    cfg = SEARCH_CFG.format(url=url) + "max_retries = 0\n\n" + f'[sources.replay]\npath = "{_replay_csv(tmp_path, 25)}"\n'
    res = collect_cli(tmp_path, cfg, db_url)  # every source
    assert res.exit_code == 1 and "bluesky" in res.output and "login" in res.output
    assert len(stored_mentions(db_url)) == 25  # all replay mentions stored
    eng = make_engine(db_url)
    try:
        health = {h.source: h for h in source_health(eng)}
        assert health["bluesky"].last_error and "login" in health["bluesky"].last_error
        assert health["replay"].last_success is not None and health["replay"].error_count == 0
    finally:
        eng.dispose()


def test_run_keeps_going_when_bluesky_cannot_log_in(
    servers: tuple[FakeEntryway, FakeXrpc], db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `brandpulse run` collect loop (listener.runner.follow over brandpulse.collecting's collectors)."""
    from brandpulse.collecting import build_collectors

    entryway, _ = servers
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "wrong password")
    settings = Settings(brands=[BrandConfig(name="Acme", languages=[])], sources={
        "bluesky": {"mode": "search", "xrpc_url": entryway.url},
        "replay": {"path": str(_replay_csv(tmp_path, 12))},
    })
    assert get_collector_class("bluesky").name == "bluesky"
    collectors = build_collectors(settings)  # builds without logging in
    assert entryway.requests == []
    engine: Engine = make_engine(db_url)
    try:
        upgrade(engine)
        follow(engine, collectors, interval_s=0.01, max_rounds=3)
        assert len(stored_mentions(db_url)) == 12
        assert len(entryway.requests) == 1  # later rounds wait out the login backoff instead of hammering
        errors = {h.source: h.error_count for h in source_health(engine)}
        assert errors == {"bluesky": 3, "replay": 0}
    finally:
        engine.dispose()
