"""Reddit through ``brandpulse collect --source reddit --once`` over real recorded listings (tests/fixtures/reddit/recorded).

``r_askreddit_comments_2016.json`` is a real ``/r/askreddit/comments`` listing from praw's cassettes: 100 comments,
none with a ``permalink`` key, so every URL is built from the comment's ``link_id`` and ``id``. The fake Reddit
(tests/test_collector_reddit.py) serves it with its token endpoint and ``before=`` paging; praw is pointed at it
through its ``oauth_url``/``reddit_url`` settings on the client the collector builds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import praw
import pytest

from listener.reddit import item_url
from tests.fakeserver import LocalServer, collect_cli, stored_cursors, stored_mentions
from tests.test_collector_reddit import FakeReddit, _handler, load

CONFIG = """
[[brands]]
name = "People"
keywords = ["people"]

[sources.reddit]
search = false
comment_subreddits = ["askreddit"]
"""


def recorded() -> list[dict[str, Any]]:
    kids = load("recorded/r_askreddit_comments_2016.json")["data"]["children"]
    return sorted(kids, key=lambda c: int(c["data"]["id"], 36), reverse=True)  # newest first, as Reddit sends


@pytest.fixture
def fake_reddit(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeReddit]:
    fake = FakeReddit()
    fake.comments = recorded()
    fake.page_size = 100
    with LocalServer(_handler(fake)) as server:
        original = praw.Reddit.__init__

        def init(self: praw.Reddit, *args: Any, **kwargs: Any) -> None:
            original(self, *args, oauth_url=server.url, reddit_url=server.url, **kwargs)

        monkeypatch.setattr(praw.Reddit, "__init__", init)
        for name, value in {"REDDIT_CLIENT_ID": "REDACTED-client-id", "REDDIT_CLIENT_SECRET": "REDACTED-secret",
                            "REDDIT_USER_AGENT": "brandpulse-tests/0.1 (by u/REDACTED)"}.items():
            monkeypatch.setenv(name, value)
        yield fake


def test_recorded_comment_listing_without_permalinks(fake_reddit: FakeReddit, db_url: str, tmp_path: Path) -> None:
    comments = [c["data"] for c in recorded()]
    assert len(comments) == 100 and not any("permalink" in c for c in comments)  # what the recording holds
    want = {f"t1_{c['id']}": c for c in comments if re.search(r"\bpeople\b", c["body"], re.IGNORECASE)}

    first = collect_cli(tmp_path, CONFIG, db_url, "reddit")
    assert first.exit_code == 0, first.output
    got = stored_mentions(db_url)
    assert set(got) == set(want) and len(got) == 8  # 8 of the 100 comments name "people"
    for nid, c in want.items():
        row = got[nid]
        assert row["url"] == f"https://www.reddit.com/r/AskReddit/comments/{c['link_id'][3:]}/_/{c['id']}/"
        assert (row["text"], row["author_handle"], row["parent_id"]) == (c["body"], c["author"], c["parent_id"])
        assert row["created_at"] == datetime.fromtimestamp(c["created_utc"], UTC)
        assert (row["likes"], row["reposts"], row["replies"]) == (max(c["score"], 0), 0, 0)
        assert row["brands"] == ["People"]

    newest = comments[0]["name"]
    assert f'"comments": "{newest}"' in stored_cursors(db_url)[("reddit", "People")]
    second = collect_cli(tmp_path, CONFIG, db_url, "reddit")
    assert second.exit_code == 0, second.output
    assert any(r[2].get("before") == [newest] for r in fake_reddit.requests)  # the cursor resumes
    assert stored_mentions(db_url).keys() == got.keys()


def test_urls_built_from_ids() -> None:
    assert item_url({"permalink": "/r/a/comments/x/t/y/"}, "t1_y") == "https://www.reddit.com/r/a/comments/x/t/y/"
    assert item_url({"permalink": None, "link_id": "t3_4r4inc"}, "t1_d4y8bdp") == (
        "https://www.reddit.com/comments/4r4inc/_/d4y8bdp/")
    assert item_url({"subreddit": "redditdev"}, "t3_3gpbiu") == "https://www.reddit.com/r/redditdev/comments/3gpbiu/"
    assert item_url({}, "t1_abc") is None
