"""Author-side reads for the advocates stage: each author's mentions with their scores, bounded by brand and time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, select

from brandpulse.model_key import ModelKey
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import AuthorContactLinkRow, AuthorRow, HumanLabelRow, MentionRow, ScoreRow


@dataclass(frozen=True)
class AuthorInfo:
    id: int
    platform: str
    handle: str
    display_name: str | None
    followers: int | None
    profile: dict[str, Any] | None
    first_seen: datetime | None
    last_seen: datetime | None
    #: the contact id (crm_contacts.id) of a confirmed or automatic link, if any
    contact_id: int | None = None
    link_status: str | None = None


@dataclass(frozen=True)
class AuthorMention:
    """One scored mention of one author (the label is a person's correction when there is one)."""

    author_id: int
    mention_id: int
    brand: str | None
    url: str | None
    text: str
    lang: str | None
    created_at: datetime
    likes: int
    reposts: int
    replies: int
    followers: int | None
    dup_group: int | None
    label: str
    p_positive: float
    p_negative: float


def author_mentions(
    engine: Engine,
    model_key: str,
    *,
    brands: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuthorMention]:
    """Every scored mention (by `model_key`) of the given brands in [since, until), oldest first."""
    key = ModelKey.parse(model_key)
    model, revision = key.name, key.revision
    q = (
        select(
            MentionRow.author_id, MentionRow.id, MentionRow.brand, MentionRow.url, MentionRow.text, MentionRow.lang,
            MentionRow.created_at, MentionRow.likes, MentionRow.reposts, MentionRow.replies,
            MentionRow.author_followers, MentionRow.dup_group, ScoreRow.label, ScoreRow.p_positive,
            ScoreRow.p_negative, HumanLabelRow.sentiment,
        )
        .join(ScoreRow, and_(ScoreRow.mention_id == MentionRow.id, ScoreRow.model == model,
                             ScoreRow.revision == revision))
        .outerjoin(HumanLabelRow, HumanLabelRow.mention_id == MentionRow.id)
    )
    if brands:
        q = q.where(MentionRow.brand.in_(brands))
    if since is not None:
        q = q.where(MentionRow.created_at >= since)
    if until is not None:
        q = q.where(MentionRow.created_at < until)
    q = q.order_by(MentionRow.created_at, MentionRow.id)
    with session_scope(engine) as s:
        return [
            AuthorMention(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] or 0, r[8] or 0, r[9] or 0, r[10], r[11],
                          r[15] or r[12], float(r[13]), float(r[14]))
            for r in s.execute(q)
        ]


def authors_by_id(engine: Engine, ids: list[int] | None = None) -> dict[int, AuthorInfo]:
    """Authors (all, or the given ids) with their effective CRM link (confirmed first, then automatic)."""
    q = select(AuthorRow.id, AuthorRow.platform, AuthorRow.handle, AuthorRow.display_name, AuthorRow.followers,
               AuthorRow.profile, AuthorRow.first_seen, AuthorRow.last_seen)  # plain rows: no ORM objects to build
    if ids is not None:
        q = q.where(AuthorRow.id.in_(ids))
    out: dict[int, AuthorInfo] = {}
    with session_scope(engine) as s:
        rows = list(s.execute(q))
        links: dict[int, tuple[int, str]] = {}
        lq = select(AuthorContactLinkRow.author_id, AuthorContactLinkRow.contact_id, AuthorContactLinkRow.status).where(
            AuthorContactLinkRow.status.in_(("confirmed", "auto"))
        )
        for a_id, c_id, status in s.execute(lq):
            if a_id not in links or status == "confirmed":
                links[a_id] = (c_id, status)
        for r in rows:
            c = links.get(r.id)
            out[r.id] = AuthorInfo(r.id, r.platform, r.handle, r.display_name, r.followers, r.profile, r.first_seen,
                                   r.last_seen, c[0] if c else None, c[1] if c else None)
    return out


def find_authors(engine: Engine, platform: str, handle: str) -> list[int]:
    """Ids of the authors on `platform` whose handle equals `handle` ignoring case and a leading @."""
    want = handle.strip().lstrip("@").lower()
    with session_scope(engine) as s:
        rows = s.execute(select(AuthorRow.id, AuthorRow.handle).where(AuthorRow.platform == platform.strip().lower()))
        return [r.id for r in rows if r.handle.strip().lstrip("@").lower() == want]
