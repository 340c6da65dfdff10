"""Making text from social posts inert in Slack mrkdwn, and cutting text to Slack's limits cleanly.

Slack's formatting docs ("Escaping text"): `&`, `<` and `>` are control characters and must be sent as `&amp;`,
`&lt;` and `&gt;`; Slack shows them as the characters. Once they are escaped, post text cannot form a special mention
(`<!channel>`, `<!here>`, `<@U…>`, `<!subteam^…>`) or a link with hidden target (`<https://evil.example|bank>`).

mrkdwn has no escape for its formatting characters, so in quoted post text they are replaced by look-alikes that
Slack does not interpret: `*` → `∗` (U+2217), `_` → `ˍ` (U+02CD), `~` → `∼` (U+223C), `` ` `` → `ˋ` (U+02CB); a `>` that
starts a line (a quote) becomes `›` (U+203A); `@channel`, `@here` and `@everyone` get a full-width `＠`. Bidirectional
overrides and other control characters (which can hide or reorder text) are removed.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

_MRKDWN = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_LINE_QUOTE = re.compile(r"^(\s*)>", re.MULTILINE)


def escape_text(text: str) -> str:
    """`&`, `<`, `>` as Slack documents (for any text we put in a mrkdwn field that we did not write)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _strip_controls(text: str) -> str:
    text = _BIDI.sub("", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf") or ch == "\u200d")


def inert(text: str) -> str:
    """Post text that can neither ping, link, nor format: controls removed, mrkdwn neutralised, then escaped."""
    text = _strip_controls(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _LINE_QUOTE.sub(lambda m: m.group(1) + "\u203a", text)
    text = _BROADCAST.sub(lambda m: "\uff20" + m.group(1), text)
    return escape_text(text.translate(_MRKDWN))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL usable inside `<url|label>`: `|`, `<`, `>` and spaces percent-encoded; anything else → None."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return escape_text(quote(url, safe=":/?#[]@!$&'()*+,;=%~-._"))


def link(url: str | None, label: str) -> str:
    """`<url|label>` with a label that cannot break out, or the bare label when the URL is unusable."""
    u = safe_url(url)
    lab = escape_text(label.replace("|", "¦").translate(_MRKDWN))
    return f"<{u}|{lab}>" if u else lab


def cut(text: str, limit: int, marker: str = "…") -> str:
    """At most `limit` characters: cut at a word (or line) boundary near the end, never inside an `&…;` entity."""
    if len(text) <= limit:
        return text
    room = limit - len(marker)
    head = text[:room]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    space = max(head.rfind(" "), head.rfind("\n"))
    if space >= room * 0.8:
        head = head[:space]
    return head.rstrip() + marker


def quote_block(text: str, limit: int) -> str:
    """Post text as an inert mrkdwn quote (`>` on every line) of at most `limit` characters."""
    body = inert(text).strip()
    lines = [ln for ln in body.split("\n")]
    quoted = "\n".join(">" + (" " + ln if ln else "") for ln in lines)
    if len(quoted) <= limit:
        return quoted
    # re-cut on the inert text so the marker and the quote prefixes still fit
    while len(quoted) > limit and body:
        body = cut(body, max(1, len(body) - (len(quoted) - limit) - 2))
        quoted = "\n".join(">" + (" " + ln if ln else "") for ln in body.split("\n"))
    return quoted[:limit]
