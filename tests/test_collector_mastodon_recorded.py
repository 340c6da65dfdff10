"""Mastodon through ``brandpulse collect --source mastodon --once`` over real recorded statuses.

``recorded/hashtag_timeline_page{1,2,3}.json`` are Mastodon.py's cassette bodies of a real hashtag timeline
(30 statuses, "Toot number 0!" … "29!", tests/fixtures/mastodon/recorded/SOURCE.md); the fake instance of
tests/test_collector_mastodon.py serves them with Mastodon's id pagination.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from listener.mastodon import html_to_text
from tests.fakeserver import collect_cli, stored_cursors, stored_mentions
from tests.test_collector_mastodon import FakeMastodon

REC = Path(__file__).parent / "fixtures" / "mastodon" / "recorded"
TAG = "fgiztsshwiaqqiztpmmjbtvmescsculuvmgjgopwoeidbcrixp"


def statuses() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in (1, 2, 3):
        out += json.loads((REC / f"hashtag_timeline_page{n}.json").read_text(encoding="utf-8"))
    return out


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as f:
        f.tags[TAG] = statuses()
        yield f


def test_recorded_hashtag_timeline(fake: FakeMastodon, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MASTODON_ACCESS_TOKEN", raising=False)
    recorded = statuses()
    assert len(recorded) == 30  # what the recording holds
    cfg = (f'[[brands]]\nname = "Toot"\nkeywords = ["toot"]\nlanguages = []\n\n[sources.mastodon]\n'
           f'instances = ["{fake.url}"]\nhashtags = ["{TAG}"]\nlookback_hours = 87600\npage_limit = 10\n')
    first = collect_cli(tmp_path, cfg, db_url, "mastodon")
    assert first.exit_code == 0, first.output
    got = stored_mentions(db_url)
    assert len(got) == 30  # every status says "Toot number N!"
    by_url = {row["url"]: row for row in got.values()}
    for s in recorded:
        row = by_url[s["url"]]
        assert row["text"] == html_to_text(s["content"]) and row["text"].startswith("Toot number")
        assert row["author_handle"].startswith(s["account"]["acct"])
        assert row["created_at"] == datetime.fromisoformat(s["created_at"].replace("Z", "+00:00"))
        assert (row["likes"], row["reposts"], row["replies"]) == (
            s["favourites_count"], s["reblogs_count"], s["replies_count"])
        assert row["brands"] == ["Toot"]
    assert stored_cursors(db_url)
    second = collect_cli(tmp_path, cfg, db_url, "mastodon")
    assert second.exit_code == 0, second.output
    newest = max(int(s["id"]) for s in recorded)
    assert any(p.endswith(TAG) and q.get("min_id") == [str(newest)] for p, q, _ in fake.requests)  # resumed
    assert stored_mentions(db_url).keys() == got.keys()
