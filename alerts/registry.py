"""Alert rules are found through the entry-point group `brandpulse.alert_rules` (built-ins are
registered in pyproject.toml the same way a plugin registers its own), and configured from
`[alerts.rules.<name>]`, each table validated by its rule's Config model."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from pydantic import ValidationError

from alerts.rule import AlertRule
from brandpulse.config import AlertRuleConfig
from brandpulse.errors import ConfigError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "brandpulse.alert_rules"


def registry() -> dict[str, type[AlertRule]]:
    """Every rule class registered in the entry-point group, by name."""
    found: dict[str, type[AlertRule]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            log.warning("alert rule plugin %s failed to load: %s", ep.name, exc)
            continue
        if not (isinstance(cls, type) and issubclass(cls, AlertRule)):
            log.warning("alert rule plugin %s is not an AlertRule subclass; skipped", ep.name)
            continue
        found[ep.name] = cls
    if not found:
        raise ConfigError("no alert rules are registered (entry-point group brandpulse.alert_rules is empty)",
                          hint="Reinstall brandpulse (`pip install -e .` in the checkout) so its entry points are registered.")
    return found


def _bad_options(name: str, exc: ValidationError) -> ConfigError:
    lines = [f"invalid alert rule options in [alerts.rules.{name}]:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        msg = "unknown key (check the spelling)" if err["type"] == "extra_forbidden" else err["msg"]
        if not key:  # a check across keys (per-brand options) names its own keys
            lines.append(f"  alerts.rules.{name}.{msg.removeprefix('Value error, ')}")
            continue
        lines.append(f"  alerts.rules.{name}.{key}: {msg}")
    return ConfigError("\n".join(lines))


def configured_rules(config: AlertRuleConfig, *, include_disabled: bool = False) -> list[AlertRule]:
    """The registered rules with their options from config, enabled ones only unless asked, in name order."""
    reg = registry()
    unknown = sorted(set(config.rules) - set(reg))
    if unknown:
        raise ConfigError(f"alerts.rules.{unknown[0]}: unknown alert rule (registered: {', '.join(sorted(reg))})")
    rules: list[AlertRule] = []
    for name in sorted(reg):
        cls = reg[name]
        try:
            options = cls.Config.model_validate(config.rules.get(name, {}))
        except ValidationError as exc:
            raise _bad_options(name, exc) from None
        if options.enabled or include_disabled:
            rules.append(cls(options))
    return rules


def rule_by_name(name: str, config: AlertRuleConfig | None = None) -> AlertRule:
    """One rule with its configured options (enabled or not), e.g. to explain a stored alert."""
    for rule in configured_rules(config or AlertRuleConfig(), include_disabled=True):
        if rule.name == name:
            return rule
    raise ConfigError(f"unknown alert rule {name!r} (registered: {', '.join(sorted(registry()))})")
