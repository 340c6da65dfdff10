"""Adding a platform: a plugin collector registered through an entry point is found and run by `collect`.

The plugin (tests/plugin_example/tiny_collector.py) is one module: options, search dialect and
collector. It is installed here the way pip would install it, as a ``*.dist-info`` with an
``entry_points.txt`` on sys.path; the normal collect path (`brandpulse.collecting.build_collectors`
and `listener.runner.collect_once`) then builds it from ``[sources.tiny]`` and stores its mentions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from brandpulse.collecting import build_collectors
from brandpulse.config import BrandConfig, Settings
from brandpulse.errors import ConfigError
from brandpulse.store.cursors import load_cursor
from brandpulse.store.queries import counts
from listener.common import html_to_text
from listener.query import compile_details, explain
from listener.query.compiling import dialect
from listener.registry import registry, secret_env_names
from listener.runner import collect_once

RECORDING = Path(__file__).parent / "fixtures" / "hackernews" / "search_by_date.json"


@pytest.fixture
def tiny_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    dist = tmp_path / "brandpulse_tiny_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brandpulse-tiny-plugin\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[brandpulse.collectors]\ntiny = tests.plugin_example.tiny_collector:TinyCollector\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    dialect.cache_clear()
    yield
    dialect.cache_clear()


def _hits_naming(word: str) -> int:
    """How many hits of the recording name `word` (a plain regex over the text, independent of the matcher)."""
    hits = json.loads(RECORDING.read_text(encoding="utf-8"))["hits"]
    pattern = re.compile(rf"(?<!\w){word}(?!\w)", re.IGNORECASE)
    return sum(bool(pattern.search(html_to_text(h.get("comment_text") or h.get("title") or ""))) for h in hits)


def test_plugin_collector_is_found_built_and_stored_by_collect(tiny_installed: None, engine) -> None:
    settings = Settings(brands=[BrandConfig(name="SSH")], sources={"tiny": {"path": str(RECORDING)}})
    (collector,) = build_collectors(settings, only=["tiny"])
    assert type(collector).__name__ == "TinyCollector" and getattr(collector, "brand", None) == "SSH"

    held = len(json.loads(RECORDING.read_text(encoding="utf-8"))["hits"])
    expected = _hits_naming("ssh")
    assert 0 < expected < held  # the recording holds 16 hits; the brand's query keeps those naming SSH
    first = collect_once(engine, collector)
    assert first.new == expected and counts(engine)["mentions"] == expected
    cursor = load_cursor(engine, "tiny", "SSH")
    assert cursor is not None and cursor.position.isdigit()

    (again,) = build_collectors(settings, only=["tiny"])
    assert collect_once(engine, again).new == 0  # resumed from its cursor: nothing stored twice
    assert counts(engine)["mentions"] == expected


def test_plugin_dialect_and_secrets_are_registered_with_the_platform(tiny_installed: None) -> None:
    assert "tiny" in registry()
    assert compile_details("ssh OR mosh", "tiny").queries == ("ssh", "mosh")
    assert explain("ssh")["tiny"] == ["ssh"]
    names = secret_env_names()
    assert "TINY_API_KEY_EXAMPLE" in names and "X_BEARER_TOKEN" in names and "BLUESKY_APP_PASSWORD" in names


def test_plugin_options_are_validated_by_the_base(tiny_installed: None) -> None:
    settings = Settings(brands=[BrandConfig(name="SSH")], sources={"tiny": {"paht": "x"}})
    with pytest.raises(ConfigError, match=r"\[sources.tiny\] (paht|path)"):
        build_collectors(settings, only=["tiny"])


def test_without_the_plugin_the_source_is_unknown() -> None:
    dialect.cache_clear()
    settings = Settings(brands=[BrandConfig(name="SSH")], sources={"tiny": {"path": str(RECORDING)}})
    with pytest.raises(ConfigError, match="unknown source 'tiny'"):
        build_collectors(settings, only=["tiny"])
    assert "tiny" not in explain("ssh")
