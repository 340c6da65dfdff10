"""`forget`: every trace of an author removed — mentions, scores, labels, profile, CRM links, alert evidence — and
the hourly rollups corrected so they equal a recount of what is left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from brandpulse.errors import InputError
from brandpulse.store.engine import session_scope
from brandpulse.store.rollups import unroll_mentions
from brandpulse.store.schema import (
    AlertRow,
    AuthorContactLinkRow,
    AuthorRow,
    HumanLabelRow,
    MentionRow,
    ScoreRow,
)

CHUNK = 400


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


def _deleted(s: Session, stmt: Any) -> int:
    result: Any = s.execute(stmt)
    return int(result.rowcount or 0)


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _unroll(s: Session, mention_ids: list[int]) -> int:
    """Subtract the mentions' scores from all rollups; rows that reach zero are removed (a recount has none)."""
    return sum(unroll_mentions(s, part) for part in _chunks(mention_ids))


def _scrub(value: Any, needles: set[str]) -> tuple[Any, bool]:
    """`value` with every list item that mentions one of `needles` removed (recursively)."""
    if isinstance(value, str):
        v = value.strip().lower()
        hit = v in needles or (len(v) >= 20 and any(n.startswith(v) for n in needles))
        return value, hit
    if isinstance(value, dict):
        out, hit = {}, False
        for k, v in value.items():
            nv, h = _scrub(v, needles)
            out[k] = nv
            hit = hit or (h and not isinstance(v, (list, dict)))
        return out, hit
    if isinstance(value, list):
        kept = []
        for item in value:
            nv, h = _scrub(item, needles)
            if not h:
                kept.append(nv)
        return kept, False
    return value, False


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
        mids = [r.id for r in rows]
        needles = {h.lower() for _, h in authors} | {want, "@" + want}
        needles |= {r.text.strip().lower() for r in rows} | {r.url.strip().lower() for r in rows if r.url}
        scores = _unroll(s, mids)
        labels = 0
        for part in _chunks(mids):
            labels += _deleted(s, delete(HumanLabelRow).where(HumanLabelRow.mention_id.in_(part)))
            s.execute(delete(ScoreRow).where(ScoreRow.mention_id.in_(part)))
            s.execute(delete(MentionRow).where(MentionRow.id.in_(part)))
        links = _deleted(s, delete(AuthorContactLinkRow).where(AuthorContactLinkRow.author_id.in_(author_ids)))
        s.execute(delete(AuthorRow).where(AuthorRow.id.in_(author_ids)))
        scrubbed = 0
        for alert in s.scalars(select(AlertRow)):
            new, _ = _scrub(alert.evidence, needles)
            if new != alert.evidence:
                alert.evidence = new
                scrubbed += 1
    return ForgetResult(len(author_ids), len(mids), scores, labels, links or 0, scrubbed)
