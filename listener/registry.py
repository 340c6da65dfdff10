"""The collector registry: every collector registered in the entry-point group ``brandpulse.collectors``.

Built-in collectors are registered the same way as plugins (``[project.entry-points."brandpulse.collectors"]``
in pyproject.toml), so adding a platform is its module plus one entry point. A plugin that fails to load
is logged and left out; the others still run.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from brandpulse.errors import ConfigError
from listener.base import ENTRY_POINT_GROUP, CollectorFactory

log = logging.getLogger(__name__)


def registry() -> dict[str, CollectorFactory]:
    """All collectors registered in the entry-point group, built-ins included."""
    found: dict[str, CollectorFactory] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            log.warning("collector plugin %s failed to load: %s", ep.name, exc)
    return found


def get_collector_class(name: str) -> CollectorFactory:
    reg = registry()
    if name not in reg:
        known = ", ".join(sorted(reg)) or "none"
        raise ConfigError(f"unknown source {name!r}; registered collectors: {known}")
    return reg[name]


def secret_env_names() -> tuple[str, ...]:
    """Every registered collector's credential variables (its ``secret_env``), in registry order, once each."""
    names: dict[str, None] = {}
    for factory in registry().values():
        for name in getattr(factory, "secret_env", ()) or ():
            names[str(name)] = None
    return tuple(names)
