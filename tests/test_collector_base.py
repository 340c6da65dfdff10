"""The collector base: one retry policy, waits on 429s as the platform says, one meaning per config key."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from brandpulse.errors import ConfigError, RateLimitedError, SourceError
from brandpulse.types import Cursor, Mention
from listener.bluesky import BlueskyCollector, BlueskyOptions
from listener.collector import BaseCollector, RateLimited, SourceOptions, Transient
from listener.hackernews import HNOptions
from listener.mastodon import MastodonCollector, MastodonOptions
from listener.reddit import RedditOptions
from listener.rss import RSSOptions
from listener.x import XOptions
from tests.fakeserver import Sleeps

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


class Probe(BaseCollector[SourceOptions]):
    name: ClassVar[str] = "probe"

    def fetch(self, since: Cursor | None) -> Iterator[Mention]:
        return iter(())

    def cursor(self) -> Cursor | None:
        return None


def failing(*failures: BaseException) -> Callable[[], str]:
    """A request that raises `failures` in turn, then answers "ok"; counts its calls."""
    left = list(failures)

    def request() -> str:
        request.calls += 1  # type: ignore[attr-defined]
        if left:
            raise left.pop(0)
        return "ok"

    request.calls = 0  # type: ignore[attr-defined]
    return request


def probe(sleeps: Sleeps, **options: Any) -> Probe:
    return Probe(SourceOptions(**options), brand="Acme", sleep=sleeps, now=lambda: NOW)


def test_transient_failures_back_off_exponentially_then_succeed() -> None:
    sleeps = Sleeps()
    request = failing(Transient("HTTP 503"), Transient("timeout"))
    assert probe(sleeps).call_with_limits("search", request) == "ok"
    assert sleeps == [1.0, 2.0] and request.calls == 3  # type: ignore[attr-defined]


def test_max_retries_counts_retries_after_the_first_attempt() -> None:
    sleeps = Sleeps()
    request = failing(*[Transient("HTTP 502")] * 5)
    c = probe(sleeps, max_retries=2)
    with pytest.raises(SourceError, match="search failed after 3 attempts"):
        c.call_with_limits("search", request)
    assert request.calls == 3 and len(sleeps) == 2  # type: ignore[attr-defined]
    assert c.health()["last_error"] and "502" in c.health()["last_error"]
    once = failing(Transient("HTTP 502"))
    with pytest.raises(SourceError, match="after 1 attempts"):
        probe(Sleeps(), max_retries=0).call_with_limits("search", once)
    assert once.calls == 1  # type: ignore[attr-defined]


def test_429_waits_as_announced_then_gives_up_with_rate_limited_error() -> None:
    sleeps = Sleeps()
    reset = NOW + timedelta(seconds=42)
    request = failing(RateLimited(seconds=7), RateLimited(reset=reset))
    c = probe(sleeps)
    assert c.call_with_limits("search", request) == "ok"
    assert sleeps == [7.0, 42.0]  # Retry-After, then until the announced reset
    sleeps = Sleeps()
    c = probe(sleeps, max_rate_limit_waits=2)
    with pytest.raises(RateLimitedError) as exc:
        c.call_with_limits("search", failing(*[RateLimited()] * 5))
    assert sleeps == [60.0, 120.0]  # nothing announced: 60 s doubling
    assert exc.value.reset_at is not None and c.health()["rate_limit_remaining"] == 0


def test_other_failures_are_not_retried() -> None:
    sleeps = Sleeps()
    request = failing(ValueError("bad answer"))
    with pytest.raises(SourceError, match="probe search failed: ValueError"):
        probe(sleeps).call_with_limits("search", request)
    assert sleeps == [] and request.calls == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", [XOptions, RedditOptions, MastodonOptions, BlueskyOptions, RSSOptions, HNOptions])
def test_max_retries_means_the_same_everywhere(model: type[SourceOptions]) -> None:
    extra: dict[str, Any] = {"feeds": ["https://example.org/feed.xml"]} if model is RSSOptions else {}
    assert model.model_validate({"max_retries": 0, **extra}).max_retries == 0  # 0 retries = one attempt, on every source
    # (each collector's own tests check that max_retries=N makes N + 1 attempts against its fake API)


def test_renamed_keys_still_work_for_a_release_with_a_deprecation_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="listener.collector"):
        opts = BlueskyCollector.parse_options({"search_limit": 25, "catch_up": False})
    assert isinstance(opts, BlueskyOptions) and opts.page_size == 25 and opts.stop_when_live is False
    text = caplog.text
    assert "'search_limit' is deprecated" in text and "'page_size'" in text
    assert "'catch_up' is deprecated" in text and "'stop_when_live'" in text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="listener.collector"):
        mopts = MastodonCollector.parse_options({"stream_duration_s": 5})
    assert isinstance(mopts, MastodonOptions) and mopts.duration_s == 5 and "'duration_s'" in caplog.text


def test_renamed_key_errors_name_the_key_as_written() -> None:
    with pytest.raises(ConfigError, match=r"\[sources.bluesky\] search_limit \(renamed page_size\)"):
        BlueskyCollector.parse_options({"search_limit": 500})
    with pytest.raises(ConfigError, match="give only page_size"):
        BlueskyCollector.parse_options({"search_limit": 5, "page_size": 5})
