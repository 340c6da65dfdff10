"""`forget`: every trace of an author removed — mentions, scores, labels, profile, CRM links, alert evidence — and
the hourly rollups corrected so they equal a recount of what is left."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete, select

from brandpulse.errors import InputError
from brandpulse.store.engine import session_scope
from brandpulse.store.erase import deleted, erase_mentions
from brandpulse.store.schema import AuthorContactLinkRow, AuthorRow, MentionRow


@dataclass(frozen=True)
class ForgetResult:
    authors: int
    mentions: int
    scores: int
    labels: int
    links: int
    alerts_scrubbed: int


def parse_author(spec: str) -> tuple[str, str]:
    """'PLATFORM:HANDLE' → (platform, handle without @)."""
    platform, sep, handle = spec.partition(":")
    handle = handle.strip().lstrip("@")
    if not sep or not platform.strip() or not handle:
        raise InputError(f"--author must be PLATFORM:HANDLE (e.g. x:@jane or mastodon:anna@mastodon.social), got {spec!r}")
    return platform.strip().lower(), handle


def forget_author(engine: Engine, platform: str, handle: str) -> ForgetResult:
    """Remove the author (PLATFORM, HANDLE; case and @ ignored) and everything stored about them."""
    want = handle.strip().lstrip("@").lower()
    with session_scope(engine) as s:
        authors = [(r.id, r.handle) for r in s.execute(select(AuthorRow.id, AuthorRow.handle).where(
            AuthorRow.platform == platform)) if r.handle.strip().lstrip("@").lower() == want]
        if not authors:
            raise InputError(f"no author {platform}:{handle} in the store",
                             hint="Check the platform and handle (as shown by `brandpulse advocates rank`).")
        author_ids = [a for a, _ in authors]
        rows = list(s.execute(select(MentionRow.id, MentionRow.text, MentionRow.url, MentionRow.native_id).where(
            MentionRow.author_id.in_(author_ids))))
        needles = {h.lower() for _, h in authors} | {want, "@" + want}
        erased = erase_mentions(s, rows, also=needles)
        links = deleted(s, delete(AuthorContactLinkRow).where(AuthorContactLinkRow.author_id.in_(author_ids)))
        s.execute(delete(AuthorRow).where(AuthorRow.id.in_(author_ids)))
    return ForgetResult(len(author_ids), erased.mentions, erased.scores, erased.labels, links or 0,
                        erased.alerts_scrubbed)
