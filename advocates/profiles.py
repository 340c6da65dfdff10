"""Author profiles aggregated from stored mentions and scores; one person's accounts merged when a link ties them.

Accounts are merged when they share a confirmed CRM contact, or when one account's stored profile lists the
other's profile URL (an exact profile link).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from advocates.handles import normalise_handle, profile_strings
from brandpulse.store.authors import AuthorInfo, AuthorMention, author_mentions, authors_by_id


@dataclass
class AuthorProfile:
    """One person as seen across platforms, for the period and brands it was built for."""

    key: str
    author_ids: list[int]
    accounts: list[str]  # "platform:handle"
    display_name: str | None
    followers: int
    contact_id: int | None
    link_status: str | None
    mentions: list[AuthorMention] = field(default_factory=list)

    def brand_mentions(self, brand: str) -> list[AuthorMention]:
        return [m for m in self.mentions if m.brand == brand]

    @property
    def mentions_by_brand(self) -> dict[str, int]:
        return dict(Counter(m.brand or "" for m in self.mentions))

    @property
    def sentiment_counts(self) -> dict[str, int]:
        c = Counter(m.label for m in self.mentions)
        return {k: c.get(k, 0) for k in ("positive", "neutral", "negative")}

    @property
    def engagement(self) -> int:
        return sum(m.likes + m.reposts + m.replies for m in self.mentions)

    @property
    def first_seen(self) -> datetime | None:
        return min((m.created_at for m in self.mentions), default=None)

    @property
    def last_seen(self) -> datetime | None:
        return max((m.created_at for m in self.mentions), default=None)

    @property
    def languages(self) -> list[str]:
        return sorted({m.lang for m in self.mentions if m.lang})

    @property
    def platforms(self) -> list[str]:
        return sorted({a.split(":", 1)[0] for a in self.accounts})


_LINK = re.compile(r"(?:https?://)?(?:www\.|mobile\.)?(?:x\.com|twitter\.com|bsky\.app|reddit\.com|[a-z0-9.-]+\.[a-z]{2,}/@)[^\s,;]*",
                   re.I)


def _profile_links(profile: dict[str, Any] | None) -> Iterable[str]:
    """Profile URLs written anywhere in the stored profile (bio, url, links …)."""
    if not profile:
        return []
    texts = profile_strings(profile)
    return [m.group(0).rstrip(").") for t in texts for m in _LINK.finditer(t)]


def merge_groups(authors: dict[int, AuthorInfo]) -> list[list[int]]:
    """Author ids grouped into people: same confirmed contact, or an exact profile link between the accounts."""
    parent = {a: a for a in authors}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_contact: dict[int, int] = {}
    by_account = {(a.platform, a.handle.lower().lstrip("@")): a.id for a in authors.values()}
    for a in authors.values():
        if a.contact_id is not None and a.link_status == "confirmed":
            if a.contact_id in by_contact:
                union(a.id, by_contact[a.contact_id])
            else:
                by_contact[a.contact_id] = a.id
        for link in _profile_links(a.profile):
            p, h = normalise_handle(link)
            if p and (p, h) in by_account:
                union(a.id, by_account[(p, h)])
    groups: dict[int, list[int]] = defaultdict(list)
    for a_id in authors:
        groups[find(a_id)].append(a_id)
    return [sorted(g) for g in groups.values()]


def build_profiles(
    engine: Engine,
    model_key: str,
    *,
    brands: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuthorProfile]:
    """Profiles of every author with a scored mention of `brands` in [since, until)."""
    rows = author_mentions(engine, model_key, brands=brands, since=since, until=until)
    by_author: dict[int, list[AuthorMention]] = defaultdict(list)
    for r in rows:
        by_author[r.author_id].append(r)
    authors = authors_by_id(engine, sorted(by_author)) if by_author else {}
    profiles: list[AuthorProfile] = []
    for group in merge_groups(authors):
        infos = [authors[i] for i in group]
        main = max(infos, key=lambda a: (a.followers or 0, -a.id))
        linked = next((a for a in infos if a.link_status == "confirmed"), None) or next(
            (a for a in infos if a.contact_id is not None), None)
        ms = sorted((m for i in group for m in by_author[i]), key=lambda m: (m.created_at, m.mention_id))
        followers = max((a.followers or 0 for a in infos), default=0)
        followers = max([followers] + [m.followers or 0 for m in ms])
        profiles.append(AuthorProfile(
            key=f"{main.platform}:{main.handle}",
            author_ids=group,
            accounts=[f"{a.platform}:{a.handle}" for a in infos],
            display_name=main.display_name or next((a.display_name for a in infos if a.display_name), None),
            followers=followers,
            contact_id=linked.contact_id if linked else None,
            link_status=linked.link_status if linked else None,
            mentions=ms,
        ))
    profiles.sort(key=lambda p: p.key)
    return profiles
