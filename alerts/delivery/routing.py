"""Where alerts go: destinations by name and, per brand, which destinations get which minimum severity.

In brandpulse.toml (the `[delivery]` table; every key optional)::

    [delivery]
    public_url = "https://brandpulse.example.com"   # the dashboard as people reach it (links in messages)
    lease_seconds = 120                             # a claimed delivery is re-claimable after this
    max_attempts = 8                                # posts before a delivery is given up ("failed")

    [delivery.destinations.slack]                   # URL: BRANDPULSE_SLACK_WEBHOOK_URL
    type = "slack"
    [delivery.destinations.oncall]                  # URL: BRANDPULSE_DESTINATION_ONCALL_URL
    type = "webhook"                                # HMAC secret: BRANDPULSE_DESTINATION_ONCALL_SECRET

    [delivery.routes]                               # brand → {destination = minimum severity}
    default = { slack = "notice" }                  # brands without their own entry
    Nimbus = { slack = "notice", oncall = "critical" }

URLs and secrets are never read from the file, only from the environment or the secrets file
(`brandpulse.config.secret`). With no `[delivery]` table, an alert of any severity goes to the destination "slack"
when BRANDPULSE_SLACK_WEBHOOK_URL is set, and nowhere otherwise.

Severities rank notice < warning < critical; the detector's older names are accepted (low → notice,
medium → warning, high → critical).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from brandpulse.config import Settings, secret
from brandpulse.errors import ConfigError

SEVERITY_RANK = {"notice": 1, "warning": 2, "critical": 3}
_ALIASES = {"low": "notice", "info": "notice", "medium": "warning", "high": "critical"}
DEFAULT_SLACK = "slack"
SLACK_ENV = "BRANDPULSE_SLACK_WEBHOOK_URL"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


def severity_name(severity: str) -> str:
    """The canonical severity (notice / warning / critical) of a stored or configured severity."""
    s = severity.strip().lower()
    s = _ALIASES.get(s, s)
    if s not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {severity!r} (use notice, warning or critical)")
    return s


def severity_rank(severity: str) -> int:
    try:
        return SEVERITY_RANK[severity_name(severity)]
    except ValueError:
        return SEVERITY_RANK["warning"]


class DestinationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["slack", "webhook"] = "slack"
    #: Seconds one HTTP request may take.
    timeout: float = Field(10.0, gt=0, le=120)


class DeliveryConfig(BaseModel):
    """The `[delivery]` table of brandpulse.toml."""

    model_config = ConfigDict(extra="forbid")

    public_url: str | None = None
    lease_seconds: float = Field(120.0, ge=5)
    max_attempts: int = Field(8, ge=1, le=100)
    #: Retries of one post inside a pass (5xx, timeouts, dropped connections, 429) before it waits for the next pass.
    retries_per_pass: int = Field(4, ge=0, le=10)
    #: Longest Retry-After honoured inside a pass; a longer one moves the delivery to a later pass.
    max_retry_after: float = Field(30.0, ge=0)
    batch_size: int = Field(20, ge=1, le=1000)
    destinations: dict[str, DestinationConfig] = Field(default_factory=dict)
    routes: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("destinations")
    @classmethod
    def _names(cls, v: dict[str, DestinationConfig]) -> dict[str, DestinationConfig]:
        for name in v:
            if not _NAME.match(name):
                raise ValueError(f"destination name {name!r}: use letters, digits, - and _ (it names the environment variable)")
        return v

    @field_validator("routes")
    @classmethod
    def _severities(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        return {brand: {dest: severity_name(sev) for dest, sev in table.items()} for brand, table in v.items()}

    @model_validator(mode="after")
    def _routes_name_destinations(self) -> DeliveryConfig:
        known = set(self.destinations) | ({DEFAULT_SLACK} if not self.destinations else set())
        for brand, table in self.routes.items():
            for dest in table:
                if dest not in known:
                    raise ValueError(f"routes.{brand}: unknown destination {dest!r} (known: {', '.join(sorted(known))})")
        return self

    # -- lookups ---------------------------------------------------------------------------
    def all_destinations(self) -> dict[str, DestinationConfig]:
        """Configured destinations; without any, the default Slack destination."""
        return dict(self.destinations) or {DEFAULT_SLACK: DestinationConfig.model_validate({})}

    def destinations_for(self, brand: str, severity: str) -> list[str]:
        """Destination names that get an alert of `severity` for `brand` (an empty list: nobody)."""
        table = self._table_for(brand)
        rank = severity_rank(severity)
        return [d for d, minimum in table.items() if rank >= SEVERITY_RANK[minimum]]

    def _table_for(self, brand: str) -> dict[str, str]:
        for name, table in self.routes.items():
            if name.lower() == brand.lower():
                return table
        if "default" in self.routes:
            return self.routes["default"]
        if self.routes:
            return {}
        # no routes at all: every destination that has a URL, any severity
        return {d: "notice" for d in self.all_destinations() if _has_secret(url_env_names(d))}


def url_env_names(name: str) -> list[str]:
    """Environment variables that may hold destination `name`'s URL, first wins."""
    own = f"BRANDPULSE_DESTINATION_{_env_part(name)}_URL"
    return [SLACK_ENV, own] if name == DEFAULT_SLACK else [own]


def url_env_name(name: str) -> str:
    return url_env_names(name)[0]


def secret_env_name(name: str) -> str:
    return f"BRANDPULSE_DESTINATION_{_env_part(name)}_SECRET"


def _env_part(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def _has_secret(names: list[str]) -> bool:
    return any(secret(n, required=False) is not None for n in names)


def destination_url(name: str) -> SecretStr:
    """The destination's URL from the environment (CredentialsError naming the variable when unset)."""
    names = url_env_names(name)
    for n in names:
        value = secret(n, required=False)
        if value is not None:
            return value
    return secret(names[0])  # type: ignore[return-value]  # raises CredentialsError


def destination_secret(name: str) -> SecretStr | None:
    """The destination's HMAC secret, if set."""
    return secret(secret_env_name(name), required=False)


def secret_env_names(cfg: DeliveryConfig) -> list[str]:
    """Every environment variable the delivery config may read secrets from (never print their values)."""
    out: list[str] = []
    for name in cfg.all_destinations():
        out += [*url_env_names(name), secret_env_name(name)]
    return list(dict.fromkeys(out))


def delivery_config(settings: Settings) -> DeliveryConfig:
    """The validated `[delivery]` table (ConfigError naming the key when it is wrong)."""
    raw: dict[str, Any] = dict(getattr(settings, "delivery", None) or {})
    if not raw.get("public_url") and settings.dashboard.public_url:
        raw["public_url"] = settings.dashboard.public_url
    try:
        return DeliveryConfig.model_validate(raw)
    except ValidationError as exc:
        lines = ["invalid [delivery] configuration:"]
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"  delivery.{key}: {msg}")
        raise ConfigError("\n".join(lines)) from None
