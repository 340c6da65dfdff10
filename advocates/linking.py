"""Linking authors to CRM contacts: exact handles, e-mail / website in the profile, then a fuzzy, script-aware name.

Confidence per signal (combined as 1 − Π(1 − c) when several point at one contact):

* handle on the same platform (after normalising @, case and profile URLs) ........ 0.99
* handle the CRM holds without a platform ........................................ 0.93
* e-mail address written in the author's profile ................................ 0.98
* website (domain) in the profile equal to the contact's website .................. 0.90
* fuzzy name (rapidfuzz token-sort on transliterated, folded names) .............. 0.60 – 0.85

A name alone never reaches the default automatic threshold (0.90): namesakes are common, so a name match is
proposed and waits for a person. A signal that fits several contacts (a shared handle, a company website, a name
two contacts share) is ambiguous and is proposed for each, never linked automatically.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rapidfuzz import fuzz, process
from sqlalchemy import Engine

from advocates.config import AdvocatesConfig
from advocates.handles import normalise_handle, profile_strings
from advocates.translit import fold
from brandpulse.store.contacts import Contact, Link, author_link_inputs, list_contacts, save_matches

HANDLE_SAME_PLATFORM = 0.99
HANDLE_ANY_PLATFORM = 0.93
EMAIL = 0.98
WEBSITE = 0.90
NAME_MIN, NAME_MAX = 0.60, 0.85
AMBIGUOUS = 0.75
NAME_CUTOFF = 86.0

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_URL = re.compile(r"(?:https?://)?(?:www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})(?:/\S*)?", re.I)
#: hosts that say nothing about who someone is (social sites, link pages, mail providers)
_GENERIC_HOSTS = {"twitter.com", "x.com", "t.co", "reddit.com", "bsky.app", "mastodon.social", "linktr.ee",
                  "instagram.com", "facebook.com", "linkedin.com", "youtube.com", "github.com", "gmail.com",
                  "t.me", "vk.com", "tiktok.com", "medium.com", "substack.com", "yandex.ru", "mail.ru"}


@dataclass(frozen=True)
class AuthorInput:
    id: int
    platform: str
    handle: str
    display_name: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)


def _profile_text(profile: dict[str, Any]) -> str:
    return " ".join(profile_strings(profile))


def domain(value: str) -> str | None:
    v = value.strip().lower()
    if not v:
        return None
    if "@" in v and "/" not in v:
        v = v.rsplit("@", 1)[1]
    host = urlsplit(v if "://" in v else "https://" + v).hostname or ""
    host = host[4:] if host.startswith("www.") else host
    return host or None


def profile_emails(profile: dict[str, Any]) -> set[str]:
    return {e.lower() for e in _EMAIL.findall(_profile_text(profile))}


def profile_domains(profile: dict[str, Any]) -> set[str]:
    text = _EMAIL.sub(" ", _profile_text(profile))
    return {d for d in (m.lower() for m in _URL.findall(text)) if d not in _GENERIC_HOSTS}


class ContactIndex:
    """Contacts indexed by normalised handle, e-mail, website domain and folded name."""

    def __init__(self, contacts: Sequence[Contact]) -> None:
        self.contacts = list(contacts)
        self.by_handle: dict[tuple[str | None, str], set[int]] = defaultdict(set)
        self.by_email: dict[str, set[int]] = defaultdict(set)
        self.by_domain: dict[str, set[int]] = defaultdict(set)
        self.names: list[str] = []
        self.name_owner: list[int] = []
        for i, c in enumerate(self.contacts):
            for platform, value in (c.handles or {}).items():
                if not value:
                    continue
                p, h = normalise_handle(str(value), None if platform in ("any", "") else platform)
                if h:
                    self.by_handle[(p, h)].add(i)
            if c.email:
                self.by_email[c.email.strip().lower()].add(i)
            d = domain(c.website or "")
            if d and d not in _GENERIC_HOSTS:
                self.by_domain[d].add(i)
            if c.name and c.name.strip():
                self.names.append(fold(c.name))
                self.name_owner.append(i)


def _signals(a: AuthorInput, ix: ContactIndex) -> dict[int, dict[str, float]]:
    found: dict[int, dict[str, float]] = defaultdict(dict)

    def add(hits: Iterable[int], method: str, conf: float) -> None:
        hits = list(hits)
        for i in hits:
            c = conf if len(hits) == 1 else min(conf, AMBIGUOUS)
            found[i][method] = max(found[i].get(method, 0.0), c)

    _, h = normalise_handle(a.handle, a.platform)
    add(ix.by_handle.get((a.platform, h), ()), "handle", HANDLE_SAME_PLATFORM)
    add(ix.by_handle.get((None, h), ()), "handle", HANDLE_ANY_PLATFORM)
    for e in profile_emails(a.profile):
        add(ix.by_email.get(e, ()), "email", EMAIL)
    for d in profile_domains(a.profile):
        add(ix.by_domain.get(d, ()), "website", WEBSITE)
    if a.display_name and ix.names:
        q = fold(a.display_name)
        if len(q) >= 5 and " " in q:
            hits = process.extract(q, ix.names, scorer=fuzz.token_sort_ratio, score_cutoff=NAME_CUTOFF, limit=5)
            if hits:
                best = hits[0][1]
                close = [ix.name_owner[j] for _, s, j in hits if s >= best - 3]
                conf = NAME_MIN + (NAME_MAX - NAME_MIN) * (best - NAME_CUTOFF) / (100 - NAME_CUTOFF)
                add(close, "name", conf)
    return found


def match_author(a: AuthorInput, ix: ContactIndex, cfg: AdvocatesConfig) -> list[Link]:
    """The author's candidate links: the best one (auto or proposed), or every candidate when they conflict."""
    found = _signals(a, ix)
    scored: list[tuple[float, str, int]] = []
    for i, methods in found.items():
        miss = 1.0
        for c in methods.values():
            miss *= 1 - c
        scored.append((min(0.995, 1 - miss), "+".join(sorted(methods)), i))
    scored.sort(key=lambda t: (-t[0], t[2]))
    scored = [t for t in scored if t[0] >= cfg.propose_threshold]
    if not scored:
        return []
    top = scored[0]
    rivals = [t for t in scored[1:] if t[0] >= WEBSITE or t[0] >= top[0] - 0.05]
    links = []
    for conf, method, i in [top, *rivals]:
        conf = round(min(conf, AMBIGUOUS) if rivals else conf, 4)
        status = "auto" if conf >= cfg.auto_threshold else "proposed"
        links.append(Link(a.id, ix.contacts[i].id or i, method, conf, status))
    return links


def match_all(authors: Sequence[AuthorInput], contacts: Sequence[Contact], cfg: AdvocatesConfig) -> list[Link]:
    ix = ContactIndex(contacts)
    return [link for a in authors for link in match_author(a, ix, cfg)]


def link_authors(engine: Engine, cfg: AdvocatesConfig) -> dict[str, int]:
    """Match every stored author against the stored contacts and save the links (decisions are kept)."""
    authors = [AuthorInput(r["id"], r["platform"], r["handle"], r["display_name"], r["profile"])
               for r in author_link_inputs(engine)]
    contacts = list_contacts(engine)
    return save_matches(engine, match_all(authors, contacts, cfg))
