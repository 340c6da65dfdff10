"""Social handles in their many written forms (@name, NAME, profile URLs) reduced to one comparable key."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

#: host (without www./mobile.) → platform
_HOSTS = {
    "twitter.com": "x",
    "x.com": "x",
    "reddit.com": "reddit",
    "old.reddit.com": "reddit",
    "bsky.app": "bluesky",
    "news.ycombinator.com": "hackernews",
    "instagram.com": "instagram",
    "facebook.com": "facebook",
    "linkedin.com": "linkedin",
    "t.me": "telegram",
    "vk.com": "vk",
    "tiktok.com": "tiktok",
}
_URLISH = re.compile(r"^(https?://)?([a-z0-9-]+\.)+[a-z]{2,}(/|$)", re.I)


@lru_cache(maxsize=1 << 16)  # a pure function called for every account of every ranked or NPS-classed author
def normalise_handle(value: str, platform: str | None = None) -> tuple[str | None, str]:
    """(platform or None, handle) from '@Name', 'name', 'u/name', 'x:@Name' or a profile URL; the handle is lower case.

    >>> normalise_handle("https://twitter.com/Nimbus_Fan?lang=en")
    ('x', 'nimbus_fan')
    >>> normalise_handle("https://mastodon.social/@anna")
    ('mastodon', 'anna@mastodon.social')
    """
    v = value.strip()
    if not v:
        return platform, ""
    m = re.match(r"^([a-z]+):(?!//)(.+)$", v, re.I)
    if m and not _URLISH.match(v):
        platform, v = m.group(1).lower(), m.group(2).strip()
    if _URLISH.match(v) or v.lower().startswith(("http://", "https://")):
        return _from_url(v, platform)
    v = v.lstrip("@").lower()
    for prefix in ("u/", "/u/", "user/"):
        if v.startswith(prefix):
            v, platform = v[len(prefix):], platform or "reddit"
    if platform == "mastodon" and v.count("@") == 0:
        return platform, v
    return platform, v.strip("/")


def _from_url(v: str, platform: str | None) -> tuple[str | None, str]:
    if not v.lower().startswith(("http://", "https://")):
        v = "https://" + v
    parts = urlsplit(v)
    host = (parts.hostname or "").lower()
    for prefix in ("www.", "mobile.", "m."):
        if host.startswith(prefix):
            host = host[len(prefix):]
    segs = [s for s in parts.path.split("/") if s]
    if host in ("reddit.com", "old.reddit.com") and len(segs) >= 2 and segs[0] in ("u", "user"):
        return "reddit", segs[1].lower()
    if host == "bsky.app" and len(segs) >= 2 and segs[0] == "profile":
        return "bluesky", segs[1].lower()
    if host == "news.ycombinator.com":
        user = re.search(r"id=([^&]+)", parts.query or "")
        return "hackernews", (user.group(1).lower() if user else "")
    if segs and segs[0].startswith("@"):
        # Mastodon and other fediverse servers: https://server/@user
        return platform or "mastodon", f"{segs[0][1:].lower()}@{host}"
    if host in _HOSTS and segs:
        return _HOSTS[host], segs[0].lstrip("@").lower()
    return platform, (segs[0].lstrip("@").lower() if segs else host)


def handle_key(value: str, platform: str | None = None) -> str:
    """The platform-agnostic part used to compare: the handle without any server suffix for fediverse names."""
    _, h = normalise_handle(value, platform)
    return h


def listed(platform: str, handle: str, entries: list[str]) -> bool:
    """Whether (platform, handle) is in a list of 'handle' / 'platform:handle' / profile-URL entries."""
    want = normalise_handle(handle, platform)[1]
    for entry in entries:
        p, h = normalise_handle(entry)
        if h == want and (p is None or p == platform):
            return True
    return False


def profile_url(platform: str, handle: str) -> str | None:
    """The public profile address of an account, or None when the platform has no stable one."""
    h = handle.lstrip("@")
    if platform == "x":
        return f"https://x.com/{h}"
    if platform == "reddit":
        return f"https://www.reddit.com/user/{h}"
    if platform == "bluesky":
        return f"https://bsky.app/profile/{h}"
    if platform == "hackernews":
        return f"https://news.ycombinator.com/user?id={h}"
    if platform == "mastodon" and "@" in h:
        user, server = h.split("@", 1)
        return f"https://{server}/@{user}"
    return None


def profile_strings(value: Any) -> list[str]:
    """Every string written anywhere in a stored profile (bio, url, links …), nested dicts and lists walked."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for v in value for s in profile_strings(v)]
    return []
