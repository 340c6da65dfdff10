"""RSS through ``brandpulse collect --source rss --once`` over real recorded feeds (tests/fixtures/rss/recorded).

TechCrunch's RSS feed and RotoAuthority's Atom feed, both as FeedBurner served them: every ``<link>`` is a
feedproxy redirect and ``<feedburner:origLink>`` holds the article; TechCrunch's guids are
``isPermaLink="false"``, RotoAuthority's ids are ``tag:`` URIs. Four brands share the source: each feed is
fetched once per run, and an entry naming two brands is stored once, linked to both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from listener.common import html_to_text
from listener.rss import feed_key
from tests.fakeserver import LocalServer, collect_cli, stored_cursors, stored_mentions
from tests.test_collector_rss import FakeWeb, Feed, _Handler

REC = Path(__file__).parent / "fixtures" / "rss" / "recorded"
FEEDS = {"/techcrunch": "techcrunch_feedburner_rss.xml", "/roto": "rotoauthority_feedburner_atom.xml"}
BRANDS = ["Google", "Facebook", "Twitter", "Yankees"]


def config(base: str) -> str:
    brands = "".join(f'[[brands]]\nname = "{b}"\nkeywords = ["{b.lower()}"]\nlanguages = []\n\n' for b in BRANDS)
    feeds = ", ".join(f'"{base}{path}"' for path in FEEDS)
    return f"{brands}[sources.rss]\nfeeds = [{feeds}]\n"


@pytest.fixture
def web() -> Iterator[tuple[FakeWeb, str]]:
    fake = FakeWeb()
    for path, name in FEEDS.items():
        fake.feeds[path] = Feed((REC / name).read_bytes(), f'"{name}-1"')
    with LocalServer(_Handler, web=fake) as server:
        yield fake, server.url


def test_recorded_feedburner_feeds_one_fetch_per_feed_for_all_brands(
    web: tuple[FakeWeb, str], db_url: str, tmp_path: Path
) -> None:
    fake, base = web
    expected: dict[str, tuple[str, list[str], feedparser.FeedParserDict]] = {}  # native id → (feed path, brands, entry)
    held = 0
    for path, name in FEEDS.items():
        entries = feedparser.parse((REC / name).read_bytes()).entries
        held += len(entries)
        for e in entries:
            text = f"{html_to_text(e.title)}\n{html_to_text(e.get('summary', ''))}".lower()
            hits = [b for b in BRANDS if re.search(rf"\b{b.lower()}\b", text)]
            if hits:
                expected[f"{feed_key(base + path)}:{e.id}"] = (path, hits, e)
    assert held == 30  # what the recordings hold: 20 TechCrunch items + 10 RotoAuthority entries

    first = collect_cli(tmp_path, config(base), db_url, "rss")
    assert first.exit_code == 0, first.output
    assert sorted(p for p, _ in fake.requests) == ["/roto", "/techcrunch"]  # one fetch per feed, not per brand
    got = stored_mentions(db_url)
    assert set(got) == set(expected) and len(got) == 8  # 8 of the 30 entries name a brand
    for nid, (_, brands, e) in expected.items():
        row = got[nid]
        assert row["url"] == e.feedburner_origlink and "feedproxy" not in row["url"]
        assert sorted(row["brands"]) == sorted(brands) and row["brand"] == brands[0]
        assert row["text"].startswith(html_to_text(e.title)) and "&amp;" not in row["text"]
    both = [nid for nid, (_, brands, _e) in expected.items() if len(brands) > 1]
    assert len(both) == 1 and sorted(got[both[0]]["brands"]) == ["Facebook", "Twitter"]  # the Gigya item
    assert list(stored_cursors(db_url)) == [("rss", "feeds")]

    for path in FEEDS:  # the feeds change their ETag but hold the same entries: nothing is stored twice
        fake.feeds[path].etag += "-2"
    second = collect_cli(tmp_path, config(base), db_url, "rss")
    assert second.exit_code == 0, second.output
    assert stored_mentions(db_url).keys() == got.keys()
    assert "0 new" in second.output
    third = collect_cli(tmp_path, config(base), db_url, "rss")  # unchanged feeds answer 304: the cursor's ETags
    assert third.exit_code == 0 and fake.conditional("/techcrunch")[-1] is True
    assert stored_mentions(db_url).keys() == got.keys()


def test_a_guid_reused_by_another_feed_is_not_a_duplicate(web: tuple[FakeWeb, str], db_url: str, tmp_path: Path) -> None:
    fake, base = web
    fake.feeds["/mirror"] = Feed((REC / FEEDS["/techcrunch"]).read_bytes(), '"mirror-1"')  # same guids, other feed
    cfg = config(base).replace(f'"{base}/roto"', f'"{base}/mirror"')
    assert collect_cli(tmp_path, cfg, db_url, "rss").exit_code == 0
    got = stored_mentions(db_url)
    per_feed = {k: {nid for nid in got if nid.startswith(feed_key(base + k) + ":")} for k in ("/techcrunch", "/mirror")}
    assert len(per_feed["/techcrunch"]) == len(per_feed["/mirror"]) == 6 and len(got) == 12  # 6 TechCrunch items name a brand
