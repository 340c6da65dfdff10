"""Compiling a query for a platform's own search: the shared lowering machinery and the dialect registry.

Each platform's dialect (how its search syntax is rendered) lives beside its collector (``listener/x.py``,
``listener/reddit.py``, …) as a `Dialect`, set as the collector class's ``dialect`` attribute. The
compiler finds it through the collector registry (entry-point group ``brandpulse.collectors``), so a
new platform is one module plus its entry point; nothing here names a platform.

The rule for every dialect: **the server-side search must be a superset of the local filter**.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Any

from listener.query.matching import Query, parse
from listener.query.normal_form import (
    FALSE,
    NF,
    TRUE,
    Conj,
    Const,
    Lit,
    NAnd,
    NOr,
    Seq,
    anchored,
    has_positive,
    make,
    nnf,
    plain,
)
from listener.query.syntax import PLATFORM_ALIASES, Field

#: Most conjunctive queries a platform without OR gets from expanding ANDs of ORs.
MAX_EXPANDED_QUERIES = 32

#: A dialect's compiler: (the normal form, the lowering notes) → (one search string, the searches to run).
DialectCompile = Callable[[NF, "Lowering"], tuple[str | None, list[str]]]


@dataclass(frozen=True)
class Dialect:
    """A platform's search syntax: `compile` renders a query's normal form for it.

    `explain_all`: ``explain`` shows every search of the platform (a list), not the one string.
    """

    platform: str
    compile: DialectCompile
    explain_all: bool = False


@dataclass(frozen=True)
class CompiledQuery:
    """What to send to one platform's search.

    `query` is the single search string (`compile_for`); `queries` the searches to run for
    the most precise result on platforms without a usable OR (run each, merge the results);
    for X and Reddit both hold the one query. Both are None when the platform has no
    server-side search (filter locally only), and ``query`` is None / ``queries`` empty when
    the query excludes the platform (e.g. ``platform:reddit`` compiled for X). Every form is
    a superset of the local matches. `exact` is True when `queries` select exactly what the
    local filter accepts (as far as our model of the platform goes); `notes` says what was
    widened or dropped.
    """

    platform: str
    query: str | None
    queries: tuple[str, ...] | None
    exact: bool
    notes: tuple[str, ...] = ()


class Lowering:
    """Shared machinery: rewrite literals a platform can't express into broader forms."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.notes: list[str] = []
        self.exact = True

    def widen(self, note: str) -> None:
        self.exact = False
        if note not in self.notes:
            self.notes.append(note)

    def as_plain_words(self, n: Lit, name: str) -> NF:
        """`n` (a #tag, @handle or $cashtag) searched as its plain words on `name`, which can't express it."""
        assert isinstance(n.atom, Seq)
        self.widen(f"{word_or_phrase(n.atom)}: searched as plain words on {name}")
        return Lit(plain(n.atom))

    def lower(self, n: NF, lit: Callable[[Lit], NF]) -> NF:
        if isinstance(n, Lit):
            return lit(n)
        if isinstance(n, NAnd | NOr):
            return make(type(n), [self.lower(c, lit) for c in n.items])
        return n

    def drop_negative_ors(self, n: NF) -> NF:
        """Replace each OR with a purely negative branch (``-a OR b``) by TRUE.

        X rejects negations that stand alone and Lucene gives ``(NOT a OR b)`` another meaning;
        TRUE is always a superset, and the query stays bounded by its anchored parts.
        """
        if isinstance(n, NOr):
            if not all(has_positive(c) for c in n.items):
                self.widen("an OR with a purely negative alternative is searched as if it were absent")
                return TRUE
            return make(NOr, [self.drop_negative_ors(c) for c in n.items])
        if isinstance(n, NAnd):
            return make(NAnd, [self.drop_negative_ors(c) for c in n.items])
        return n


def seq_text(seq: Seq) -> str:
    return " ".join(s + w for s, w in seq.tokens)


def is_accented(seq: Seq) -> bool:
    return any(unicodedata.normalize("NFD", w) != w for _, w in seq.tokens)



def positives_first(n: NAnd) -> list[NF]:
    """AND-ed items with negated literals last (readable, and no platform starts on a negation)."""
    return sorted(n.items, key=lambda c: isinstance(c, Lit) and c.neg)


def lower_positive_only(nf: NF, low: Lowering, name: str, keep_from: Callable[[str], bool] | None = None) -> NF:
    """For search engines without OR: keep positive text (as plain words) and maybe positive from:.

    `name` is the platform as the notes call it ("Hacker News").
    """

    def lit(n: Lit) -> NF:
        atom = n.atom
        if isinstance(atom, Field):
            if atom.name == "from" and not n.neg and keep_from is not None and keep_from(atom.value):
                return n
            low.widen(f"{'-' if n.neg else ''}{atom.name}:{atom.value} is applied locally ({name} search can't)")
            return TRUE
        if n.neg:
            low.widen(f"-{word_or_phrase(atom)}: exclusions are applied locally ({name} search stems/folds words)")
            return TRUE
        return low.as_plain_words(n, name) if any(s for s, _ in atom.tokens) else n

    return low.lower(nf, lit)


def dnf(n: NF, low: Lowering) -> list[Conj]:
    """OR of ANDs of literals, at most MAX_EXPANDED_QUERIES from expanding ANDs (dropping is a superset)."""
    if isinstance(n, Const):
        return [frozenset()] if n.value else []
    if isinstance(n, Lit):
        return [frozenset({n})]
    if isinstance(n, NOr):
        return absorb([c for item in n.items for c in dnf(item, low)])
    parts = [(anchored(c), dnf(c, low)) for c in n.items]
    # The smallest anchored part first (it keeps every query bounded), then the others, smallest first.
    bounded = sorted((p for p in parts if p[0]), key=lambda p: len(p[1]))
    others = sorted((p for p in parts if not p[0]), key=lambda p: len(p[1]))
    result: list[Conj] = [frozenset()]
    for i, (_, alternatives) in enumerate(bounded[:1] + bounded[1:] + others):
        if i > 0 and len(result) * len(alternatives) > MAX_EXPANDED_QUERIES:
            low.widen("some AND-ed alternatives were left out of the server-side searches (too many combinations)")
            continue
        result = absorb([a | b for a, b in product(result, alternatives)])
    return result


def absorb(conjs: list[Conj]) -> list[Conj]:
    """Drop duplicates and any conjunction implied by a smaller one (A ⊂ B: B's matches are A's)."""
    unique = list(dict.fromkeys(conjs))
    return [c for c in unique if not any(o < c for o in unique)]


def conj_seqs(conj: Conj) -> list[Seq]:
    return sorted((lit.atom for lit in conj if isinstance(lit.atom, Seq)), key=seq_text)


def word_or_phrase(seq: Seq) -> str:
    text = seq_text(seq)
    return f'"{text}"' if len(seq.tokens) > 1 else text


def prepare(query: Query | str) -> Query:
    return parse(query) if isinstance(query, str) else query


def selectivity(seq: Seq) -> tuple[int, int]:
    """Prefer the clause that selects least: more tokens, then longer text."""
    return (len(seq.tokens), len(seq_text(seq)))


# ---------------------------------------------------------------------------------------
# The registry: a platform's dialect is its collector's ``dialect`` attribute
# ---------------------------------------------------------------------------------------


def collector_platforms() -> list[str]:
    """The registered collectors that are platforms (they declare a search `dialect`, even None), in entry-point order."""
    from listener.registry import registry

    return [name for name, cls in registry().items() if isinstance(cls, type) and hasattr(cls, "dialect")]


@cache
def dialect(platform: str) -> Dialect | None:
    """`platform`'s search dialect, None when it has no server-side search (or no collector)."""
    from listener.registry import registry

    found: Any = registry().get(platform)
    value = getattr(found, "dialect", None)
    return value if isinstance(value, Dialect) else None


def compile_details(query: Query | str, platform: str) -> CompiledQuery:
    """Compile `query` for `platform` ('x', 'reddit', 'mastodon', 'bluesky', 'hackernews', 'rss', …).

    Platforms without a dialect (no server-side search, or unknown) get ``query=queries=None``.
    """
    q = prepare(query)
    plat = PLATFORM_ALIASES.get(platform.lower(), platform.lower())
    found = dialect(plat)
    if found is None:
        return CompiledQuery(plat, None, None, False, ("no server-side search: every post is filtered locally",))
    normal = nnf(q.ast, False, plat)
    if normal == FALSE:
        return CompiledQuery(plat, None, (), True, (f"the query never matches posts from {plat}",))
    low = Lowering(plat)
    single, queries = found.compile(normal, low)
    if len(queries) > 1:
        low.notes.append(f"{len(queries)} searches: run each and merge the results")
    return CompiledQuery(plat, single, tuple(queries), low.exact, tuple(low.notes))


def compile_for(query: Query | str, platform: str) -> str | None:
    """The platform's native search string for `query` (always a superset of the local matches).

    None when the platform has no server-side search (``rss``, ``replay``, unknown platforms)
    or when the query excludes the platform. See each platform module's dialect for its syntax.
    """
    return compile_details(query, platform).query


def compile_queries(query: Query | str, platform: str) -> list[str]:
    """The searches to run on `platform` whose union covers the query (tighter than `compile_for` where
    the platform has no usable OR); empty when it has no server-side search or the query excludes it."""
    return list(compile_details(query, platform).queries or ())


def explain(query: Query | str) -> dict[str, str | list[str] | None]:
    """What each platform's collector sends for `query` (for ``brandpulse query test``).

    One string per platform (`compile_for`), the list of searches where the dialect runs several
    (`Dialect.explain_all`), None where the platform is filtered locally only.
    """
    q = prepare(query)
    out: dict[str, str | list[str] | None] = {}
    for platform in collector_platforms():
        found = dialect(platform)
        out[platform] = compile_queries(q, platform) if found is not None and found.explain_all else compile_for(q, platform)
    return out
