"""What every destination shares: one post retried with tenacity, 1 request/s per webhook, errors without secrets.

A post is retried inside the pass on 5xx, 408, timeouts and dropped connections (exponential backoff with jitter)
and on 429 after the `Retry-After` the server sent. A `Retry-After` longer than `max_retry_after`, or retries used up,
ends the pass for that delivery: the sender schedules it for later (`Outcome.retry_at_s`). Any other 4xx is a
permanent refusal (bad payload, webhook revoked) and is not retried.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_attempt, wait_exponential, wait_random

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Reply:
    """One HTTP exchange: a status (None when no response came back), Retry-After seconds, a short redacted note."""

    status: int | None
    retry_after: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in (408, 425, 429) or self.status >= 500


@dataclass(frozen=True)
class Outcome:
    """The result of posting one delivery in this pass."""

    ok: bool
    status: int | None
    attempts: int
    error: str = ""
    permanent: bool = False
    #: seconds to wait before the next pass may try again (a long Retry-After), if the server said so
    retry_at_s: float | None = None


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_SECRETS: set[str] = set()
_GUARDED_LOGGERS = ("httpx", "httpcore", "slack_sdk", "urllib3")


def _scrub(text: str) -> str:
    for s in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(s, "<redacted>")
    return text


class _RedactSecrets(logging.Filter):
    """Removes registered destination URLs/secrets from records of HTTP libraries (httpx logs every request URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            msg = record.getMessage()
            clean = _scrub(msg)
            if clean != msg:
                record.msg, record.args = clean, ()
        return True


_FILTER = _RedactSecrets()


def protect(*values: str | None) -> None:
    """Register secret values (a webhook URL, its path and query, an HMAC secret) to be scrubbed from HTTP-library logs."""
    for v in values:
        if not v:
            continue
        _SECRETS.add(v)
        parts = urlsplit(v)
        if parts.scheme and parts.netloc:
            tail = parts.path + (f"?{parts.query}" if parts.query else "")
            if len(tail) > 1:
                _SECRETS.add(tail)
    for name in _GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every given or registered secret and every URL replaced, short enough to store."""
    for s in secrets:
        if s:
            text = text.replace(s, "<redacted>")
    return _URL.sub("<url>", _scrub(text))[:300]


class RateLimiter:
    """At most one request per `interval` seconds per key (a webhook, keyed by a hash of its URL), in this process."""

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key_for(url: str) -> str:
        return hashlib.sha256(url.encode()).hexdigest()[:16]

    def wait(self, key: str, sleep: Sleep) -> None:
        with self._lock:
            now = self.clock()
            start = max(now, self._next.get(key, now))
            self._next[key] = start + self.interval
        if start > now:
            sleep(start - now)


#: Shared by every destination in this process (Slack: 1 message per second per incoming webhook).
WEBHOOK_RATE = RateLimiter(1.0)


def post_with_retries(once: Callable[[], Reply], *, retries: int, max_retry_after: float, sleep: Sleep,
                      before_each: Callable[[], None] = lambda: None) -> Outcome:
    """Call `once` until it succeeds, fails permanently, or the retries/Retry-After budget of this pass is spent."""
    attempts = 0
    too_long: list[float] = []
    backoff = wait_exponential(multiplier=0.5, max=8.0) + wait_random(0, 0.25)

    def attempt() -> Reply:
        nonlocal attempts
        before_each()
        attempts += 1
        return once()

    def wait(state: RetryCallState) -> float:
        reply = state.outcome.result() if state.outcome else None
        if reply is not None and reply.status == 429 and reply.retry_after is not None:
            return reply.retry_after
        return float(backoff(state))

    def stop(state: RetryCallState) -> bool:
        reply = state.outcome.result() if state.outcome else None
        if reply is not None and reply.retry_after is not None and reply.retry_after > max_retry_after:
            too_long.append(reply.retry_after)
            return True
        return bool(stop_after_attempt(retries + 1)(state))

    retrying = Retrying(stop=stop, wait=wait, sleep=sleep, reraise=True,
                        retry=retry_if_result(lambda r: not r.ok and r.retryable),
                        retry_error_callback=lambda state: state.outcome.result() if state.outcome else Reply(None))
    reply: Reply = retrying(attempt)
    if reply.ok:
        return Outcome(True, reply.status, attempts)
    return Outcome(False, reply.status, attempts, error=reply.note or f"HTTP {reply.status}",
                   permanent=not reply.retryable, retry_at_s=too_long[0] if too_long else reply.retry_after)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds; an HTTP date is treated as 60 s)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return 60.0


class Destination:
    """What every destination shares: its name, its secret URL, and the retry/rate-limit policy of one post."""

    kind = "destination"

    def __init__(self, name: str, url: SecretStr, *, timeout: float = 10.0, retries: int = 4,
                 max_retry_after: float = 30.0, sleep: Sleep = time.sleep, limiter: RateLimiter | None = None) -> None:
        self.name = name
        self._url = url
        self.timeout = timeout
        self.retries = retries
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.limiter = limiter or WEBHOOK_RATE

    def __repr__(self) -> str:  # never the URL
        return f"{type(self).__name__}({self.name!r})"

    def post(self, once: Callable[[], Reply], url: str) -> Outcome:
        """`once` with retries and backoff, never faster than the webhook's rate limit."""
        key = RateLimiter.key_for(url)
        return post_with_retries(once, retries=self.retries, max_retry_after=self.max_retry_after, sleep=self.sleep,
                                 before_each=lambda: self.limiter.wait(key, self.sleep))
