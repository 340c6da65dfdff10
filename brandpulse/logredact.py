"""A logging filter that keeps secrets out of log lines: URL query strings and secret environment values.

httpx and urllib3 log every request URL at INFO/DEBUG; an RSS feed or webhook URL may carry a token in its
query string (`?token=…`). `install_redaction()` adds the filter to every handler of the root logger, so it
also covers records from libraries; the CLI calls it when it sets up logging.
"""

from __future__ import annotations

import logging
import os
import re
from functools import lru_cache

from brandpulse.config import SECRET_ENV_NAMES

_URL_QUERY = re.compile(r"(?P<base>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#'\"<>]+)\?[^\s#'\"<>]*")
REDACTED = "[redacted]"
_MIN_SECRET_LEN = 4  # shorter values (e.g. "1") would blank unrelated text


def redact(text: str, secrets: list[str] | None = None) -> str:
    """`text` with each URL's query string and each secret value replaced by [redacted]."""
    text = _URL_QUERY.sub(lambda m: f"{m.group('base')}?{REDACTED}", text)
    for value in secrets if secrets is not None else secret_values():
        text = text.replace(value, REDACTED)
    return text


@lru_cache(maxsize=1)
def _collector_secret_names() -> tuple[str, ...]:
    from listener.registry import secret_env_names

    return tuple(secret_env_names())


def secret_env_names() -> list[str]:
    """Every secret variable name: the core ones, each collector's (`secret_env`), and delivery destinations'."""
    destinations = [n for n in os.environ if n.startswith("BRANDPULSE_DESTINATION_") and n.endswith(("_URL", "_SECRET"))]
    return list(dict.fromkeys([*SECRET_ENV_NAMES, *_collector_secret_names(), *destinations]))


def secret_values() -> list[str]:
    """The values of the secret environment variables that are set (longest first)."""
    values = {os.environ.get(name, "") for name in secret_env_names()}
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and exception text) with URL query strings and secret values redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's own error reporting
            return True
        record.msg = redact(message, secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Add one RedactingFilter to each handler of `logger` (default: the root logger); idempotent."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        for f in handler.filters:
            if isinstance(f, RedactingFilter):
                break
        else:
            handler.addFilter(RedactingFilter())
