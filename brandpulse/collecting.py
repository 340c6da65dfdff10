"""Building the configured collectors from settings through the registry."""

from __future__ import annotations

from typing import Any

from brandpulse.config import Settings
from brandpulse.errors import ConfigError
from listener.base import Collector, CollectorFactory
from listener.registry import get_collector_class
from listener.unstarted import START_ERRORS, UnstartedSource


def build_collectors(settings: Settings, only: list[str] | None = None) -> list[Collector]:
    """Each configured (or `only` named) source's collectors. A source that cannot start (a missing credential, a
    refused login) becomes an `UnstartedSource` — its own failure, never the others'; a bad option raises ConfigError."""
    names = list(only) if only else [n for n, cfg in settings.sources.items() if cfg.get("enabled", True)]
    if not names:
        raise ConfigError("no sources configured", hint="Add a [sources.<name>] table to brandpulse.toml "
                          "(see `brandpulse init`), or pass --source.")
    collectors: list[Collector] = []
    for name in names:
        if name not in settings.sources:
            raise ConfigError(f"source {name!r} has no [sources.{name}] table in the config")
        cfg = {k: v for k, v in settings.sources[name].items() if k != "enabled"}
        factory = get_collector_class(name)

        def start(factory: CollectorFactory = factory, cfg: dict[str, Any] = cfg) -> list[Collector]:
            built = factory.from_config(cfg, settings)
            return built if isinstance(built, list) else [built]

        try:
            collectors.extend(start())
        except START_ERRORS as exc:
            collectors.append(UnstartedSource.of(name, exc, start))
    return collectors
