"""RSSCollector through real httpx + feedparser against a local fake web server.

The server serves recorded real feeds (tests/fixtures/rss/SOURCE.md): the RSS 2.0 spec sample,
the RFC 4287 Atom example and a real Google Alerts Atom feed. It implements conditional GET
(ETag / Last-Modified → 304) like a real web server, and can be scripted to answer 429/503/500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from brandpulse.errors import ConfigError, SourceError
from brandpulse.types import Cursor, Mention
from listener.rss import (
    RSSCollector,
    RSSOptions,
    cut_off,
    feed_key,
    html_to_text,
    parse_retry_after,
    sanitize_feed_bytes,
    unwrap_google_link,
)
from tests.fakeserver import LocalServer, QuietHandler, Sleeps, fake_query_module, send
from tests.options import pop_options

FIX = Path(__file__).parent / "fixtures" / "rss"
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
RSS2 = (FIX / "rss2sample.xml").read_bytes()
ATOM = (FIX / "rfc4287_atom.xml").read_bytes()
ALERTS = (FIX / "google_alerts_atom.xml").read_bytes()


# --------------------------------------------------------------------------- fake web server
@dataclass
class Feed:
    body: bytes
    etag: str
    last_modified: str = "Tue, 10 Jun 2003 09:41:01 GMT"
    content_type: str = "application/xml"


@dataclass
class FakeWeb:
    feeds: dict[str, Feed] = field(default_factory=dict)
    #: path → scripted answers served before the feed itself: (status, headers, body)
    script: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.requests.append((path, headers))
        if self.script.get(path):
            return self.script[path].pop(0)
        feed = self.feeds.get(path)
        if feed is None:
            return 404, {}, b"not found"
        validators = {"ETag": feed.etag, "Last-Modified": feed.last_modified}
        if headers.get("if-none-match") == feed.etag or (
            "if-none-match" not in headers and headers.get("if-modified-since") == feed.last_modified
        ):
            return 304, validators, b""
        return 200, {**validators, "Content-Type": feed.content_type}, feed.body

    def conditional(self, path: str) -> list[bool]:
        return ["if-none-match" in h for p, h in self.requests if p == path]


class _Handler(QuietHandler):
    def do_GET(self) -> None:
        web: FakeWeb = self.server.web  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        status, headers, body = web.answer(path, {k.lower(): v for k, v in self.headers.items()})
        send(self, status, body, headers, content_type=None)


@pytest.fixture
def web() -> Iterator[tuple[FakeWeb, str]]:
    fake = FakeWeb()
    with LocalServer(_Handler, web=fake) as server:
        yield fake, server.url


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def make(client: httpx.Client, feeds: list[str], **kw: Any) -> RSSCollector:
    kw.setdefault("sleep", Sleeps())
    options = pop_options(RSSOptions, kw, feeds=feeds)
    return RSSCollector(options, client, brand="Slack", key="Slack", now=lambda: NOW, **kw)


def add_item(feed: bytes, item_xml: str) -> bytes:
    """The recorded RSS sample with one more <item> in front (new ids/dates, same shape)."""
    marker = b"<item>"
    i = feed.index(marker)
    return feed[:i] + item_xml.encode("utf-8") + feed[i:]


def rss_item(guid: str, title: str, date: str = "Wed, 11 Jun 2003 08:00:00 GMT", description: str = "x") -> str:
    return (f"<item><title>{title}</title><link>http://liftoff.msfc.nasa.gov/news/2003/{guid}.asp</link>"
            f"<description>{description}</description><pubDate>{date}</pubDate>"
            f"<guid>http://liftoff.msfc.nasa.gov/2003/06/{guid}</guid></item>\n")


# --------------------------------------------------------------------------- parsing
def test_rss2_spec_sample_becomes_mentions_oldest_first(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/rss2.xml"] = Feed(RSS2, '"rss2-v1"')
    got = list(make(client, [base + "/rss2.xml"], query="slack").fetch(None))

    assert [m.native_id for m in got] == [
        "http://liftoff.msfc.nasa.gov/2003/05/20.html#item570",
        "http://liftoff.msfc.nasa.gov/2003/05/27.html#item571",
        "http://liftoff.msfc.nasa.gov/2003/05/30.html#item572",
        "http://liftoff.msfc.nasa.gov/2003/06/03.html#item573",
    ]
    star = got[-1]
    assert isinstance(star, Mention)
    assert star.platform == "rss" and star.brand == "Slack" and star.query == "slack"
    assert star.text == ("Star City\nHow do Americans get ready to work with Russians aboard the International "
                         "Space Station? They take a crash course in culture, language and protocol at "
                         "Russia's Star City.")
    assert star.created_at == datetime(2003, 6, 3, 9, 39, 21, tzinfo=UTC)
    assert star.url == "http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp"
    assert star.author.handle == "liftoff.msfc.nasa.gov"  # no <author>: the item's domain
    assert star.language == "en"
    assert star.engagement.likes == star.engagement.replies == 0
    # the untitled item: text is its description alone; its link is the permalink guid
    eclipse = got[2]
    assert eclipse.text.startswith("Sky watchers in Europe") and "partial eclipse of the Sun" in eclipse.text
    assert eclipse.url == "http://liftoff.msfc.nasa.gov/2003/05/30.html#item572"
    # raw is JSON-able and carries no trace of the feed URL
    for m in got:
        dumped = json.dumps(m.raw)
        assert "127.0.0.1" not in dumped
    assert star.raw is not None and star.raw["published"] == "Tue, 03 Jun 2003 09:39:21 GMT"


def test_atom_rfc4287_example(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/feed.atom"] = Feed(ATOM, '"atom-1"', content_type="application/atom+xml")
    [m] = list(make(client, [base + "/feed.atom"]).fetch(None))
    assert m.native_id == f"{feed_key(base + '/feed.atom')}:tag:example.org,2003:3.2397"  # scoped to its feed
    assert m.text == "Atom draft-07 snapshot\n[Update: The Atom draft is finished.]"
    assert m.author.handle == "Mark Pilgrim"  # the name, not the e-mail address
    assert m.created_at == datetime(2003, 12, 13, 12, 29, 29, tzinfo=UTC)  # 08:29:29-04:00
    assert m.url == "http://example.org/2005/04/02/atom"
    assert m.language == "en"


def test_google_alerts_links_are_unwrapped(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/alerts/feeds/1/2"] = Feed(ALERTS, '"ga-1"', content_type="application/atom+xml; charset=utf-8")
    got = list(make(client, [base + "/alerts/feeds/1/2"]).fetch(None))
    assert len(got) == 20
    assert all(m.url and "google.com" not in m.url for m in got)
    first = got[0]  # oldest: 2019-07-09T23:59:57Z
    assert first.native_id == f"{feed_key(base + '/alerts/feeds/1/2')}:tag:google.com,2013:googlealerts/feed:13546348949071100939"
    assert first.url == "https://mspoweruser.com/latest-research-shows-microsoft-teams-is-stomping-slack/"
    assert first.author.handle == "mspoweruser.com"  # empty <author><name/>: the publisher's domain
    assert first.text.startswith("Latest research shows Microsoft Teams is stomping Slack\n")
    assert "<b>" not in first.text and "&nbsp;" not in first.text and first.text.endswith("especially with ...")
    assert got[-1].created_at == datetime(2019, 7, 10, 11, 53, 37, tzinfo=UTC)
    assert [m.created_at for m in got] == sorted(m.created_at for m in got)


def test_match_filter_drops_non_matching(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/ga"] = Feed(ALERTS, '"ga-1"')
    got = list(make(client, [base + "/ga"], match=lambda m: "Microsoft Teams" in m.text).fetch(None))
    assert [m.url for m in got] == [
        "https://mspoweruser.com/latest-research-shows-microsoft-teams-is-stomping-slack/",
        "https://www.vox.com/2019/7/10/20688476/recode-daily-slack-has-a-snap-problem",
    ]


# --------------------------------------------------------------------------- conditional GET / resume
def test_conditional_get_304_yields_nothing(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/rss2.xml"] = Feed(RSS2, '"rss2-v1"')
    first = make(client, [base + "/rss2.xml"])
    assert len(list(first.fetch(None))) == 4
    cur = first.cursor()
    assert cur is not None and cur.source == "rss" and cur.key == "Slack"
    state = json.loads(cur.position)["feeds"][feed_key(base + "/rss2.xml")]
    assert state["etag"] == '"rss2-v1"' and state["last_modified"] == "Tue, 10 Jun 2003 09:41:01 GMT"

    again = make(client, [base + "/rss2.xml"])
    assert list(again.fetch(cur)) == []
    _path, headers = fake.requests[-1]
    assert headers["if-none-match"] == '"rss2-v1"'
    assert headers["if-modified-since"] == "Tue, 10 Jun 2003 09:41:01 GMT"


def test_resume_mid_feed_misses_nothing_and_repeats_nothing(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/rss2.xml"] = Feed(RSS2, '"rss2-v1"')
    fake.feeds["/ga"] = Feed(ALERTS, '"ga-1"')
    feeds = [base + "/rss2.xml", base + "/ga"]
    everything = [m.native_id for m in make(client, feeds).fetch(None)]
    assert len(everything) == 24 and len(set(everything)) == 24

    first = make(client, feeds)
    stream = first.fetch(None)
    part1 = [next(stream).native_id for _ in range(10)]  # stopped in the middle of the 2nd feed
    cur = first.cursor()
    stream.close()
    assert cur is not None
    fake.requests.clear()

    with httpx.Client(timeout=5) as fresh_client:
        part2 = [m.native_id for m in make(fresh_client, feeds).fetch(Cursor("rss", "Slack", cur.position))]
    assert part1 + part2 == everything
    assert len(set(part1) & set(part2)) == 0
    # the finished feed is revalidated (304); the unfinished one is fetched in full again
    assert fake.conditional("/rss2.xml") == [True]
    assert fake.conditional("/ga") == [False]


def test_restart_after_feed_update_yields_only_new_items(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/rss2.xml"] = Feed(RSS2, '"rss2-v1"')
    c1 = make(client, [base + "/rss2.xml"])
    assert len(list(c1.fetch(None))) == 4
    updated = add_item(RSS2, rss_item("11.html#item574", "Slack on the Station"))
    fake.feeds["/rss2.xml"] = Feed(updated, '"rss2-v2"', last_modified="Wed, 11 Jun 2003 08:00:00 GMT")
    got = list(make(client, [base + "/rss2.xml"]).fetch(c1.cursor()))
    assert [m.native_id for m in got] == ["http://liftoff.msfc.nasa.gov/2003/06/11.html#item574"]


def test_seen_ids_are_bounded(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/ga"] = Feed(ALERTS, '"ga-1"')
    c1 = make(client, [base + "/ga"], max_seen=10)
    assert len(list(c1.fetch(None))) == 20
    cur = c1.cursor()
    assert cur is not None
    state = json.loads(cur.position)["feeds"][feed_key(base + "/ga")]
    assert len(state["seen"]) == 10 and state["floor"] == "2019-07-10T05:03:45+00:00"
    fake.feeds["/ga"] = Feed(ALERTS, '"ga-2"')  # same items, new ETag: nothing is repeated
    assert list(make(client, [base + "/ga"], max_seen=10).fetch(cur)) == []

    # three new entries push three remembered ids out (after a restart): they must not come back
    extra = b"".join(
        b"<entry><id>tag:google.com,2013:googlealerts/feed:9" + str(i).encode() + b"</id>"
        b"<title type=\"html\">&lt;b&gt;Slack&lt;/b&gt; news " + str(i).encode() + b"</title>"
        b"<link href=\"https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://example.com/" + str(i).encode()
        + b"&amp;ct=ga\"></link><published>2019-07-11T0" + str(i).encode() + b":00:00Z</published>"
        b"<updated>2019-07-11T0" + str(i).encode() + b":00:00Z</updated><content type=\"html\">x</content>"
        b"<author><name></name></author></entry>" for i in range(3))
    newer = ALERTS.replace(b"<entry>", extra + b"<entry>", 1)
    fake.feeds["/ga"] = Feed(newer, '"ga-3"')
    c2 = make(client, [base + "/ga"], max_seen=10)
    assert [m.url for m in c2.fetch(cur)] == [f"https://example.com/{i}" for i in range(3)]
    fake.feeds["/ga"] = Feed(newer, '"ga-4"')
    assert list(make(client, [base + "/ga"], max_seen=10).fetch(c2.cursor())) == []


# --------------------------------------------------------------------------- rate limits and errors
def test_429_with_retry_after_seconds_waits_then_continues(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/rss2.xml"] = Feed(RSS2, '"rss2-v1"')
    fake.script["/rss2.xml"] = [(429, {"Retry-After": "120"}, b"slow down")]
    sleeps = Sleeps()
    c = make(client, [base + "/rss2.xml"], sleep=sleeps)
    assert len(list(c.fetch(None))) == 4
    assert sleeps == [120.0]
    assert c.health()["rate_limit_reset"] == NOW + timedelta(seconds=120)


def test_503_with_retry_after_http_date(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/ga"] = Feed(ALERTS, '"ga-1"')
    when = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    fake.script["/ga"] = [(503, {"Retry-After": when}, b"maintenance")]
    sleeps = Sleeps()
    assert len(list(make(client, [base + "/ga"], sleep=sleeps).fetch(None))) == 20
    assert sleeps == [90.0]


def test_persistent_5xx_raises_source_error_after_the_other_feeds(
    web: tuple[FakeWeb, str], client: httpx.Client
) -> None:
    fake, base = web
    fake.feeds["/rss2.xml"] = Feed(RSS2, '"rss2-v1"')
    fake.script["/private"] = [(500, {}, b"boom")] * 10
    sleeps = Sleeps()
    c = make(client, [base + "/private?token=SECRET-TOKEN", base + "/rss2.xml"], sleep=sleeps, max_retries=2)
    got: list[Any] = []
    with pytest.raises(SourceError) as err:
        for m in c.fetch(None):
            got.append(m)
    assert len(got) == 4  # the healthy feed was still collected
    assert sleeps == [1.0, 2.0]  # exponential backoff between the 3 attempts
    assert "SECRET-TOKEN" not in str(err.value) and "127.0.0.1" in str(err.value)
    assert c.health()["last_error"] and "SECRET-TOKEN" not in c.health()["last_error"]
    assert "SECRET-TOKEN" not in (c.cursor().position if c.cursor() else "")  # type: ignore[union-attr]


# --------------------------------------------------------------------------- malformed items
def test_malformed_items_are_logged_and_skipped(
    web: tuple[FakeWeb, str], client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    fake, base = web
    body = RSS2
    body = add_item(body, "<item><title>no id, no link</title><description>orphan</description>"
                          "<pubDate>Wed, 11 Jun 2003 08:00:00 GMT</pubDate></item>\n")
    body = add_item(body, rss_item("bad-date", "Bad date", date="the day after tomorrow"))
    body = add_item(body, rss_item("surrogate", "Lone &#xD800; surrogate"))
    body = add_item(body, rss_item("huge", "Huge", description="a" * 1_000_001))
    body = add_item(body, rss_item("cyrillic", "Слак упал снова", description="Сервис недоступен"))
    body = add_item(body, rss_item("badbytes", "Bytes-here"))
    body = body.replace(b"Bytes-here", b"Broken \xff\xfe bytes")
    fake.feeds["/rss2.xml"] = Feed(body, '"rss2-bad"')

    caplog.set_level(logging.WARNING, logger="listener.rss")
    got = list(make(client, [base + "/rss2.xml"]).fetch(None))
    ids = [m.native_id for m in got]
    assert len(got) == 5
    assert "http://liftoff.msfc.nasa.gov/2003/06/cyrillic" in ids
    cyr = next(m for m in got if m.native_id.endswith("cyrillic"))
    assert cyr.text == "Слак упал снова\nСервис недоступен"  # one bad item does not garble the others
    log = caplog.text
    assert "entry has no id, guid or link" in log
    assert "http://liftoff.msfc.nasa.gov/2003/06/bad-date" in log and "cannot be parsed" in log
    assert "http://liftoff.msfc.nasa.gov/2003/06/surrogate" in log and "lone surrogate" in log
    assert "http://liftoff.msfc.nasa.gov/2003/06/huge" in log and "limit" in log
    assert "http://liftoff.msfc.nasa.gov/2003/06/badbytes" in log and "invalid UTF-8" in log


# --------------------------------------------------------------------------- helpers and config
def test_unwrap_google_link() -> None:
    wrapped = ("https://www.google.com/url?rct=j&sa=t&url=https://investorplace.com/2019/07/"
               "slack-stock-truly-compelling/&ct=ga&cd=CAIy&usg=AFQj")
    assert unwrap_google_link(wrapped) == "https://investorplace.com/2019/07/slack-stock-truly-compelling/"
    assert unwrap_google_link("https://www.google.co.jp/url?q=https://a.example/x&sa=U") == "https://a.example/x"
    assert unwrap_google_link("https://example.com/url?url=https://evil") == "https://example.com/url?url=https://evil"
    assert unwrap_google_link(None) is None


def test_parse_retry_after() -> None:
    assert parse_retry_after("30", NOW) == 30.0
    assert parse_retry_after(format_datetime(NOW + timedelta(minutes=2), usegmt=True), NOW) == 120.0
    assert parse_retry_after(format_datetime(NOW - timedelta(minutes=2), usegmt=True), NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None


def test_html_to_text_and_sanitize() -> None:
    assert html_to_text("<p>a &amp; <b>b</b></p><p>c&nbsp;d</p>") == "a & b\nc d"
    assert html_to_text(None) == ""
    assert sanitize_feed_bytes(b"<t>&#xd800;&#55296;&#x41;</t>") == b"<t>&#x10FFFF;&#x10FFFF;&#x41;</t>"
    assert sanitize_feed_bytes("<t>ok é</t>".encode()) == "<t>ok é</t>".encode()


def test_health_has_the_standard_keys(client: httpx.Client) -> None:
    h = make(client, ["http://127.0.0.1:9/x"]).health()
    assert {"rate_limit_remaining", "rate_limit_reset", "last_error", "gap_warning"} <= set(h)


def _fake_query_module(monkeypatch: pytest.MonkeyPatch) -> None:
    class Q:
        source = "slack"

        def compile_for(self, platform: str) -> None:
            return None

        def matches(self, mention: Mention) -> bool:
            return "slack" in mention.text.lower()

    fake_query_module(monkeypatch, brand_query=lambda brand: Q())


def test_from_config_builds_one_collector_for_all_brands(monkeypatch: pytest.MonkeyPatch) -> None:
    from brandpulse.config import BrandConfig, Settings

    _fake_query_module(monkeypatch)
    settings = Settings(brands=[BrandConfig(name="Slack"), BrandConfig(name="Teams")])
    built = RSSCollector.from_config({"feeds": ["https://www.google.com/alerts/feeds/1/2"]}, settings)
    try:
        assert [c.key for c in built] == ["feeds"]
        assert [(t.brand, t.query) for t in built[0].targets] == [("Slack", "slack"), ("Teams", "slack")]
        assert built[0].feeds == ["https://www.google.com/alerts/feeds/1/2"]
    finally:
        for c in built:
            c._client.close()


@pytest.mark.parametrize(("cfg", "key"), [
    ({}, "feeds"),
    ({"feeds": ["ftp://x/feed"]}, "feeds"),
    ({"feeds": ["https://a/feed"], "max_seen": 1}, "max_seen"),
    ({"feeds": ["https://a/feed"], "bogus": 1}, "bogus"),
])
def test_from_config_rejects_bad_options(cfg: dict[str, Any], key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from brandpulse.config import Settings

    _fake_query_module(monkeypatch)
    with pytest.raises(ConfigError, match=rf"\[sources.rss\] {key}"):
        RSSCollector.from_config(cfg, Settings())


@pytest.mark.parametrize("feed", [RSS2, ATOM, ALERTS], ids=["rss2", "atom", "alerts"])
def test_cut_off_feeds_are_told_from_whole_ones(feed: bytes) -> None:
    assert not cut_off(feed) and not cut_off(feed + b"\n\n")
    for fraction in (0.3, 0.5, 0.9):
        assert cut_off(feed[: int(len(feed) * fraction)])
    assert cut_off(feed.rstrip()[:-1])  # even one byte short of the root's end tag
    assert not cut_off(b"not markup at all")


def test_cut_off_feed_fails_that_feed_and_keeps_no_validators(web: tuple[FakeWeb, str], client: httpx.Client) -> None:
    fake, base = web
    fake.feeds["/cut"] = Feed(RSS2[: len(RSS2) * 2 // 3], '"cut-1"')  # served whole by HTTP, cut off as XML
    c = make(client, [f"{base}/cut"])
    with pytest.raises(SourceError, match="1 of 1 feeds failed"):
        list(c.fetch(None))
    assert c.cursor() is None and "cut off" in (c.health()["last_error"] or "")
