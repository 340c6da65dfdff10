"""X through ``brandpulse collect --source x --once`` over real recorded recent-search pages (tests/fixtures/x/recorded).

The recordings (twarc-csv's test data, recorded from the real API v2 with every expansion) hold retweets whose
text X cut at about 140 characters, quote posts, replies and text with HTML entities. The fake API serves them
as recent search does (``since_id`` honoured); tweepy's fixed https://api.twitter.com host is sent to it by a
transport adapter mounted on every tweepy client the collector builds.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import tweepy

from listener.collector import BaseCollector
from listener.x import API_HOST, without_retweets
from tests.fakeserver import LocalServer, QuietHandler, collect_cli, send, stored_cursors, stored_mentions
from tests.test_collector_x import _ToFake

#: Stored from the kpop page: all 100 posts (by their full text) and 21 retweeted originals not in `data`.
KPOP_POSTS, KPOP_STORED = 100, 121
RECORDED_AT = datetime(2021, 9, 22, 16, 38, 9, tzinfo=UTC)
REC = Path(__file__).parent / "fixtures" / "x" / "recorded"
CONFIG = """
[[brands]]
name = "Brexit"
keywords = ["brexit"]
languages = ["en", "de", "es", "fr", "it", "nl", "pt"]

[sources.x]
max_pages = 1
"""


def _page(name: str = "search_recent_brexit.json") -> dict[str, Any]:
    return json.loads((REC / name).read_text(encoding="utf-8"))


class FakeSearch:
    def __init__(self) -> None:
        self.page = _page()
        self.queries: list[dict[str, list[str]]] = []
        self.lock = threading.Lock()

    def reply(self, qs: dict[str, list[str]]) -> dict[str, Any]:
        with self.lock:
            self.queries.append(qs)
        since = int(qs["since_id"][0]) if "since_id" in qs else 0
        kept = [t for t in self.page["data"] if int(t["id"]) > since]
        if not kept:
            return {"meta": {"result_count": 0}}
        return {**self.page, "data": kept}


def _handler(fake: FakeSearch) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/2/tweets/search/recent":
                return send(self, 404, b'{"title": "Not Found Error"}')
            send(self, 200, json.dumps(fake.reply(parse_qs(url.query))).encode())

    return Handler


@pytest.fixture
def fake_x(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSearch]:
    fake = FakeSearch()
    with LocalServer(_handler(fake)) as server:
        original = tweepy.Client.__init__

        def init(self: tweepy.Client, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            self.session.mount(API_HOST, _ToFake(server.url))

        monkeypatch.setattr(tweepy.Client, "__init__", init)
        # the collectors' clock: an hour after the recording (2021-09-22T16:38:09Z), inside recent search's 7 days
        monkeypatch.setitem(BaseCollector.__init__.__kwdefaults__, "now", lambda: RECORDED_AT + timedelta(hours=1))
        monkeypatch.setenv("X_BEARER_TOKEN", "REDACTED-test-bearer-token")
        yield fake


def test_recorded_page_stores_retweets_as_reposts_of_their_originals(
    fake_x: FakeSearch, db_url: str, tmp_path: Path
) -> None:
    page = _page()
    data, originals = page["data"], {t["id"]: t for t in page["includes"]["tweets"]}
    users = {u["id"]: u for u in page["includes"]["users"]}
    kinds = {t["id"]: {r["type"]: r["id"] for r in t.get("referenced_tweets", [])} for t in data}
    retweets = [t for t in data if "retweeted" in kinds[t["id"]]]
    retweeted = {kinds[t["id"]]["retweeted"] for t in retweets}
    # What the recording holds: 100 posts, 67 of them retweets of 39 originals (all in includes.tweets), 11 quotes.
    assert (len(data), len(retweets), len(retweeted), sum("quoted" in k for k in kinds.values())) == (100, 67, 39, 11)
    assert retweeted <= set(originals)

    def full_text(t: dict[str, Any]) -> str:
        src = originals[kinds[t["id"]]["retweeted"]] if "retweeted" in kinds.get(t["id"], {}) else t
        return html.unescape(src["text"])

    first = collect_cli(tmp_path, CONFIG, db_url, "x")
    assert first.exit_code == 0, first.output
    got = stored_mentions(db_url)
    want_posts = {t["id"] for t in data if "brexit" in full_text(t).lower()}
    want_originals = {i for i in retweeted if "brexit" in html.unescape(originals[i]["text"]).lower()} - want_posts
    assert set(got) == want_posts | want_originals
    # Stored: all 100 posts (on the retweets' own cut text, some would not name brexit) + 35 originals not in data.
    assert (len(want_posts), len(want_originals), len(got)) == (100, 35, 135)

    for t in data:
        if t["id"] not in got:
            continue
        row, author = got[t["id"]], users[t["author_id"]]
        assert row["text"] == full_text(t) and "&amp;" not in row["text"] and "&gt;" not in row["text"]
        assert row["author_handle"] == author["username"]
        assert row["author_followers"] == author["public_metrics"]["followers_count"]
        assert row["url"] == f"https://x.com/{author['username']}/status/{t['id']}"
        assert row["created_at"].isoformat().replace("+00:00", ".000Z") == t["created_at"]
        assert row["brands"] == ["Brexit"]
        if "retweeted" in kinds[t["id"]]:
            assert not row["text"].endswith("…")
            assert (row["parent_id"], row["likes"], row["reposts"], row["replies"]) == (kinds[t["id"]]["retweeted"], 0, 0, 0)
        else:
            m = t["public_metrics"]
            assert (row["likes"], row["reposts"], row["replies"]) == (
                m["like_count"], m["retweet_count"] + m["quote_count"], m["reply_count"])
            assert row["parent_id"] == (kinds[t["id"]].get("quoted") or kinds[t["id"]].get("replied_to"))
    escaped = [t for t in data if t["id"] in got and html.unescape(t["text"]) != t["text"]]
    assert len(escaped) == 7  # the recording's posts with &amp;/&lt;/&gt;, stored unescaped (checked above)
    for oid in want_originals:  # each original once, with its own counts, not the retweets'
        m = originals[oid]["public_metrics"]
        assert (got[oid]["likes"], got[oid]["reposts"]) == (m["like_count"], m["retweet_count"] + m["quote_count"])
    reposts_of_retweets = sum(got[t["id"]]["reposts"] for t in retweets if t["id"] in got)
    assert reposts_of_retweets == 0

    newest = max(data, key=lambda t: int(t["id"]))["id"]
    assert stored_cursors(db_url) == {("x", "Brexit"): newest}
    second = collect_cli(tmp_path, CONFIG, db_url, "x")
    assert second.exit_code == 0, second.output
    assert fake_x.queries[-1]["since_id"] == [newest]  # the cursor resumes
    assert stored_mentions(db_url).keys() == got.keys()  # nothing stored twice
    assert "0 new" in second.output


def test_exclude_retweets_asks_x_for_none(fake_x: FakeSearch, db_url: str, tmp_path: Path) -> None:
    res = collect_cli(tmp_path, CONFIG + "exclude_retweets = true\n", db_url, "x")
    assert res.exit_code == 0, res.output
    assert fake_x.queries[0]["query"][0].endswith(" -is:retweet")
    assert without_retweets("a OR b") == "(a OR b) -is:retweet"
    assert without_retweets("a -is:retweet") == "a -is:retweet"


def test_recorded_kpop_page_with_a_partial_error(fake_x: FakeSearch, db_url: str, tmp_path: Path) -> None:
    fake_x.page = page = _page("search_recent_kpop.json")
    data, originals = page["data"], {t["id"]: t for t in page["includes"]["tweets"]}
    assert (len(data), len(page["errors"])) == (100, 1)  # what the recording holds: 100 posts and a suspended user

    def full(t: dict[str, Any]) -> str:
        rt = next((r["id"] for r in t.get("referenced_tweets", []) if r["type"] == "retweeted"), None)
        return html.unescape(originals.get(rt, t)["text"]) if rt else html.unescape(t["text"])

    cfg = CONFIG.replace('"Brexit"', '"Kpop"').replace('["brexit"]', '["kpop"]').replace(
        'languages = ["en", "de", "es", "fr", "it", "nl", "pt"]', "languages = []")
    res = collect_cli(tmp_path, cfg, db_url, "x")
    assert res.exit_code == 0, res.output
    got = stored_mentions(db_url)
    want = {t["id"] for t in data if "kpop" in full(t).lower()}
    want |= {i for i, t in originals.items() if "kpop" in html.unescape(t["text"]).lower()
             and any(r["id"] == i and r["type"] == "retweeted" for d in data for r in d.get("referenced_tweets", []))}
    assert set(got) == want and (len(want & {t["id"] for t in data}), len(got)) == (KPOP_POSTS, KPOP_STORED)
    assert not any(e in row["text"] for row in got.values() for e in ("&amp;", "&lt;", "&gt;"))
    coming_up = [row for row in got.values() if "<COMING UP NEXT>" in row["text"]]
    assert len(coming_up) == 4  # itsLIVEofficial's post, stored once, and its 3 retweets, all unescaped
