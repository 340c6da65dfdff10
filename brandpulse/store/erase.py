"""Erasing stored mentions and every trace of them, for `forget` and for deletions upstream: their scores taken
out of the rollups (rows that reach zero removed, as a recount has none), human labels, brand links, alert evidence
rows, and the posts' text, URL and any other given strings scrubbed from alerts' evidence JSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from brandpulse.store.rollups import unroll_mentions
from brandpulse.store.schema import AlertEvidenceRow, AlertRow, HumanLabelRow, MentionBrandRow, MentionRow, ScoreRow

CHUNK = 400


class StoredPost(Protocol):
    """What erasing needs of a stored mention (a row of `select(MentionRow.id, MentionRow.text, MentionRow.url)`)."""

    @property
    def id(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def url(self) -> str | None: ...


@dataclass(frozen=True)
class Erased:
    mentions: int
    scores: int
    labels: int
    alerts_scrubbed: int


def deleted(session: Session, stmt: Any) -> int:
    """Run a DELETE; how many rows it removed."""
    result: Any = session.execute(stmt)
    return int(result.rowcount or 0)


def chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def scrub(value: Any, needles: set[str]) -> tuple[Any, bool]:
    """`value` with every list item that mentions one of `needles` removed (recursively); (new value, hit)."""
    if isinstance(value, str):
        v = value.strip().lower()
        hit = v in needles or (len(v) >= 20 and any(n.startswith(v) for n in needles))
        return value, hit
    if isinstance(value, dict):
        out, hit = {}, False
        for k, v in value.items():
            nv, h = scrub(v, needles)
            out[k] = nv
            hit = hit or (h and not isinstance(v, (list, dict)))
        return out, hit
    if isinstance(value, list):
        kept = []
        for item in value:
            nv, h = scrub(item, needles)
            if not h:
                kept.append(nv)
        return kept, False
    return value, False


def erase_mentions(session: Session, posts: Sequence[StoredPost], also: Iterable[str] = ()) -> Erased:
    """Delete `posts` and every trace of them; `also` are more strings to scrub from alert evidence (handles)."""
    ids = [p.id for p in posts]
    if not ids:
        return Erased(0, 0, 0, 0)
    scores = sum(unroll_mentions(session, part) for part in chunks(ids))
    labels = 0
    for part in chunks(ids):
        session.execute(delete(AlertEvidenceRow).where(AlertEvidenceRow.mention_id.in_(part)))
        labels += deleted(session, delete(HumanLabelRow).where(HumanLabelRow.mention_id.in_(part)))
        session.execute(delete(ScoreRow).where(ScoreRow.mention_id.in_(part)))
        session.execute(delete(MentionBrandRow).where(MentionBrandRow.mention_id.in_(part)))
        session.execute(delete(MentionRow).where(MentionRow.id.in_(part)))
    needles = {s.strip().lower() for s in also if s.strip()}
    needles |= {p.text.strip().lower() for p in posts if p.text.strip()}
    needles |= {p.url.strip().lower() for p in posts if p.url and p.url.strip()}
    scrubbed = 0
    for alert in session.scalars(select(AlertRow)):
        new, _ = scrub(alert.evidence, needles)
        if new != alert.evidence:
            alert.evidence = new
            scrubbed += 1
    return Erased(len(ids), scores, labels, scrubbed)
