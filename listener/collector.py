"""The collector base: what every platform collector shares, defined once.

`BaseCollector` owns
- the options: each collector declares one pydantic model (a `SourceOptions` subclass) and takes it whole
  (``XCollector(options, client, brand=..., ...)``); ``from_config`` validates ``[sources.<name>]`` against it;
- the plan: the brand, its query compiled for the platform, the local matcher and the cursor key;
- the clock and the sleep (injected, so tests never sleep);
- the source state read by ``health()`` (rate limit remaining/reset, last error, gap warning);
- the retry policy and the one ``call_with_limits()``: transient failures (network, timeouts, 5xx) are
  retried with exponential backoff (tenacity), a 429 waits until the reset or Retry-After the platform
  announced, then the request is made again.

One meaning per key across sources (`SourceOptions`):
- ``max_retries``: retries after the first attempt of one request (0 = try once);
- ``max_rate_limit_waits``: 429 waits allowed per request before ``RateLimitedError``;
- ``search_limit``: the most items one search run reads; ``page_size``: items asked for per page;
- ``catch_up``: on a restart, fetch what was posted while the collector was not running.
A key renamed for that still works for a release: `SourceOptions.renamed` maps old → new and a
deprecation message naming the new key is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from brandpulse.errors import ConfigError, RateLimitedError, SourceError
from brandpulse.types import Cursor, Deletion, Mention, utcnow
from listener.common import BrandPlan, brand_plans, describe, health, log_retry, rate_limit_wait
from listener.query.compiling import Dialect

if TYPE_CHECKING:
    from brandpulse.config import Settings

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], datetime]


# --------------------------------------------------------------------------- options
class SourceOptions(BaseModel):
    """The keys every ``[sources.<name>]`` table may hold, with one meaning everywhere."""

    model_config = ConfigDict(extra="forbid")

    #: Old key → new key, accepted (with a logged deprecation message) for one release.
    renamed: ClassVar[dict[str, str]] = {}

    #: Retries of one request after its first attempt on network errors, timeouts and 5xx answers.
    max_retries: int = Field(4, ge=0, le=20)
    #: 429 waits allowed per request before RateLimitedError.
    max_rate_limit_waits: int = Field(3, ge=0, le=100)

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not cls.renamed:
            return data
        out = dict(data)
        for old, new in cls.renamed.items():
            if old not in out:
                continue
            if new in out:
                raise ValueError(f"{old} was renamed {new}; give only {new}")
            log.warning("config key %r is deprecated and will be removed in the next release; write %r instead", old, new)
            out[new] = out.pop(old)
        return out


class ListenOptions(SourceOptions):
    """The keys of a source that listens to a live stream (Jetstream, Mastodon streaming)."""

    #: Longest one fetch listens.
    duration_s: float = Field(300.0, gt=0)
    #: Return when no event arrives for this long.
    idle_timeout_s: float = Field(30.0, gt=0)


OptionsT = TypeVar("OptionsT", bound=SourceOptions)
ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_options(
    model: type[ModelT], source: str, source_cfg: Mapping[str, Any], *, name_unknown_keys: bool = True
) -> ModelT:
    """``[sources.<source>]`` validated by `model`; the first error as ``ConfigError("[sources.<source>] <key>: <msg>")``.

    An error on a renamed key names the key as the user wrote it (and its new name).
    """
    try:
        return model.model_validate(dict(source_cfg))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(table)"
        renamed: dict[str, str] = getattr(model, "renamed", {})
        old = {new: old for old, new in renamed.items()}.get(key)
        if old is not None and old in source_cfg:
            key = f"{old} (renamed {key})"
        msg = "unknown key" if name_unknown_keys and first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(f"[sources.{source}] {key}: {msg}") from None


# --------------------------------------------------------------------------- limits
class Transient(Exception):
    """A request failure worth retrying (network error, timeout, 5xx); raised by a collector's request function."""


class RateLimited(Exception):
    """A 429 (or a 503 with Retry-After): wait `seconds` (or until `reset`), then try again.

    `where` narrows the source in the final ``RateLimitedError`` (e.g. the feed or instance).
    """

    def __init__(self, seconds: float | None = None, reset: datetime | None = None, where: str | None = None) -> None:
        super().__init__(f"rate limited ({where})" if where else "rate limited")
        self.seconds = seconds
        self.reset = reset
        self.where = where


@dataclass
class SourceState:
    """What a collector knows about its source (read by ``health()``)."""

    remaining: int | None = None
    reset: datetime | None = None
    last_error: str | None = None
    gap_warning: str | None = None

    def health(self, **extra: Any) -> dict[str, Any]:
        return health(remaining=self.remaining, reset=self.reset, last_error=self.last_error,
                      gap_warning=self.gap_warning, **extra)


# --------------------------------------------------------------------------- the base
class BaseCollector(Generic[OptionsT]):
    """A platform collector: see the module docstring. Subclasses set `name`, `Options` and implement `fetch`/`cursor`."""

    name: ClassVar[str]
    #: The collector's ``[sources.<name>]`` model.
    Options: ClassVar[type[SourceOptions]] = SourceOptions
    #: The platform's search dialect (None: no server-side search, every post is filtered locally).
    dialect: ClassVar[Dialect | None] = None
    #: Environment variables (or secrets-file keys) holding this platform's credentials.
    secret_env: ClassVar[tuple[str, ...]] = ()
    #: The platform's name in logs and error messages.
    label: ClassVar[str] = ""
    #: Exceptions retried with backoff by `call_with_limits` (besides `Transient`).
    transient_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    #: Backoff between retries: `retry_multiplier` × 2^(n-1) s, within [`retry_min_wait`, 60].
    retry_multiplier: float = 1.0
    retry_min_wait: float = 1.0
    #: The longest wait after a 429 without a reset time (60 s doubling up to this).
    rate_limit_cap: ClassVar[float] = 900.0
    #: Pass unknown-key errors as pydantic words them (False) or as "unknown key".
    name_unknown_keys: ClassVar[bool] = True

    def __init__(
        self,
        options: OptionsT,
        *,
        brand: str | None = None,
        query: str | None = None,
        match: Callable[[Mention], bool] | None = None,
        key: str | None = None,
        sleep: Sleep = time.sleep,
        now: Clock = utcnow,
    ) -> None:
        self.options = options
        self.brand = brand
        self.query = query
        self.match = match
        self.key = key or brand or "default"
        self._sleep = sleep
        self._now = now
        self.state = SourceState()

    # -- the contract -------------------------------------------------------------------
    def fetch(self, since: Cursor | None) -> Iterator[Mention | Deletion]:
        raise NotImplementedError

    def cursor(self) -> Cursor | None:
        raise NotImplementedError

    def health(self) -> dict[str, Any]:
        return self.state.health()

    def wanted(self, mention: Mention) -> bool:
        """The local filter: does the brand's query match what the platform returned?"""
        return self.match is None or self.match(mention)

    # -- building from config -------------------------------------------------------------
    @classmethod
    def parse_options(cls, source_cfg: Mapping[str, Any]) -> SourceOptions:
        return parse_options(cls.Options, cls.name, source_cfg, name_unknown_keys=cls.name_unknown_keys)

    @classmethod
    def from_config(cls, source_cfg: dict[str, Any], settings: Settings) -> list[Any]:
        """The collectors ``[sources.<name>]`` asks for: by default one per configured brand."""
        return cls.build(cls.parse_options(source_cfg), settings)

    @classmethod
    def build(cls, options: Any, settings: Settings) -> list[Any]:
        """One collector per brand: ``cls(options, **brand_args(plan, options, shared))`` (None skips the brand)."""
        shared = cls.shared_client(options)
        built = []
        for plan in brand_plans(settings):
            args = cls.brand_args(plan, options, shared)
            if args is None:
                continue
            built.append(cls(options, **args))
        return built

    @classmethod
    def shared_client(cls, options: Any) -> Any:
        """The client every brand's collector shares (None: each builds its own in `brand_args`)."""
        return None

    @classmethod
    def brand_args(cls, plan: BrandPlan, options: Any, shared: Any) -> dict[str, Any] | None:
        """The constructor arguments of `plan`'s collector besides the options (None: no collector for it)."""
        args = plan.collector_args(plan.compiled(cls.name))
        if shared is not None:
            args["client"] = shared
        return args

    @classmethod
    def secret_values(cls, *, required: bool = True) -> dict[str, str | None]:
        """Each of `secret_env` from the environment or the secrets file (CredentialsError if one is missing)."""
        from brandpulse.config import secret

        values = {name: secret(name, required=required) for name in cls.secret_env}
        return {name: v.get_secret_value() if v is not None else None for name, v in values.items()}

    # -- requests -----------------------------------------------------------------------
    def is_transient(self, exc: BaseException) -> bool:
        """Is `exc` worth retrying with backoff? (`Transient` and `transient_errors`.)"""
        return isinstance(exc, (Transient, *self.transient_errors))

    def rate_limit_of(self, exc: BaseException) -> RateLimited | None:
        """`exc` as a rate-limit signal, if it is one (collectors map their client's 429 exception here)."""
        return exc if isinstance(exc, RateLimited) else None

    def rate_limit_wait(self, seconds: float | None, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th 429 in a row: as announced (≥ 1 s), else 60 s doubling."""
        return rate_limit_wait(seconds, attempt, cap=self.rate_limit_cap)

    def translate(self, exc: BaseException, what: str) -> BaseException:
        """The error raised when a request failed for good (state.last_error is already set)."""
        if self.is_transient(exc):
            attempts = self.options.max_retries + 1
            return SourceError(f"{self.label or self.name} {what} failed after {attempts} attempts: {describe(exc)}")
        return SourceError(f"{self.label or self.name} {what} failed: {describe(exc)}")

    def call_with_limits(self, what: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` with the retry policy: backoff on transient failures, waits on 429s.

        Transient failures are retried `max_retries` times (then `translate`d); a 429 waits as long as
        the platform said (reset time / Retry-After) and tries again, at most `max_rate_limit_waits`
        times, then raises RateLimitedError. Any other failure is `translate`d at once.
        """
        retry = Retrying(
            retry=retry_if_exception(self.is_transient),
            stop=stop_after_attempt(self.options.max_retries + 1),
            wait=wait_exponential(multiplier=self.retry_multiplier, min=self.retry_min_wait, max=60.0),
            sleep=self._sleep,
            reraise=True,
            before_sleep=log_retry(self.label or self.name, what, self.options.max_retries + 1, log),
        )
        waits = 0
        while True:
            try:
                return retry(fn, *args, **kwargs)
            except Exception as exc:
                limit = self.rate_limit_of(exc)
                if limit is None:
                    self.state.last_error = describe(exc)
                    raise self.translate(exc, what) from None
            waits += 1
            self._wait_out(limit, waits, what)

    def _wait_out(self, limit: RateLimited, waits: int, what: str) -> None:
        now = self._now()
        seconds = limit.seconds
        if seconds is None and limit.reset is not None:
            seconds = max(0.0, (limit.reset - now).total_seconds())
        wait = self.rate_limit_wait(seconds, waits)
        self.state.remaining = 0
        self.state.reset = limit.reset or now + timedelta(seconds=wait)
        if waits > self.options.max_rate_limit_waits:
            self.state.last_error = f"rate limited on {what}"
            source = f"{self.name} ({limit.where})" if limit.where else self.name
            raise RateLimitedError(source, self.state.reset)
        log.warning("%s rate limit reached on %s; waiting %.0f s", self.label or self.name, what, wait)
        self._sleep(wait)

