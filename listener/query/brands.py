"""A brand's query from its config: its own `query`, or one built from its name, keywords, handles and languages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brandpulse.errors import QuerySyntaxError
from listener.query.matching import Query, parse
from listener.query.syntax import HANDLE_RE, LANG_RE, normalize, quote, term_renders_as_term, tokenize

if TYPE_CHECKING:
    from brandpulse.config import BrandConfig


def brand_query(brand_cfg: BrandConfig | Any) -> Query:
    """The query for a brand: its `query` if set; otherwise any of its name/keywords (as phrases)
    or a mention of one of its handles, excluding posts from its own handles, in its languages.
    """
    if brand_cfg.query:
        return parse(brand_cfg.query)
    names = list(dict.fromkeys(n.strip() for n in [brand_cfg.name, *brand_cfg.keywords] if n and n.strip()))
    alternatives = [quote(n) for n in names if tokenize(n)]
    handles = list(dict.fromkeys(h.strip().lstrip("@") for h in brand_cfg.handles if h and h.strip().lstrip("@")))
    alternatives += [f"@{h}" for h in handles if term_renders_as_term("@" + h)]
    if not alternatives:
        raise QuerySyntaxError(
            f"brand {brand_cfg.name!r} has no name, keyword or handle with letters or digits to look for",
            brand_cfg.name,
            0,
        )
    parts = ["(" + " OR ".join(alternatives) + ")"]
    parts += [f"-from:{h}" for h in handles if HANDLE_RE.fullmatch(normalize(h))]
    langs = [lang.lower() for lang in brand_cfg.languages if LANG_RE.fullmatch(lang.lower())]
    if langs:
        parts.append("(" + " OR ".join(f"lang:{lang}" for lang in dict.fromkeys(langs)) + ")")
    return parse(" ".join(parts))
