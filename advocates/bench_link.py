"""`brandpulse bench link`: linking precision and recall on a generated, realistic author × contact set.

The set (seeded, so runs repeat): contacts with Latin and Cyrillic names, handles written as @name, NAME, profile
URLs or with no platform, e-mails and websites often missing, a few namesakes inside the CRM; authors that are
contacts (same handle, or only a transliterated / typo'd / missing display name, sometimes an e-mail or website in
the bio) and authors that are not (strangers and namesakes of contacts). The matcher's automatic links are scored
against the truth next to a naive exact-name match in the same run.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from advocates.config import AdvocatesConfig
from advocates.linking import AuthorInput, match_all
from brandpulse.store.contacts import Contact

_LAT_FIRST = ["Anna", "Maria", "John", "Emily", "Michael", "Sarah", "David", "Laura", "James", "Olivia", "Peter",
              "Sophie", "Thomas", "Julia", "Daniel", "Emma", "Lucas", "Mia", "Noah", "Chloe", "Liam", "Grace", "Ethan",
              "Hannah", "Oscar", "Ella", "Jack", "Alice", "Leo", "Ruby"]
_LAT_LAST = ["Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Anderson", "Thomas", "Jackson",
             "White", "Harris", "Martin", "Thompson", "Garcia", "Clark", "Lewis", "Walker", "Young", "Allen", "King",
             "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts",
             "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris"]
_CYR_FIRST = ["Олександр", "Юлія", "Дмитро", "Наталія", "Андрій", "Олена", "Сергій", "Ірина", "Михайло", "Тетяна",
              "Алексей", "Екатерина", "Владимир", "Анастасия", "Николай", "Ксения", "Юрий", "Евгения", "Максим",
              "Людмила", "Богдан", "Ярослава", "Игорь", "Светлана", "Василий", "Жанна"]
_CYR_LAST = ["Коваленко", "Шевченко", "Бондаренко", "Ткаченко", "Кравченко", "Олійник", "Мельник", "Поліщук",
             "Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозов",
             "Петренко", "Щербаков", "Захарченко", "Яковлев", "Юрченко", "Хмельницький", "Цветкова", "Жукова",
             "Чорновол", "Гончаренко", "Федоров", "Михайлов", "Ковальчук"]
#: Cyrillic → the romanisations people actually use
_VARIANTS: dict[str, list[str]] = {
    "а": ["a"], "б": ["b"], "в": ["v", "w"], "г": ["g", "h"], "ґ": ["g"], "д": ["d"], "е": ["e"], "є": ["ye", "ie"],
    "ж": ["zh"], "з": ["z"], "и": ["i", "y"], "і": ["i"], "ї": ["yi", "i"], "й": ["y", "i", "j"], "к": ["k"],
    "л": ["l"], "м": ["m"], "н": ["n"], "о": ["o"], "п": ["p"], "р": ["r"], "с": ["s"], "т": ["t"], "у": ["u"],
    "ф": ["f"], "х": ["kh", "h"], "ц": ["ts", "tz", "c"], "ч": ["ch"], "ш": ["sh"], "щ": ["shch", "sch"], "ь": [""],
    "ъ": [""], "ы": ["y"], "э": ["e"], "ю": ["yu", "iu", "ju"], "я": ["ya", "ia", "ja"], "ё": ["e", "yo"],
}
_PLATFORMS = ["x", "mastodon", "bluesky", "reddit"]
_MAIL = ["gmail.com", "example.org", "mail.ru", "ukr.net", "outlook.com", "proton.me"]


def _romanise(name: str, rng: random.Random) -> str:
    out = []
    for ch in name:
        low = ch.lower()
        if low in _VARIANTS:
            v = rng.choice(_VARIANTS[low])
            out.append(v.capitalize() if ch.isupper() else v)
        else:
            out.append(ch)
    return "".join(out)


def _typo(name: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 4:
        return name
    i = rng.choice(letters[1:])
    op = rng.choice(("drop", "swap", "double"))
    if op == "drop":
        return name[:i] + name[i + 1 :]
    if op == "swap" and i + 1 < len(name):
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + name[i] + name[i:]


def _slug(name: str, rng: random.Random) -> str:
    lat = _romanise(name, rng).lower()
    parts = "".join(c if c.isalnum() else " " for c in lat).split()
    sep = rng.choice(["_", ".", "", "_"])
    base = sep.join(parts) if rng.random() < 0.6 else parts[0][0] + parts[-1]
    return base + (str(rng.randint(1, 999)) if rng.random() < 0.5 else "")


def _handle_form(platform: str, handle: str, rng: random.Random) -> tuple[str, str]:
    """(contact field, value) for how a CRM might hold the account."""
    key = "any" if rng.random() < 0.15 else platform
    if platform == "x":
        value = rng.choice([f"@{handle}", handle, handle.upper(), f"https://twitter.com/{handle}",
                            f"x.com/{handle}", f"https://x.com/{handle.capitalize()}?s=20"])
    elif platform == "mastodon":
        user, server = handle.split("@")
        value = rng.choice([f"@{handle}", f"https://{server}/@{user}", handle])
    elif platform == "bluesky":
        value = rng.choice([handle, f"@{handle}", f"https://bsky.app/profile/{handle}"])
    else:
        value = rng.choice([f"u/{handle}", f"https://www.reddit.com/user/{handle}/", handle])
    if key == "any" and value.startswith(("@", "u/")) is False and "://" not in value and "." not in value:
        value = "@" + value
    return key, value


def _platform_handle(platform: str, slug: str, rng: random.Random) -> str:
    if platform == "mastodon":
        return f"{slug}@{rng.choice(['mastodon.social', 'fosstodon.org', 'mas.to'])}"
    if platform == "bluesky":
        return f"{slug.replace('_', '-')}.bsky.social"
    return slug


@dataclass
class LinkSet:
    authors: list[AuthorInput]
    contacts: list[Contact]
    truth: dict[int, int]  # author id → contact id (authors not in the CRM are absent)


def _person(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(_CYR_FIRST)} {rng.choice(_CYR_LAST)}"
    return f"{rng.choice(_LAT_FIRST)} {rng.choice(_LAT_LAST)}"


def generate(n_authors: int = 2000, n_contacts: int = 5000, seed: int = 13) -> LinkSet:
    rng = random.Random(seed)
    contacts: list[Contact] = []
    accounts: list[tuple[str, str] | None] = []
    used: set[str] = set()
    for cid in range(1, n_contacts + 1):
        name = _person(rng)
        slug = _slug(name, rng)
        while slug in used:
            slug += str(rng.randint(0, 9))
        used.add(slug)
        handles: dict[str, str] = {}
        account = None
        if rng.random() < 0.55:
            platform = rng.choice(_PLATFORMS)
            handle = _platform_handle(platform, slug, rng)
            key, value = _handle_form(platform, handle, rng)
            handles[key] = value
            account = (platform, handle)
        email = f"{slug.replace('_', '.')}@{rng.choice(_MAIL)}" if rng.random() < 0.7 else None
        website = f"https://{slug.replace('_', '')}.dev" if rng.random() < 0.1 else None
        shown = name if rng.random() < 0.7 else _romanise(name, rng)
        contacts.append(Contact("bench", f"C{cid}", shown, email, website, None, handles, id=cid))
        accounts.append(account)
    authors: list[AuthorInput] = []
    truth: dict[int, int] = {}
    members = rng.sample(range(n_contacts), int(n_authors * 0.6))
    for aid, ci in enumerate(members, 1):
        c = contacts[ci]
        acc = accounts[ci]
        if acc is not None and rng.random() < 0.8:
            platform, handle = acc
            handle = handle if rng.random() < 0.7 else handle.capitalize()
        else:
            platform = rng.choice(_PLATFORMS)
            handle = _platform_handle(platform, _slug(c.name or "x y", rng) + "x", rng)
        r = rng.random()
        name = c.name or ""
        display: str | None = (name if r < 0.35 else _romanise(name, rng) if r < 0.6 else _typo(name, rng) if r < 0.8
                               else None)
        profile: dict[str, Any] = {}
        if c.email and rng.random() < 0.15:
            profile["description"] = f"Reach me at {c.email.upper() if rng.random() < 0.3 else c.email}"
        if c.website and rng.random() < 0.5:
            profile["url"] = c.website
        authors.append(AuthorInput(aid, platform, handle, display, profile))
        truth[aid] = c.id
    aid = len(authors)
    while len(authors) < n_authors:
        aid += 1
        platform = rng.choice(_PLATFORMS)
        namesake = rng.random() < 0.4  # a namesake of a contact: same name, another person
        name = (rng.choice(contacts).name or _person(rng)) if namesake else _person(rng)
        slug = _slug(name, rng) + "z"
        while slug in used:
            slug += str(rng.randint(0, 9))
        used.add(slug)
        display = name if rng.random() < 0.8 else _romanise(name, rng)
        authors.append(AuthorInput(aid, platform, _platform_handle(platform, slug, rng), display, {}))
    rng.shuffle(authors)
    return LinkSet(authors, contacts, truth)


def _pr(pred: dict[int, int], truth: dict[int, int]) -> tuple[float, float]:
    correct = sum(1 for a, c in pred.items() if truth.get(a) == c)
    precision = correct / len(pred) if pred else 1.0
    recall = correct / len(truth) if truth else 0.0
    return round(precision, 4), round(recall, 4)


def naive_exact_name(ls: LinkSet) -> dict[int, int]:
    by_name: dict[str, int] = {}
    for c in ls.contacts:
        if c.name:
            by_name.setdefault(c.name.strip().lower(), c.id)
    return {a.id: by_name[a.display_name.strip().lower()] for a in ls.authors
            if a.display_name and a.display_name.strip().lower() in by_name}


def bench_link(n_authors: int = 2000, n_contacts: int = 5000, seed: int = 13,
               cfg: AdvocatesConfig | None = None) -> dict[str, Any]:
    """Precision / recall of automatic links (and of auto + proposed), next to the naive exact-name match."""
    cfg = cfg or AdvocatesConfig()
    ls = generate(n_authors, n_contacts, seed)
    t0 = time.perf_counter()
    links = match_all(ls.authors, ls.contacts, cfg)
    seconds = time.perf_counter() - t0
    auto = {lk.author_id: lk.contact_id for lk in links if lk.status == "auto"}
    best: dict[int, tuple[float, int]] = {}
    for lk in links:
        if lk.author_id not in best or lk.confidence > best[lk.author_id][0]:
            best[lk.author_id] = (lk.confidence, lk.contact_id)
    any_link = {a: c for a, (_, c) in best.items()}
    p, r = _pr(auto, ls.truth)
    pp, pr_ = _pr(any_link, ls.truth)
    np_, nr = _pr(naive_exact_name(ls), ls.truth)
    return {
        "authors": len(ls.authors), "contacts": len(ls.contacts), "true_pairs": len(ls.truth),
        "auto_threshold": cfg.auto_threshold, "precision": p, "recall": r, "auto_links": len(auto),
        "proposed_included_precision": pp, "proposed_included_recall": pr_,
        "proposed": sum(1 for lk in links if lk.status == "proposed"),
        "naive_exact_name_precision": np_, "naive_exact_name_recall": nr, "seconds": round(seconds, 2),
    }
