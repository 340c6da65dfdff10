"""Local matching: the Query object (parsed once, matched against every collected post) and `parse`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from listener.query.normal_form import (
    NF,
    Const,
    Lit,
    NAnd,
    Seq,
    anchored,
    nnf,
    positive_seqs,
)
from listener.query.syntax import (
    PLATFORM_ALIASES,
    TOKEN_RE,
    Field,
    Node,
    Token,
    make_parser,
    normalize,
    render,
    syntax_error,
)

if TYPE_CHECKING:
    from brandpulse.types import Mention




class _Post:
    """One post prepared for matching: tokens, word → positions, and the metadata fields."""

    __slots__ = ("author", "lang", "platform", "positions", "tokens")

    def __init__(self, norm_text: str, lang: str | None, author: str | None, platform: str | None) -> None:
        self.tokens: list[Token] = [(m.group(1) or "", m.group(2)) for m in TOKEN_RE.finditer(norm_text)]
        positions: dict[str, list[int]] = {}
        for i, (_, word) in enumerate(self.tokens):
            positions.setdefault(word, []).append(i)
        self.positions = positions
        self.lang = lang.strip().casefold() if lang and lang.strip() else None
        self.author = normalize(author).lstrip("@") if author else None
        p = platform.casefold() if platform else None
        self.platform = PLATFORM_ALIASES.get(p, p) if p else None


def _seq_matches(seq: Seq, post: _Post) -> bool:
    toks = seq.tokens
    first_word = toks[0][1]
    tokens = post.tokens
    n = len(tokens)
    for start in post.positions.get(first_word, ()):
        if start + len(toks) > n:
            break
        for k, (sigil, word) in enumerate(toks):
            t_sigil, t_word = tokens[start + k]
            if t_word != word or (sigil and t_sigil != sigil):
                break
        else:
            return True
    return False


def _field_matches(f: Field, post: _Post) -> bool:
    if f.name == "lang":
        lang = post.lang
        return lang is None or lang == f.value or lang.startswith(f.value + "-")
    if f.name == "from":
        author = post.author
        if author is None:
            return False
        return author == f.value or ("@" not in f.value and author.startswith(f.value + "@"))
    return post.platform == f.value


_Matcher = Callable[[_Post], bool]


def _compile_matcher(n: NF) -> _Matcher:
    if isinstance(n, Const):
        value = n.value
        return lambda post: value
    if isinstance(n, Lit):
        atom, neg = n.atom, n.neg
        if isinstance(atom, Seq):
            return lambda post: _seq_matches(atom, post) != neg
        return lambda post: _field_matches(atom, post) != neg
    subs = tuple(_compile_matcher(c) for c in n.items)
    if isinstance(n, NAnd):
        return lambda post: all(f(post) for f in subs)
    return lambda post: any(f(post) for f in subs)


# ---------------------------------------------------------------------------------------
# The Query object
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A parsed, validated query: compiled once for local matching, compiled per platform on demand.

    Build it with `parse(text)` (or `brand_query(cfg)`); equality is by AST.
    """

    source: str = field(compare=False)
    ast: Node
    _nf: NF = field(init=False, repr=False, compare=False)
    _match: _Matcher = field(init=False, repr=False, compare=False)
    _anchors: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        nf = nnf(self.ast, False, None)
        if not anchored(nf):
            raise syntax_error(
                "the query must contain a word, phrase, #hashtag or @handle to look for outside NOT "
                "(NOT / -term / lang: / from: / platform: alone would match almost every post)",
                self.source,
                0,
            )
        object.__setattr__(self, "_nf", nf)
        object.__setattr__(self, "_match", _compile_matcher(nf))
        anchors = sorted({seq.tokens[0][1] for seq in positive_seqs(nf)})
        object.__setattr__(self, "_anchors", tuple(anchors))

    @property
    def text(self) -> str:
        """The canonical form of the query in our syntax."""
        return render(self.ast)

    def __str__(self) -> str:
        return self.text

    def matches_text(
        self,
        text: str,
        lang: str | None = None,
        author_handle: str | None = None,
        platform: str | None = None,
    ) -> bool:
        """Does a post with this text (and language, author handle, platform) match?"""
        norm = normalize(text)
        # Cheap pre-check: a match needs some positive term, hence its first word, in the text.
        if not any(word in norm for word in self._anchors):
            return False
        return self._match(_Post(norm, lang, author_handle, platform))

    def matches(self, mention: Mention) -> bool:
        """Does this collected mention match? (the final filter for every collector)"""
        return self.matches_text(mention.text, mention.language, mention.author.handle, mention.platform)


def matches_text(
    query: Query | str,
    text: str,
    lang: str | None = None,
    author_handle: str | None = None,
    platform: str | None = None,
) -> bool:
    """Convenience: parse (if needed) and match one text. Prefer `parse` once + `Query.matches_text`."""
    q = parse(query) if isinstance(query, str) else query
    return q.matches_text(text, lang, author_handle, platform)


def parse(text: str) -> Query:
    """Parse and validate a query. Raises only `QuerySyntaxError` (with the position of the problem)."""
    parser = make_parser(text)
    ast = parser.parse()
    if len(parser.top_branches) > 1:
        for pos, branch in parser.top_branches:
            if not anchored(nnf(branch, False, None)):
                raise syntax_error(
                    "this OR alternative names nothing to look for, so it would match almost every post "
                    "(OR binds loosest: `a b OR c` means `(a b) OR c`; group alternatives in parentheses, "
                    "e.g. (lang:en OR lang:ru))",
                    text,
                    pos,
                )
    return Query(text, ast)
