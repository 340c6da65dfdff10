"""Core types shared by every stage (see DESIGN.md "Core types").

These are plain dataclasses, independent of the database: collectors produce them,
the store persists them, tests build them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from brandpulse.errors import MalformedItemError
from brandpulse.model_key import ModelKey

#: Longest mention text we store; longer items are malformed (a 1 MB "post" is not a post).
MAX_TEXT_CHARS = 40_000


@dataclass(frozen=True)
class AuthorRef:
    """Who wrote a mention, as the platform reported it at fetch time."""

    handle: str
    display_name: str | None = None
    followers: int | None = None


@dataclass(frozen=True)
class Engagement:
    likes: int = 0
    reposts: int = 0
    replies: int = 0


@dataclass
class Mention:
    """One post/comment/article mentioning a brand. Unique on (platform, native_id)."""

    platform: str
    native_id: str
    text: str
    created_at: datetime
    author: AuthorRef
    url: str | None = None
    language: str | None = None
    engagement: Engagement = field(default_factory=Engagement)
    parent_id: str | None = None
    brand: str | None = None
    query: str | None = None
    raw: dict[str, Any] | None = None
    #: Every brand the mention matched, the primary `brand` first (stored as ``mention_brands`` links).
    brands: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.brands = _brands(self.brand, self.brands)
        if self.brand is None and self.brands:
            self.brand = self.brands[0]
        self.validate()

    def link(self, brand: str) -> None:
        """Add `brand` to the brands this mention counts for (the first one stays the primary `brand`)."""
        if self.brand is None:
            self.brand = brand
        self.brands = _brands(self.brand, (*self.brands, brand))

    def validate(self) -> None:
        """Raise MalformedItemError when the mention cannot be stored as is."""
        nid = self.native_id if isinstance(self.native_id, str) else None
        if not self.platform or not isinstance(self.platform, str):
            raise MalformedItemError(nid, "platform is missing")
        if not nid:
            raise MalformedItemError(None, "native id is missing")
        if not isinstance(self.text, str):
            raise MalformedItemError(nid, "text is missing")
        if "\x00" in self.text:
            self.text = self.text.replace("\x00", "")
        if len(self.text) > MAX_TEXT_CHARS:
            raise MalformedItemError(nid, f"text is {len(self.text)} characters (limit {MAX_TEXT_CHARS})")
        try:
            self.text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise MalformedItemError(nid, "text is not valid UTF-8") from exc
        if not isinstance(self.created_at, datetime):
            raise MalformedItemError(nid, "created_at is not a datetime")
        if self.created_at.tzinfo is None:
            raise MalformedItemError(nid, "created_at has no time zone (must be UTC-aware)")
        self.created_at = self.created_at.astimezone(UTC)
        if not isinstance(self.author, AuthorRef) or not self.author.handle:
            raise MalformedItemError(nid, "author handle is missing")
        for name in ("likes", "reposts", "replies"):
            if getattr(self.engagement, name) < 0:
                raise MalformedItemError(nid, f"{name} is negative")

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.native_id)


def _brands(primary: str | None, brands: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """`primary` first, then the other `brands` in order, each once."""
    ordered = ([primary] if primary else []) + [b for b in brands if b]
    return tuple(dict.fromkeys(ordered))


@dataclass(frozen=True)
class Deletion:
    """A collector saw that a post was deleted upstream (e.g. a Bluesky delete commit)."""

    platform: str
    native_id: str


@dataclass(frozen=True)
class Cursor:
    """Where a collector stopped, per (source, key); `position` is the collector's own opaque string."""

    source: str
    key: str
    position: str
    updated_at: datetime | None = None


@dataclass(frozen=True)
class SentimentScore:
    """One model's verdict on one text."""

    label: str  # negative | neutral | positive | uncertain
    probs: dict[str, float]  # negative/neutral/positive → probability (sums to 1)
    confidence: float
    emotions: dict[str, float]  # anger, disgust, fear, joy, sadness, surprise → probability
    model: str
    revision: str
    emotion_labels: tuple[str, ...] = ()  # emotions over their tuned thresholds (empty = none)

    @property
    def model_key(self) -> ModelKey:
        """The model that made this score, as a `ModelKey`."""
        return ModelKey(self.model, self.revision)


SENTIMENTS = ("negative", "neutral", "positive")
EMOTIONS = ("anger", "disgust", "fear", "joy", "sadness", "surprise")


def latest_by_author(mentions: Iterable[Mention]) -> dict[tuple[str, str], Mention]:
    """(platform, handle) → that author's newest mention (its profile fields are the freshest)."""
    latest: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        k = (m.platform, m.author.handle)
        if k not in latest or m.created_at >= latest[k].created_at:
            latest[k] = m
    return latest


def utcnow() -> datetime:
    return datetime.now(UTC)
