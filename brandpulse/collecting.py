"""Building the configured collectors from settings through the registry."""

from __future__ import annotations

from brandpulse.config import Settings
from brandpulse.errors import ConfigError
from listener.base import Collector
from listener.registry import get_collector_class


def build_collectors(settings: Settings, only: list[str] | None = None) -> list[Collector]:
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
        built = factory.from_config(cfg, settings)
        collectors.extend(built if isinstance(built, list) else [built])
    return collectors
