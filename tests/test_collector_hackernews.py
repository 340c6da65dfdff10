"""HackerNewsCollector through real httpx against a local fake of the Algolia HN Search API.

The fake serves recorded real hits (tests/fixtures/hackernews/SOURCE.md) and behaves like
`/api/v1/search_by_date`: newest first, `tags` with (a,b) OR-groups, `numericFilters` on
created_at_i, `hitsPerPage`/`page`, and Algolia's cap on reachable hits (1,000 in production,
smaller here so window splitting is exercised quickly). Larger streams reuse the real hits with
new objectIDs/timestamps.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from brandpulse.errors import ConfigError, SourceError
from brandpulse.types import Cursor, Mention
from listener.hackernews import HackerNewsCollector, HNOptions
from tests.fakeserver import LocalServer, QuietHandler, Sleeps, fake_query_module, send
from tests.options import pop_options

FIX = Path(__file__).parent / "fixtures" / "hackernews"
RECORDED = json.loads((FIX / "search_by_date.json").read_text(encoding="utf-8"))
NOW = datetime(2017, 3, 1, tzinfo=UTC)


def recorded_hits() -> list[dict[str, Any]]:
    return copy.deepcopy(RECORDED["hits"])


def stream(n: int, start: int = 1_480_000_000, step: int = 7, first_id: int = 20_000_000) -> list[dict[str, Any]]:
    """n real hits with fresh objectIDs / timestamps (`step` seconds apart; 0 = all in one second)."""
    base = recorded_hits()
    out = []
    for i in range(n):
        hit = copy.deepcopy(base[i % len(base)])
        hit["objectID"] = str(first_id + i)
        hit["created_at_i"] = start + i * step
        hit["created_at"] = datetime.fromtimestamp(hit["created_at_i"], UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        out.append(hit)
    return out


# --------------------------------------------------------------------------- fake Algolia
@dataclass
class FakeAlgolia:
    hits: list[dict[str, Any]] = field(default_factory=list)
    cap: int = 1000  # paginationLimitedTo
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    raw_body: bytes | None = None  # served verbatim instead of a computed answer

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(params)
        if self.script:
            return self.script.pop(0)
        if path != "/api/v1/search_by_date":
            return 404, {}, b'{"message":"not found","status":404}'
        if self.raw_body is not None:
            return 200, {"Content-Type": "application/json; charset=utf-8"}, self.raw_body
        found = [h for h in self.hits if self._match(h, params)]
        found.sort(key=lambda h: (h.get("created_at_i") if isinstance(h.get("created_at_i"), int) else 0,
                                  h.get("objectID") or ""), reverse=True)
        hpp = int(params.get("hitsPerPage", "20"))
        page = int(params.get("page", "0"))
        nb_pages = min(math.ceil(len(found) / hpp), math.ceil(self.cap / hpp))
        start = page * hpp
        page_hits = found[start : start + hpp] if page < nb_pages else []
        body = {**{k: v for k, v in RECORDED.items() if k != "hits"},
                "hits": page_hits, "nbHits": len(found), "page": page, "nbPages": nb_pages, "hitsPerPage": hpp,
                "query": params.get("query", ""), "params": "&".join(f"{k}={v}" for k, v in params.items())}
        return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body).encode("utf-8")

    @staticmethod
    def _match(hit: dict[str, Any], params: dict[str, str]) -> bool:
        tags = hit.get("_tags") or []
        for group in re.findall(r"\(([^)]*)\)|([^,()]+)", params.get("tags", "")):
            options = [t for t in (group[0] or group[1]).split(",") if t]
            if options and not any(t in tags for t in options):
                return False
        ts = hit.get("created_at_i")
        for cond in filter(None, params.get("numericFilters", "").split(",")):
            m = re.fullmatch(r"created_at_i(>=|<=|>|<|=)(\d+)", cond)
            assert m, cond
            if not isinstance(ts, int):
                continue  # a garbled hit is served anyway (the collector must cope)
            op, v = m.group(1), int(m.group(2))
            if not {">=": ts >= v, "<=": ts <= v, ">": ts > v, "<": ts < v, "=": ts == v}[op]:
                return False
        words = params.get("query", "").lower().split()
        haystack = " ".join(str(hit.get(k) or "") for k in ("title", "story_text", "comment_text", "story_title"))
        return all(w in haystack.lower() for w in words)


class _Handler(QuietHandler):
    def do_GET(self) -> None:
        fake: FakeAlgolia = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        status, headers, body = fake.answer(parts.path, params)
        send(self, status, body, headers, content_type=None)


@pytest.fixture
def algolia() -> Iterator[tuple[FakeAlgolia, str]]:
    fake = FakeAlgolia()
    with LocalServer(_Handler, fake=fake) as server:
        yield fake, f"{server.url}/api/v1"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def make(client: httpx.Client, base_url: str, queries: list[str] | None = None, **kw: Any) -> HackerNewsCollector:
    kw.setdefault("sleep", Sleeps())
    kw.setdefault("lookback_hours", 3 * 365 * 24)
    options = pop_options(HNOptions, kw, base_url=base_url)
    return HackerNewsCollector(options, client, brand="SSH", queries=queries or [""], key="SSH", now=lambda: NOW, **kw)


# --------------------------------------------------------------------------- parsing
def test_recorded_hits_become_mentions_oldest_first(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    fake.hits = recorded_hits()
    got = list(make(client, base, ["ssh"]).fetch(None))
    assert len(got) == 16
    assert [m.created_at for m in got] == sorted(m.created_at for m in got)

    story = got[0]
    assert isinstance(story, Mention)
    assert story.platform == "hackernews" and story.native_id == "8828543" and story.brand == "SSH"
    assert story.text == "Why aren’t we using SSH for everything?"
    assert story.author.handle == "dkua"
    assert story.created_at == datetime(2015, 1, 2, 21, 5, 46, tzinfo=UTC)
    assert story.url == "https://news.ycombinator.com/item?id=8828543"
    assert (story.engagement.likes, story.engagement.replies) == (270, 103)
    assert story.parent_id is None and story.query == "ssh"
    assert story.raw == next(h for h in RECORDED["hits"] if h["objectID"] == "8828543")

    reply = next(m for m in got if m.native_id == "8829722")
    assert reply.author.handle == "bodyfour" and reply.parent_id == "8829208"
    assert reply.text.startswith("> scp and sftp were added after the fact\nscp was there from the beginning")
    assert "rsh/rlogin/rcp" in reply.text and "&#x2F;" not in reply.text and "<p>" not in reply.text
    assert (reply.engagement.likes, reply.engagement.replies) == (0, 0)

    params = fake.requests[0]
    assert params["query"] == "ssh" and params["tags"] == "(story,comment)"
    lo = int((NOW - timedelta(days=3 * 365)).timestamp())
    assert params["numericFilters"] == f"created_at_i>={lo},created_at_i<={int(NOW.timestamp())}"
    assert params["hitsPerPage"] == "100" and params["page"] == "0"


def test_paginates_through_nb_pages(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    fake.hits = recorded_hits()
    got = list(make(client, base, hits_per_page=5).fetch(None))
    assert len({m.native_id for m in got}) == 16
    assert [p["page"] for p in fake.requests] == ["0", "1", "2", "3"]


def test_several_queries_are_merged_and_deduplicated(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    fake.hits = recorded_hits()
    got = list(make(client, base, ["mosh", "gridftp", "ssh"]).fetch(None))
    ids = [m.native_id for m in got]
    assert len(ids) == len(set(ids)) == 16
    by_id = {m.native_id: m for m in got}
    assert by_id["8829186"].query == "mosh"  # the comment that mentions Mosh (and SSH): found first by "mosh"
    assert by_id["8829731"].query == "gridftp"
    assert by_id["8828543"].query == "ssh"
    assert {p["query"] for p in fake.requests} == {"mosh", "gridftp", "ssh"}


def test_match_filter_drops_non_matching(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    fake.hits = recorded_hits()
    got = list(make(client, base, match=lambda m: "gridftp" in m.text.lower()).fetch(None))
    assert [m.native_id for m in got] == ["8829731", "8829781"]


# --------------------------------------------------------------------------- cursor / resume
def test_resume_inside_a_second_shared_by_several_items(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    hits = stream(40, step=1)
    for i, hit in enumerate(hits):  # groups of 4 items created in the same second
        hit["created_at_i"] = 1_480_000_000 + i // 4
    fake.hits = hits
    everything = [m.native_id for m in make(client, base).fetch(None)]
    assert len(everything) == 40

    first = make(client, base)
    it = first.fetch(None)
    part1 = [next(it).native_id for _ in range(14)]  # stop in the middle of a same-second group
    cur = first.cursor()
    it.close()
    assert cur is not None
    pos = json.loads(cur.position)
    assert pos["ts"] == 1_480_000_003 and pos["ids"] == part1[12:]

    with httpx.Client(timeout=5) as fresh:
        part2 = [m.native_id for m in make(fresh, base).fetch(Cursor("hackernews", "SSH", cur.position))]
    assert part1 + part2 == everything and not set(part1) & set(part2)
    assert fake.requests[-1]["numericFilters"].startswith("created_at_i>=1480000003,")


def test_cursor_unchanged_when_nothing_new(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    fake.hits = recorded_hits()
    c1 = make(client, base)
    list(c1.fetch(None))
    cur = c1.cursor()
    assert cur is not None and json.loads(cur.position) == {"v": 1, "ts": 1486212445, "ids": ["13566801"]}
    c2 = make(client, base)
    assert list(c2.fetch(cur)) == []
    assert c2.cursor() == cur


def test_window_is_split_when_algolia_caps_the_hits(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    fake.hits = stream(230)
    fake.cap = 50
    c = make(client, base, hits_per_page=20, max_hits_per_query=50)
    got = [m.native_id for m in c.fetch(None)]
    assert len(got) == len(set(got)) == 230
    assert got == [h["objectID"] for h in fake.hits]  # oldest first
    assert c.health()["gap_warning"] is None
    windows = {p["numericFilters"] for p in fake.requests}
    assert len(windows) > 5  # narrowed created_at_i windows


def test_gap_warning_when_one_second_holds_more_than_the_cap(
    algolia: tuple[FakeAlgolia, str], client: httpx.Client
) -> None:
    fake, base = algolia
    fake.hits = stream(30, step=0)
    fake.cap = 20
    c = make(client, base, hits_per_page=10, max_hits_per_query=20)
    got = list(c.fetch(None))
    assert len(got) == 20
    assert "exceed" in (c.health()["gap_warning"] or "")


# --------------------------------------------------------------------------- rate limits and errors
def test_429_backs_off_exponentially_then_continues(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    fake.hits = recorded_hits()
    body = b'{"message":"Too many requests","status":429}'
    fake.script = [(429, {"Content-Type": "application/json"}, body), (429, {}, body)]
    sleeps = Sleeps()
    c = make(client, base, sleep=sleeps, backoff_s=2.0)
    got = list(c.fetch(None))
    assert len(got) == 16
    assert sleeps == [2.0, 4.0]  # Algolia sends no reset header: exponential backoff
    assert c.health()["rate_limit_reset"] is None  # cleared once a request went through


def test_429_honours_retry_after_when_present(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    fake.hits = recorded_hits()
    fake.script = [(429, {"Retry-After": "17"}, b"{}")]
    sleeps = Sleeps()
    assert len(list(make(client, base, sleep=sleeps).fetch(None))) == 16
    assert sleeps == [17.0]


def test_persistent_5xx_raises_source_error(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    fake.script = [(502, {}, b"bad gateway")] * 5
    sleeps = Sleeps()
    c = make(client, base, sleep=sleeps, max_retries=2)
    with pytest.raises(SourceError, match="failed after 3 attempts: HTTP 502"):
        list(c.fetch(None))
    assert sleeps == [1.0, 2.0]
    assert c.health()["last_error"]


def test_4xx_raises_source_error_with_algolia_message(algolia: tuple[FakeAlgolia, str], client: httpx.Client) -> None:
    fake, base = algolia
    msg = b'{"message":"you can only fetch the 1000 hits for this query.","status":400}'
    fake.script = [(400, {"Content-Type": "application/json"}, msg)]
    with pytest.raises(SourceError, match="HTTP 400: you can only fetch the 1000 hits"):
        list(make(client, base).fetch(None))


# --------------------------------------------------------------------------- malformed items
def test_malformed_hits_are_logged_and_skipped(
    algolia: tuple[FakeAlgolia, str], client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    fake, base = algolia
    hits = stream(9, start=1_480_000_000, step=60)
    hits[1]["author"] = None  # missing author
    hits[2]["created_at_i"] = "yesterday"  # bad date
    hits[3]["_tags"], hits[3]["comment_text"] = ["comment"], "lone \ud800 surrogate"
    hits[4]["_tags"], hits[4]["comment_text"] = ["comment"], "<p>" + "a" * 1_000_001 + "</p>"
    hits[5]["_tags"], hits[5]["comment_text"] = ["comment"], None  # deleted comment
    hits[6]["_tags"], hits[6]["comment_text"] = ["comment"], "BADBYTES"
    hits[7]["_tags"], hits[7]["comment_text"] = ["comment"], "<p>Слак опять лежит</p>"
    del hits[8]["objectID"]
    body = {**{k: v for k, v in RECORDED.items() if k != "hits"}, "hits": hits[::-1], "nbHits": 9, "nbPages": 1}
    raw = json.dumps(body).encode("utf-8").replace(b"BADBYTES", b"broken \xff\xfe bytes")
    fake.raw_body = raw

    caplog.set_level(logging.WARNING, logger="listener.hackernews")
    got = list(make(client, base).fetch(None))
    assert [m.native_id for m in got] == [hits[0]["objectID"], hits[7]["objectID"]]
    assert got[1].text == "Слак опять лежит"
    log = caplog.text
    assert f"{hits[1]['objectID']}: author is missing" in log
    assert f"{hits[2]['objectID']}: created_at_i is missing" in log
    assert f"{hits[3]['objectID']}: payload is not valid UTF-8" in log
    assert f"{hits[4]['objectID']}: text is" in log and "limit" in log
    assert f"{hits[5]['objectID']}: no title, story_text or comment_text" in log
    assert f"{hits[6]['objectID']}: payload is not valid UTF-8" in log
    assert "<no id>: objectID is missing" in log


# --------------------------------------------------------------------------- config
def _fake_query_module(monkeypatch: pytest.MonkeyPatch, queries: list[str]) -> None:
    class Q:
        def matches(self, mention: Mention) -> bool:
            return True

        def compile_queries(self, platform: str) -> list[str]:
            return list(queries)

    fake_query_module(monkeypatch, brand_query=lambda brand: Q())


def test_from_config_builds_collectors(monkeypatch: pytest.MonkeyPatch) -> None:
    from brandpulse.config import BrandConfig, Settings

    _fake_query_module(monkeypatch, ["ssh", "openssh"])
    built = HackerNewsCollector.from_config({"hits_per_page": 50, "lookback_hours": 24},
                                            Settings(brands=[BrandConfig(name="SSH")]))
    try:
        [c] = built
        assert c.queries == ["ssh", "openssh"] and c.hits_per_page == 50 and c.lookback == timedelta(hours=24)
        assert c.base_url == "https://hn.algolia.com/api/v1" and c.key == "SSH"
        assert set(c.health()) >= {"rate_limit_remaining", "rate_limit_reset", "last_error", "gap_warning"}
    finally:
        for c in built:
            c._client.close()


def test_from_config_skips_brands_without_a_hn_query(monkeypatch: pytest.MonkeyPatch) -> None:
    from brandpulse.config import BrandConfig, Settings

    _fake_query_module(monkeypatch, [])
    assert HackerNewsCollector.from_config({}, Settings(brands=[BrandConfig(name="SSH")])) == []


@pytest.mark.parametrize(("cfg", "key"), [({"hits_per_page": 5000}, "hits_per_page"),
                                          ({"lookback_hours": 0}, "lookback_hours"), ({"nope": 1}, "nope")])
def test_from_config_rejects_bad_options(cfg: dict[str, Any], key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from brandpulse.config import Settings

    _fake_query_module(monkeypatch, ["x"])
    with pytest.raises(ConfigError, match=rf"\[sources.hackernews\] {key}"):
        HackerNewsCollector.from_config(cfg, Settings())
