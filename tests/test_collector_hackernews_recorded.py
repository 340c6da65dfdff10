"""Hacker News through ``brandpulse collect --source hackernews --once`` over a real Algolia response.

``recorded/search_ssh_stories.json`` (shazow/communal's test data, tests/fixtures/hackernews/recorded/SOURCE.md)
holds 4 story hits; the fake Algolia of tests/test_collector_hackernews.py serves them with ``search_by_date``'s
filters (tags, created_at_i windows, query words).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from listener.common import html_to_text
from tests.fakeserver import LocalServer, collect_cli, stored_cursors, stored_mentions
from tests.test_collector_hackernews import FakeAlgolia, _Handler

REC = Path(__file__).parent / "fixtures" / "hackernews" / "recorded"


def hits() -> list[dict[str, Any]]:
    return json.loads((REC / "search_ssh_stories.json").read_text(encoding="utf-8"))["hits"]


@pytest.fixture
def algolia() -> Iterator[tuple[FakeAlgolia, str]]:
    fake = FakeAlgolia(hits=hits())
    with LocalServer(_Handler, fake=fake) as server:
        yield fake, f"{server.url}/api/v1"


def test_recorded_story_hits(algolia: tuple[FakeAlgolia, str], db_url: str, tmp_path: Path) -> None:
    fake, base = algolia
    recorded = hits()
    assert len(recorded) == 4  # what the recording holds
    cfg = (f'[[brands]]\nname = "SSH"\nkeywords = ["ssh"]\nlanguages = []\n\n[sources.hackernews]\n'
           f'base_url = "{base}"\nlookback_hours = 175200\n')
    first = collect_cli(tmp_path, cfg, db_url, "hackernews")
    assert first.exit_code == 0, first.output
    got = stored_mentions(db_url)
    assert set(got) == {h["objectID"] for h in recorded} and len(got) == 4  # all 4 name SSH
    for h in recorded:
        row = got[h["objectID"]]
        assert row["text"] == "\n".join(p for p in (html_to_text(h["title"]), html_to_text(h["story_text"])) if p)
        assert row["author_handle"] == h["author"]
        assert row["created_at"] == datetime.fromtimestamp(h["created_at_i"], UTC)
        assert row["url"] == f"https://news.ycombinator.com/item?id={h['objectID']}"
        assert (row["likes"], row["replies"]) == (h["points"], h["num_comments"])
    assert stored_cursors(db_url)
    second = collect_cli(tmp_path, cfg, db_url, "hackernews")
    assert second.exit_code == 0, second.output
    newest = max(h["created_at_i"] for h in recorded)
    assert fake.requests[-1]["numericFilters"].startswith(f"created_at_i>={newest},")  # resumed from the cursor
    assert stored_mentions(db_url).keys() == got.keys()
