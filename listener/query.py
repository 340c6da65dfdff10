"""The brand query language: parse once, match every collected post locally, compile per platform.

A PR team writes one query per brand, e.g.::

    ("Acme" OR @acme OR #acme) NOT "acme corp jobs" (lang:en OR lang:ru) -from:acme

Syntax
------

=====================  ==================================================================
``acme``               a word; matches the word, the hashtag ``#acme``, the handle ``@acme``
                       and the cashtag ``$acme`` (case-insensitive, on token boundaries, so
                       it matches "Acme's phone" but not "acmeville")
``#acme``              only the hashtag ``#acme``
``@acme``              only the handle/mention ``@acme``
``$acme``              only the cashtag ``$acme``
``"acme phone"``       a phrase: these tokens next to each other, in this order
                       (``\\"`` and ``\\\\`` escape a quote/backslash inside)
``a b`` / ``a AND b``  both (AND is implicit between adjacent items)
``a OR b``             either
``NOT a`` / ``-a``     not (``-`` must touch what it negates: ``-a``, ``-"x y"``, ``-(…)``)
``( … )``              grouping
``lang:en``            the post's language is ``en`` (or ``en-…``); a post whose language is
                       unknown (None) satisfies every ``lang:`` filter
``from:acme``          written by the account ``acme`` (``author:`` is an alias; a leading
                       ``@`` is ignored; ``from:acme`` also matches the Mastodon account
                       ``acme@any.domain``); ``-from:acme`` excludes the brand's own posts
``platform:reddit``    the post comes from this platform (``twitter`` → ``x``, ``hn`` →
                       ``hackernews``)
=====================  ==================================================================

Precedence: NOT > AND > OR, so ``a OR b c`` is ``a OR (b AND c)``. Keywords are upper case
only (``or`` is a word). Text is compared after NFKC normalisation and case folding
(``"НІМБУС"`` matches ``німбус``); a *token* is a run of letters/digits/underscore (and
combining marks) optionally preceded by ``#``, ``@`` or ``$``. Punctuation inside a term
separates tokens, so ``acme-corp`` behaves like the phrase ``"acme corp"``.

A query must name something to look for outside any NOT: ``NOT acme`` or ``lang:en`` alone
would match almost every post on a platform and is rejected. Any bad input raises
:class:`~brandpulse.errors.QuerySyntaxError` with the 0-based position of the problem, and
nothing else.

Local matching and server-side search
-------------------------------------

``Query.matches(mention)`` is the final filter, applied to every collected post. The
compiled per-platform searches only decide what to *fetch*, and the rule for them is:
**the server-side search must be a superset of the local filter** — never miss a post the
local filter would accept. Where a platform cannot express part of a query (or would match
it more loosely than we do), that part is replaced by the broader form (a hashtag by its
word, a phrase by its words) or dropped altogether (in particular negations, which on a
stemming/accent-folding search engine could exclude posts we would keep), and local
matching removes the extra results. ``compile_details`` says whether a compiled form is
exact and what was widened.

Per platform (verified against the platforms' documentation/source, see ``explain``):

* ``x`` — X API v2 recent search query: one string (parentheses, implicit AND, ``OR``,
  ``-`` negation, ``"phrase"``, ``#``, ``@``, ``$``, ``from:``, ``lang:``). X cannot negate
  a group (we push NOT down to terms), folds accents (negated accented words are dropped)
  and limits a query to 512 characters on self-serve access (``compile_x_queries`` splits).
* ``reddit`` — Lucene syntax (praw's default ``syntax="lucene"``): ``AND``/``OR``/``NOT``,
  parentheses, ``"phrase"``, ``author:``. Reddit stems and has no language filter, so
  negated words and ``lang:`` are dropped; ``NOT author:x`` is kept.
* ``mastodon`` — ``/api/v2/search`` ``q``: bare clauses are OR-ed, ``+clause`` is required,
  no OR groups, stemming, ``from:`` fails for unknown accounts: positive words/phrases only.
* ``bluesky`` — ``app.bsky.feed.searchPosts`` ``q``: syntax officially unspecified; the
  reference implementation pulls ``from:``/``lang:``/``#tag`` out as global filters and runs
  the rest as an OpenSearch ``simple_query_string`` (AND by default, ``|`` for OR).
* ``hackernews`` — Algolia ``query``: words are AND-ed, no OR.

  For these three, ``compile_for`` gives one string and ``compile_mastodon`` /
  ``compile_bluesky`` / ``compile_hn`` a list of conjunctive searches whose union covers
  the query (tighter, and independent of an OR operator).
* ``rss``, ``replay`` and the Bluesky firehose (``jetstream``) have no server-side search:
  ``None``, filter locally only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import TYPE_CHECKING, Any

from brandpulse.errors import QuerySyntaxError

if TYPE_CHECKING:
    from brandpulse.config import BrandConfig
    from brandpulse.types import Mention

__all__ = [
    "MAX_QUERY_CHARS",
    "PLATFORMS",
    "X_MAX_QUERY_LENGTH",
    "And",
    "CompiledQuery",
    "Field",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Query",
    "Term",
    "brand_query",
    "compile_bluesky",
    "compile_details",
    "compile_for",
    "compile_hn",
    "compile_mastodon",
    "compile_reddit",
    "compile_x",
    "compile_x_queries",
    "explain",
    "matches_text",
    "normalize",
    "parse",
    "parse_ast",
    "render",
    "tokenize",
]

#: Longest query text accepted (a brand query is a few hundred characters; this bounds the work).
MAX_QUERY_CHARS = 10_000
#: Deepest nesting of parentheses / NOTs accepted.
MAX_DEPTH = 64
#: X API v2 recent search, self-serve access: 512 characters per query (Enterprise: 4,096).
X_MAX_QUERY_LENGTH = 512
#: Most conjunctive queries a platform without OR gets from expanding ANDs of ORs.
MAX_EXPANDED_QUERIES = 32

#: Platforms `explain` reports on, in this order.
PLATFORMS = ("x", "reddit", "mastodon", "bluesky", "rss", "hackernews")
_NO_SERVER_SEARCH = frozenset({"rss", "replay", "jetstream", "bluesky_jetstream"})
_PLATFORM_ALIASES = {"twitter": "x", "hn": "hackernews"}
_FIELD_ALIASES = {"lang": "lang", "from": "from", "author": "from", "platform": "platform"}
_KEYWORDS = frozenset({"AND", "OR", "NOT"})


# ---------------------------------------------------------------------------------------
# Text normalisation and tokens
# ---------------------------------------------------------------------------------------


def _mark_class() -> str:
    """Combining marks (Mn/Mc/Me) of the BMP as a regex class body: they belong to words."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in ranges)


_MARKS = _mark_class()
_TOKEN_RE = re.compile(rf"(?:(?<![\w{_MARKS}])([#@$]))?([\w{_MARKS}]+)")

#: A token: (sigil, word) with sigil one of "", "#", "@", "$" and word normalised.
Token = tuple[str, str]


def normalize(text: str) -> str:
    """NFKC + case folding (then NFKC again, as case folding can denormalise)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def tokenize(text: str) -> list[Token]:
    """The tokens of `text` as local matching sees them: ``"Hi #Acme!"`` → ``[("", "hi"), ("#", "acme")]``."""
    return [(m.group(1) or "", m.group(2)) for m in _TOKEN_RE.finditer(normalize(text))]


# ---------------------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A bare term as written: ``acme``, ``#acme``, ``@acme``, ``$acme``, ``acme-corp``."""

    text: str


@dataclass(frozen=True)
class Phrase:
    """A quoted phrase (the text between the quotes, escapes resolved)."""

    text: str


@dataclass(frozen=True)
class Field:
    """``lang:xx``, ``from:handle`` or ``platform:name`` (name canonical, value normalised)."""

    name: str
    value: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Term | Phrase | Field | Not | And | Or
_ATOMS = (Term, Phrase, Field)


# ---------------------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # TERM PHRASE FIELD LPAREN RPAREN AND OR NOT MINUS EOF
    pos: int
    text: str = ""
    value: str = ""  # FIELD: the value


_FIELD_RE = re.compile(r"([A-Za-z][A-Za-z_]*):(.*)", re.DOTALL)
_LANG_RE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_HANDLE_RE = re.compile(r"[\w.\-@]+")
_PLATFORM_RE = re.compile(r"[a-z0-9_]+")


def _error(message: str, query: str, pos: int) -> QuerySyntaxError:
    return QuerySyntaxError(message, query, max(0, min(pos, len(query))))


def _field_value(name: str, raw: str, query: str, pos: int) -> str:
    if name == "lang":
        value = raw.lower()
        if not _LANG_RE.fullmatch(value):
            raise _error(f"lang: needs a language code such as en, ru or uk, not {raw!r}", query, pos)
        return value
    if name == "from":
        value = normalize(raw).lstrip("@")
        if not value or not _HANDLE_RE.fullmatch(value):
            raise _error(f"from: needs an account handle such as from:acme, not {raw!r}", query, pos)
        return value
    value = raw.lower()
    if not _PLATFORM_RE.fullmatch(value):
        raise _error(f"platform: needs a platform name such as x or reddit, not {raw!r}", query, pos)
    return _PLATFORM_ALIASES.get(value, value)


def _lex(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c == "(":
            toks.append(_Tok("LPAREN", i))
            i += 1
        elif c == ")":
            toks.append(_Tok("RPAREN", i))
            i += 1
        elif c == "-":
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] == ")":
                raise _error("'-' must be followed directly by the term it excludes, e.g. -acme", query, i)
            toks.append(_Tok("MINUS", i))
            i += 1
        elif c == '"':
            start, i = i, i + 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise _error('unterminated quote: close the phrase with "', query, start)
                ch = query[i]
                if ch == "\\" and i + 1 < n and query[i + 1] in '"\\':
                    chars.append(query[i + 1])
                    i += 2
                elif ch == '"':
                    i += 1
                    break
                else:
                    chars.append(ch)
                    i += 1
            text = "".join(chars)
            if not tokenize(text):
                raise _error("empty phrase: put words between the quotes", query, start)
            toks.append(_Tok("PHRASE", start, text))
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in '()"':
                i += 1
            word = query[start:i]
            if word in _KEYWORDS:
                toks.append(_Tok(word, start, word))
                continue
            m = _FIELD_RE.fullmatch(word)
            if m:
                fname, raw = m.group(1), m.group(2)
                canonical = _FIELD_ALIASES.get(fname.lower())
                if canonical is None and raw:
                    known = ", ".join(sorted(_FIELD_ALIASES))
                    raise _error(
                        f"unknown field {fname + ':'!r} (known: {known}); put text in quotes to search for it",
                        query,
                        start,
                    )
                if canonical is not None:
                    vpos = start + len(fname) + 1
                    if not raw:
                        raise _error(f"{fname}: needs a value, e.g. {fname}:{_EXAMPLES[canonical]}", query, vpos)
                    toks.append(_Tok("FIELD", start, canonical, _field_value(canonical, raw, query, vpos)))
                    continue
            if not tokenize(word):
                raise _error(f"term {word!r} has nothing to match (no letters or digits)", query, start)
            toks.append(_Tok("TERM", start, word))
    toks.append(_Tok("EOF", n))
    return toks


_EXAMPLES = {"lang": "en", "from": "acme", "platform": "reddit"}


# ---------------------------------------------------------------------------------------
# Parser (recursive descent)
# ---------------------------------------------------------------------------------------

_STARTS_OPERAND = frozenset({"TERM", "PHRASE", "FIELD", "LPAREN", "NOT", "MINUS"})


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _lex(query)
        self.i = 0
        self.depth = 0
        #: (start position, node) of each alternative of the outermost OR, for error messages.
        self.top_branches: list[tuple[int, Node]] = []

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, pos: int) -> QuerySyntaxError:
        return _error(message, self.query, pos)

    def need_operand(self, after: _Tok) -> None:
        nxt = self.peek()
        if nxt.kind in _STARTS_OPERAND:
            return
        name = "'-'" if after.kind == "MINUS" else after.kind
        if nxt.kind == "EOF":
            raise self.fail(f"{name} at the end of the query needs a term after it", after.pos)
        if nxt.kind == "RPAREN":
            raise self.fail(f"{name} needs a term after it, before ')'", after.pos)
        raise self.fail(f"{name} needs a term after it, not {nxt.kind}", after.pos)

    def parse(self) -> Node:
        if self.peek().kind == "EOF":
            raise self.fail("empty query: write at least one word, phrase, #hashtag or @handle", 0)
        node = self.parse_or()
        tok = self.peek()
        if tok.kind == "RPAREN":
            raise self.fail("unmatched ')': no '(' opens it", tok.pos)
        if tok.kind != "EOF":  # pragma: no cover - parse_and consumes every other token kind
            raise self.fail(f"unexpected {tok.kind}", tok.pos)
        return node

    def parse_or(self) -> Node:
        top = self.depth == 0
        starts = [self.peek().pos]
        items = [self.parse_and()]
        while self.peek().kind == "OR":
            op = self.take()
            self.need_operand(op)
            starts.append(self.peek().pos)
            items.append(self.parse_and())
        if top:
            self.top_branches = list(zip(starts, items, strict=True))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while True:
            tok = self.peek()
            if tok.kind == "AND":
                self.take()
                self.need_operand(tok)
                items.append(self.parse_not())
            elif tok.kind in _STARTS_OPERAND:
                items.append(self.parse_not())
            else:
                break
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_not(self) -> Node:
        tok = self.peek()
        if tok.kind in ("NOT", "MINUS"):
            self.take()
            self.need_operand(tok)
            self.enter(tok)
            operand = self.parse_not()
            self.depth -= 1
            return Not(operand)
        return self.parse_primary()

    def enter(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested too deeply (more than {MAX_DEPTH} levels of parentheses/NOT)", tok.pos)

    def parse_primary(self) -> Node:
        tok = self.take()
        if tok.kind == "TERM":
            return Term(tok.text)
        if tok.kind == "PHRASE":
            return Phrase(tok.text)
        if tok.kind == "FIELD":
            return Field(tok.text, tok.value)
        if tok.kind == "LPAREN":
            if self.peek().kind == "RPAREN":
                raise self.fail("empty parentheses: put a term inside", tok.pos)
            self.enter(tok)
            node = self.parse_or()
            self.depth -= 1
            if self.peek().kind != "RPAREN":
                raise self.fail("unclosed '(': add the matching ')'", tok.pos)
            self.take()
            return node
        if tok.kind == "RPAREN":
            raise self.fail("unmatched ')': no '(' opens it", tok.pos)
        if tok.kind in ("AND", "OR"):
            raise self.fail(f"{tok.kind} needs a term before it", tok.pos)
        raise self.fail("unexpected end of query", tok.pos)  # pragma: no cover - guarded by need_operand


def _parser(text: str) -> _Parser:
    if not isinstance(text, str):
        raise QuerySyntaxError(f"a query must be text, not {type(text).__name__}", repr(text), 0)
    if len(text) > MAX_QUERY_CHARS:
        raise _error(f"query is longer than {MAX_QUERY_CHARS} characters", text, MAX_QUERY_CHARS)
    return _Parser(text)


def parse_ast(text: str) -> Node:
    """Parse `text` to an AST (without the check that it names something to look for; see `parse`).

    Raises only `QuerySyntaxError`.
    """
    return _parser(text).parse()


def parse(text: str) -> Query:
    """Parse and validate a query. Raises only `QuerySyntaxError` (with the position of the problem)."""
    parser = _parser(text)
    ast = parser.parse()
    if len(parser.top_branches) > 1:
        for pos, branch in parser.top_branches:
            if not _anchored(_nnf(branch, False, None)):
                raise _error(
                    "this OR alternative names nothing to look for, so it would match almost every post "
                    "(OR binds loosest: `a b OR c` means `(a b) OR c`; group alternatives in parentheses, "
                    "e.g. (lang:en OR lang:ru))",
                    text,
                    pos,
                )
    return Query(text, ast)


# ---------------------------------------------------------------------------------------
# Rendering (AST → our syntax); parse(render(ast)).ast == ast
# ---------------------------------------------------------------------------------------


def _term_renders_as_term(text: str) -> bool:
    return (
        bool(text)
        and text not in _KEYWORDS
        and not text.startswith("-")
        and not any(c.isspace() or c in '()"' for c in text)
        and not _lexes_as_field(text)
        and bool(tokenize(text))
    )


def _lexes_as_field(word: str) -> bool:
    """Would the lexer treat this bare word as a field (or reject it as an unknown/empty one)?"""
    m = _FIELD_RE.fullmatch(word)
    return m is not None and (m.group(2) != "" or m.group(1).lower() in _FIELD_ALIASES)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(node: Node) -> str:
    """The canonical text of an AST in our syntax (minimal parentheses, ``-`` for negated atoms)."""
    if isinstance(node, Term):
        return node.text if _term_renders_as_term(node.text) else _quote(node.text)
    if isinstance(node, Phrase):
        return _quote(node.text)
    if isinstance(node, Field):
        return f"{node.name}:{node.value}"
    if isinstance(node, Not):
        inner = node.operand
        if isinstance(inner, _ATOMS):
            return "-" + render(inner)
        if isinstance(inner, Not):
            return "NOT " + render(inner)
        return "-(" + render(inner) + ")"
    if isinstance(node, And):
        return " ".join(f"({render(c)})" if isinstance(c, And | Or) else render(c) for c in node.operands)
    return " OR ".join(f"({render(c)})" if isinstance(c, Or) else render(c) for c in node.operands)


# ---------------------------------------------------------------------------------------
# Normal form (NOT pushed to the leaves) — the form everything below works on
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seq:
    """Text to find: a sequence of tokens (a term, a phrase)."""

    tokens: tuple[Token, ...]


_Atom = _Seq | Field


@dataclass(frozen=True)
class _Lit:
    atom: _Atom
    neg: bool = False


@dataclass(frozen=True)
class _NAnd:
    items: tuple[_N, ...]


@dataclass(frozen=True)
class _NOr:
    items: tuple[_N, ...]


@dataclass(frozen=True)
class _Const:
    value: bool


_N = _Lit | _NAnd | _NOr | _Const
_TRUE = _Const(True)
_FALSE = _Const(False)


def _make(cls: type[_NAnd] | type[_NOr], items: Iterable[_N]) -> _N:
    """Build an AND/OR: flatten, fold constants, drop duplicates (keeps order)."""
    absorbing, neutral = (_FALSE, _TRUE) if cls is _NAnd else (_TRUE, _FALSE)
    out: list[_N] = []
    seen: set[_N] = set()
    for item in items:
        subs = item.items if isinstance(item, cls) else (item,)
        for sub in subs:
            if sub == absorbing:
                return absorbing
            if sub == neutral or sub in seen:
                continue
            seen.add(sub)
            out.append(sub)
    if not out:
        return neutral
    out = _drop_subsumed(out, is_or=cls is _NOr)
    return out[0] if len(out) == 1 else cls(tuple(out))


def _drop_subsumed(items: list[_N], is_or: bool) -> list[_N]:
    """``acme OR #acme`` → ``acme`` and ``acme #acme`` → ``#acme``: a bare word covers its #/@/$ forms."""
    plain_of: dict[_Lit, _Lit] = {}
    for item in items:
        if isinstance(item, _Lit) and not item.neg and isinstance(item.atom, _Seq):
            plain = _Lit(_plain(item.atom))
            if plain != item:
                plain_of[item] = plain
    if not plain_of:
        return items
    present = set(items)
    if is_or:  # the sigil form implies the plain form: keep the plain (broader) one
        return [i for i in items if not (isinstance(i, _Lit) and plain_of.get(i) in present)]
    implied = {p for s, p in plain_of.items() if s in present}
    return [i for i in items if i not in implied]


def _nnf(node: Node, neg: bool, platform: str | None) -> _N:
    """Negation normal form; with `platform` set, ``platform:`` filters become constants."""
    if isinstance(node, Term | Phrase):
        return _Lit(_Seq(tuple(tokenize(node.text))), neg)
    if isinstance(node, Field):
        if node.name == "platform" and platform is not None:
            return _Const((node.value == platform) != neg)
        return _Lit(node, neg)
    if isinstance(node, Not):
        return _nnf(node.operand, not neg, platform)
    items = [_nnf(c, neg, platform) for c in node.operands]
    is_and = isinstance(node, And) != neg
    return _make(_NAnd if is_and else _NOr, items)


def _anchored(n: _N) -> bool:
    """Does every match require some positive text literal? (so a server search can be bounded)"""
    if isinstance(n, _Lit):
        return not n.neg and isinstance(n.atom, _Seq)
    if isinstance(n, _NAnd):
        return any(_anchored(c) for c in n.items)
    if isinstance(n, _NOr):
        return all(_anchored(c) for c in n.items)
    return not n.value  # FALSE matches nothing: vacuously bounded


def _has_positive(n: _N) -> bool:
    """Does every match require some positive literal (text or filter)?"""
    if isinstance(n, _Lit):
        return not n.neg
    if isinstance(n, _NAnd):
        return any(_has_positive(c) for c in n.items)
    if isinstance(n, _NOr):
        return all(_has_positive(c) for c in n.items)
    return not n.value


def _positive_seqs(n: _N) -> Iterable[_Seq]:
    if isinstance(n, _Lit):
        if not n.neg and isinstance(n.atom, _Seq):
            yield n.atom
    elif isinstance(n, _NAnd | _NOr):
        for c in n.items:
            yield from _positive_seqs(c)


# ---------------------------------------------------------------------------------------
# Local matching
# ---------------------------------------------------------------------------------------


class _Post:
    """One post prepared for matching: tokens, word → positions, and the metadata fields."""

    __slots__ = ("author", "lang", "platform", "positions", "tokens")

    def __init__(self, norm_text: str, lang: str | None, author: str | None, platform: str | None) -> None:
        self.tokens: list[Token] = [(m.group(1) or "", m.group(2)) for m in _TOKEN_RE.finditer(norm_text)]
        positions: dict[str, list[int]] = {}
        for i, (_, word) in enumerate(self.tokens):
            positions.setdefault(word, []).append(i)
        self.positions = positions
        self.lang = lang.strip().casefold() if lang and lang.strip() else None
        self.author = normalize(author).lstrip("@") if author else None
        p = platform.casefold() if platform else None
        self.platform = _PLATFORM_ALIASES.get(p, p) if p else None


def _seq_matches(seq: _Seq, post: _Post) -> bool:
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


def _compile_matcher(n: _N) -> _Matcher:
    if isinstance(n, _Const):
        value = n.value
        return lambda post: value
    if isinstance(n, _Lit):
        atom, neg = n.atom, n.neg
        if isinstance(atom, _Seq):
            return lambda post: _seq_matches(atom, post) != neg
        return lambda post: _field_matches(atom, post) != neg
    subs = tuple(_compile_matcher(c) for c in n.items)
    if isinstance(n, _NAnd):
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
    _nf: _N = field(init=False, repr=False, compare=False)
    _match: _Matcher = field(init=False, repr=False, compare=False)
    _anchors: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        nf = _nnf(self.ast, False, None)
        if not _anchored(nf):
            raise _error(
                "the query must contain a word, phrase, #hashtag or @handle to look for outside NOT "
                "(NOT / -term / lang: / from: / platform: alone would match almost every post)",
                self.source,
                0,
            )
        object.__setattr__(self, "_nf", nf)
        object.__setattr__(self, "_match", _compile_matcher(nf))
        anchors = sorted({seq.tokens[0][1] for seq in _positive_seqs(nf)})
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

    def compile_for(self, platform: str) -> str | None:
        """See the module function `compile_for`."""
        return compile_for(self, platform)


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


# ---------------------------------------------------------------------------------------
# Compilation to the platforms' native search syntax
# ---------------------------------------------------------------------------------------


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


class _Lowering:
    """Shared machinery: rewrite literals a platform can't express into broader forms."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.notes: list[str] = []
        self.exact = True

    def widen(self, note: str) -> None:
        self.exact = False
        if note not in self.notes:
            self.notes.append(note)

    def lower(self, n: _N, lit: Callable[[_Lit], _N]) -> _N:
        if isinstance(n, _Lit):
            return lit(n)
        if isinstance(n, _NAnd | _NOr):
            return _make(type(n), [self.lower(c, lit) for c in n.items])
        return n

    def drop_negative_ors(self, n: _N) -> _N:
        """Replace each OR with a purely negative branch (``-a OR b``) by TRUE.

        X rejects negations that stand alone and Lucene gives ``(NOT a OR b)`` another meaning;
        TRUE is always a superset, and the query stays bounded by its anchored parts.
        """
        if isinstance(n, _NOr):
            if not all(_has_positive(c) for c in n.items):
                self.widen("an OR with a purely negative alternative is searched as if it were absent")
                return _TRUE
            return _make(_NOr, [self.drop_negative_ors(c) for c in n.items])
        if isinstance(n, _NAnd):
            return _make(_NAnd, [self.drop_negative_ors(c) for c in n.items])
        return n


def _seq_text(seq: _Seq) -> str:
    return " ".join(s + w for s, w in seq.tokens)


def _plain(seq: _Seq) -> _Seq:
    return _Seq(tuple(("", w) for _, w in seq.tokens))


def _is_accented(seq: _Seq) -> bool:
    return any(unicodedata.normalize("NFD", w) != w for _, w in seq.tokens)


_X_USER_RE = re.compile(r"[a-z0-9_]{1,15}")
_X_CASHTAG_RE = re.compile(r"[a-z][a-z0-9_]*")
_REDDIT_USER_RE = re.compile(r"[a-z0-9_-]{3,20}")
_BSKY_HANDLE_RE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")


def _x_seq_ok(seq: _Seq) -> bool:
    """Can X express this token sequence exactly (hashtag/mention/cashtag rules)?"""
    if len(seq.tokens) > 1:
        return all(s == "" for s, _ in seq.tokens)  # inside "…", X treats #/@/$ tokens as plain words
    sigil, word = seq.tokens[0]
    if sigil == "#":
        return not word.isdigit()
    if sigil == "@":
        return _X_USER_RE.fullmatch(word) is not None
    if sigil == "$":
        return _X_CASHTAG_RE.fullmatch(word) is not None
    return True


def _lower_x(nf: _N, low: _Lowering) -> _N:
    def lit(n: _Lit) -> _N:
        atom = n.atom
        if isinstance(atom, Field):
            if atom.name == "from" and _X_USER_RE.fullmatch(atom.value) is None:
                low.widen(f"from:{atom.value} is not an X username; searched without it")
                return _TRUE
            return n
        if n.neg:
            if _is_accented(atom):
                low.widen(f"-{_word_or_phrase(atom)}: X folds accents, so excluding it could hide posts; filtered locally")
                return _TRUE
            if not _x_seq_ok(atom):
                low.widen(f"-{_word_or_phrase(atom)}: X matches it more loosely; filtered locally")
                return _TRUE
            return n
        if not _x_seq_ok(atom):
            low.widen(f"{_word_or_phrase(atom)}: searched as plain words on X")
            return _Lit(_plain(atom))
        return n

    return low.drop_negative_ors(low.lower(nf, lit))


def _positives_first(n: _NAnd) -> list[_N]:
    """AND-ed items with negated literals last (readable, and no platform starts on a negation)."""
    return sorted(n.items, key=lambda c: isinstance(c, _Lit) and c.neg)


def _render_x(n: _N) -> str:
    if isinstance(n, _Lit):
        atom = n.atom
        if isinstance(atom, Field):
            return ("-" if n.neg else "") + f"{atom.name}:{atom.value}"
        text = _seq_text(atom)
        if len(atom.tokens) > 1:
            return ("-" if n.neg else "") + f'"{text}"'
        if n.neg and atom.tokens[0][0] == "":
            return f'-"{text}"'  # the phrase operator matches the post body only; a keyword also URLs
        return ("-" if n.neg else "") + text
    if isinstance(n, _NAnd):
        return " ".join(f"({_render_x(c)})" if isinstance(c, _NOr) else _render_x(c) for c in _positives_first(n))
    if isinstance(n, _NOr):
        return " OR ".join(f"({_render_x(c)})" if isinstance(c, _NAnd) else _render_x(c) for c in n.items)
    raise AssertionError("constants are folded away before rendering")  # pragma: no cover


def _lower_reddit(nf: _N, low: _Lowering) -> _N:
    def lit(n: _Lit) -> _N:
        atom = n.atom
        if isinstance(atom, Field):
            if atom.name == "lang":
                low.widen("Reddit search has no language filter: lang: is applied locally")
                return _TRUE
            if _REDDIT_USER_RE.fullmatch(atom.value) is None:
                low.widen(f"from:{atom.value} is not a Reddit username; searched without it")
                return _TRUE
            return n
        if n.neg:
            low.widen(f"NOT {_word_or_phrase(atom)}: Reddit stems words, so exclusions are applied locally")
            return _TRUE
        if any(s for s, _ in atom.tokens):
            low.widen(f"{_word_or_phrase(atom)}: searched as plain words on Reddit")
            return _Lit(_plain(atom))
        return n

    return low.drop_negative_ors(low.lower(nf, lit))


def _render_reddit(n: _N) -> str:
    if isinstance(n, _Lit):
        atom = n.atom
        if isinstance(atom, Field):
            core = f"author:{atom.value}"
        else:
            text = _seq_text(atom)
            core = f'"{text}"' if len(atom.tokens) > 1 else text
        return f"NOT {core}" if n.neg else core
    if isinstance(n, _NAnd | _NOr):
        joiner = " AND " if isinstance(n, _NAnd) else " OR "
        items = _positives_first(n) if isinstance(n, _NAnd) else n.items
        return joiner.join(f"({_render_reddit(c)})" if isinstance(c, _NAnd | _NOr) else _render_reddit(c) for c in items)
    raise AssertionError("constants are folded away before rendering")  # pragma: no cover


def _lower_positive_only(nf: _N, low: _Lowering, keep_from: Callable[[str], bool] | None) -> _N:
    """For search engines without OR: keep positive text (as plain words) and maybe positive from:."""
    name = {"hackernews": "Hacker News", "mastodon": "Mastodon", "bluesky": "Bluesky"}.get(low.platform, low.platform)

    def lit(n: _Lit) -> _N:
        atom = n.atom
        if isinstance(atom, Field):
            if atom.name == "from" and not n.neg and keep_from is not None and keep_from(atom.value):
                return n
            low.widen(f"{'-' if n.neg else ''}{atom.name}:{atom.value} is applied locally ({name} search can't)")
            return _TRUE
        if n.neg:
            low.widen(f"-{_word_or_phrase(atom)}: exclusions are applied locally ({name} search stems/folds words)")
            return _TRUE
        if any(s for s, _ in atom.tokens):
            low.widen(f"{_word_or_phrase(atom)}: searched as plain words on {name}")
            return _Lit(_plain(atom))
        return n

    return low.lower(nf, lit)


_Conj = frozenset[_Lit]


def _dnf(n: _N, low: _Lowering) -> list[_Conj]:
    """OR of ANDs of literals, at most MAX_EXPANDED_QUERIES from expanding ANDs (dropping is a superset)."""
    if isinstance(n, _Const):
        return [frozenset()] if n.value else []
    if isinstance(n, _Lit):
        return [frozenset({n})]
    if isinstance(n, _NOr):
        return _absorb([c for item in n.items for c in _dnf(item, low)])
    parts = [(_anchored(c), _dnf(c, low)) for c in n.items]
    # The smallest anchored part first (it keeps every query bounded), then the others, smallest first.
    anchored = sorted((p for p in parts if p[0]), key=lambda p: len(p[1]))
    others = sorted((p for p in parts if not p[0]), key=lambda p: len(p[1]))
    result: list[_Conj] = [frozenset()]
    for i, (_, dnf) in enumerate(anchored[:1] + anchored[1:] + others):
        if i > 0 and len(result) * len(dnf) > MAX_EXPANDED_QUERIES:
            low.widen("some AND-ed alternatives were left out of the server-side searches (too many combinations)")
            continue
        result = _absorb([a | b for a, b in product(result, dnf)])
    return result


def _absorb(conjs: list[_Conj]) -> list[_Conj]:
    """Drop duplicates and any conjunction implied by a smaller one (A ⊂ B: B's matches are A's)."""
    unique = list(dict.fromkeys(conjs))
    return [c for c in unique if not any(o < c for o in unique)]


def _conj_seqs(conj: _Conj) -> list[_Seq]:
    return sorted((lit.atom for lit in conj if isinstance(lit.atom, _Seq)), key=_seq_text)


def _word_or_phrase(seq: _Seq) -> str:
    text = _seq_text(seq)
    return f'"{text}"' if len(seq.tokens) > 1 else text


def _prepare(query: Query | str) -> Query:
    return parse(query) if isinstance(query, str) else query


def compile_details(query: Query | str, platform: str) -> CompiledQuery:
    """Compile `query` for `platform` ('x', 'reddit', 'mastodon', 'bluesky', 'hackernews', 'rss', …).

    Unknown platforms and platforms without server-side search get ``query=queries=None``.
    """
    q = _prepare(query)
    plat = _PLATFORM_ALIASES.get(platform.lower(), platform.lower())
    low = _Lowering(plat)
    if plat in _NO_SERVER_SEARCH or plat not in {"x", "reddit", "mastodon", "bluesky", "hackernews"}:
        return CompiledQuery(plat, None, None, False, ("no server-side search: every post is filtered locally",))
    nf = _nnf(q.ast, False, plat)
    if nf == _FALSE:
        return CompiledQuery(plat, None, (), True, (f"the query never matches posts from {plat}",))
    if plat in ("x", "reddit"):
        text = _render_x(_lower_x(nf, low)) if plat == "x" else _render_reddit(_lower_reddit(nf, low))
        return CompiledQuery(plat, text, (text,), low.exact, tuple(low.notes))
    keep_from = (lambda h: _BSKY_HANDLE_RE.fullmatch(h) is not None) if plat == "bluesky" else None
    conjs = _dnf(_lower_positive_only(nf, low, keep_from), low)
    queries: list[str] = []
    if plat == "hackernews":
        queries = [_hn_words(conj) for conj in conjs]
        # One Algolia query can only AND words: the words every alternative needs (maybe none,
        # i.e. every item — still a superset).
        common = [w for w in _hn_words(conjs[0]).split() if all(w in _hn_words(c).split() for c in conjs)]
        single = queries[0] if len(queries) == 1 else " ".join(common)
    elif plat == "bluesky":
        for conj in conjs:
            parts = [_word_or_phrase(seq) for seq in _conj_seqs(conj)]
            authors = sorted(lit.atom.value for lit in conj if isinstance(lit.atom, Field))
            if authors:  # searchPosts takes one author; a second from: can only narrow
                parts.append(f"from:{authors[0]}")
            queries.append(" ".join(parts))
        # One string: alternatives joined with "|" (OR in the reference implementation's
        # simple_query_string); from: is a global filter there, so it is left out.
        groups = [" ".join(_word_or_phrase(seq) for seq in _conj_seqs(c)) for c in conjs]
        single = (
            queries[0]
            if len(queries) == 1
            else " | ".join(f"({g})" if len(_conj_seqs(c)) > 1 else g for g, c in zip(groups, conjs, strict=True))
        )
    else:  # mastodon: bare clauses are OR-ed ("should", at least one), +clauses are required ("must")
        singles = [_word_or_phrase(_conj_seqs(c)[0]) for c in conjs if len(c) == 1]
        if singles:
            queries.append(" ".join(singles))
        for conj in conjs:
            if len(conj) > 1:
                seqs = [_word_or_phrase(seq) for seq in _conj_seqs(conj)]
                queries.append(" ".join([seqs[0], *("+" + s for s in seqs[1:])]))
        # One string: one clause of each alternative, all "should" (a superset of each alternative).
        single = " ".join(dict.fromkeys(_word_or_phrase(max(_conj_seqs(c), key=_selectivity)) for c in conjs))
    if len(queries) > 1:
        low.notes.append(f"{len(queries)} searches: run each and merge the results")
    return CompiledQuery(plat, single, tuple(queries), low.exact, tuple(low.notes))


def _hn_words(conj: _Conj) -> str:
    return " ".join(dict.fromkeys(w for seq in _conj_seqs(conj) for _, w in seq.tokens))


def _selectivity(seq: _Seq) -> tuple[int, int]:
    """Prefer the clause that selects least: more tokens, then longer text."""
    return (len(seq.tokens), len(_seq_text(seq)))


def compile_for(query: Query | str, platform: str) -> str | None:
    """The platform's native search string for `query` (always a superset of the local matches).

    - ``x``: the X API v2 search query (the whole query; `compile_x_queries` splits it for
      the 512-character limit);
    - ``reddit``: Lucene syntax for ``subreddit.search(q, syntax="lucene")``;
    - ``mastodon``: a ``/api/v2/search?type=statuses`` ``q`` (bare clauses are OR-ed);
    - ``bluesky``: a ``app.bsky.feed.searchPosts`` ``q`` (alternatives joined with ``|``);
    - ``hackernews``: one Algolia keyword query (the words every alternative needs).

    For Mastodon, Bluesky and Hacker News, `compile_mastodon` / `compile_bluesky` /
    `compile_hn` return several conjunctive searches that together are tighter (and do not
    rely on an OR operator). None when the platform has no server-side search (``rss``,
    ``replay``, ``jetstream``, unknown platforms) or when the query excludes the platform.
    """
    return compile_details(query, platform).query


def compile_x(query: Query | str) -> str | None:
    """X API v2 search query (may exceed 512 characters: see `compile_x_queries`)."""
    return compile_details(query, "x").query


def compile_reddit(query: Query | str) -> str | None:
    """Reddit search query in Lucene syntax (praw ``subreddit.search(q, syntax="lucene")``)."""
    return compile_details(query, "reddit").query


def compile_hn(query: Query | str) -> list[str]:
    """Hacker News (Algolia) keyword queries whose union covers the query (Algolia ANDs the words)."""
    return list(compile_details(query, "hackernews").queries or ())


def compile_mastodon(query: Query | str) -> list[str]:
    """Mastodon ``/api/v2/search?type=statuses`` ``q`` strings whose union covers the query."""
    return list(compile_details(query, "mastodon").queries or ())


def compile_bluesky(query: Query | str) -> list[str]:
    """``app.bsky.feed.searchPosts`` ``q`` strings whose union covers the query."""
    return list(compile_details(query, "bluesky").queries or ())


def compile_x_queries(query: Query | str, max_length: int = X_MAX_QUERY_LENGTH) -> list[str]:
    """X queries of at most `max_length` characters whose union is the compiled X query.

    Splits top-level ORs (and ORs inside ANDs, repeating the other AND-ed parts). Raises
    `QuerySyntaxError` if a single indivisible part is still too long.
    """
    q = _prepare(query)
    nf = _nnf(q.ast, False, "x")
    if nf == _FALSE:
        return []
    lowered = _lower_x(nf, _Lowering("x"))
    out: list[str] = []
    _split_x(lowered, max_length, out, q.source)
    return out


def _split_x(n: _N, limit: int, out: list[str], source: str) -> None:
    text = _render_x(n)
    if len(text) <= limit:
        out.append(text)
        return
    if isinstance(n, _NOr):
        _pack(list(n.items), lambda group: _make(_NOr, group), limit, out, source)
        return
    if isinstance(n, _NAnd):
        ors = [c for c in n.items if isinstance(c, _NOr)]
        if ors:
            big = max(ors, key=lambda c: len(c.items))
            rest = [c for c in n.items if c is not big]
            assert isinstance(big, _NOr)
            _pack(list(big.items), lambda group: _make(_NAnd, [*rest, _make(_NOr, group)]), limit, out, source)
            return
    raise _error(
        f"the query is too long for X search ({len(text)} characters in one indivisible part, limit {limit}); "
        "shorten it or split it into several brands",
        source,
        0,
    )


def _pack(items: Sequence[_N], build: Callable[[list[_N]], _N], limit: int, out: list[str], source: str) -> None:
    """Greedily group `items` so that `build(group)` renders within `limit`; recurse on what never fits."""
    group: list[_N] = []
    for item in items:
        if group and len(_render_x(build([*group, item]))) > limit:
            _split_x(build(group), limit, out, source)
            group = []
        group.append(item)
    if group:
        _split_x(build(group), limit, out, source)


def explain(query: Query | str) -> dict[str, str | list[str] | None]:
    """What each platform's collector sends for `query` (for ``brandpulse query test``).

    One string for x, reddit, mastodon and bluesky (`compile_for`), the list of keyword
    queries for hackernews (`compile_hn`), None for rss (local filtering only).
    """
    q = _prepare(query)
    out: dict[str, str | list[str] | None] = {}
    for platform in PLATFORMS:
        out[platform] = compile_hn(q) if platform == "hackernews" else compile_for(q, platform)
    return out


# ---------------------------------------------------------------------------------------
# Brand config → query
# ---------------------------------------------------------------------------------------


def brand_query(brand_cfg: BrandConfig | Any) -> Query:
    """The query for a brand: its `query` if set; otherwise any of its name/keywords (as phrases)
    or a mention of one of its handles, excluding posts from its own handles, in its languages.
    """
    if brand_cfg.query:
        return parse(brand_cfg.query)
    names = list(dict.fromkeys(n.strip() for n in [brand_cfg.name, *brand_cfg.keywords] if n and n.strip()))
    alternatives = [_quote(n) for n in names if tokenize(n)]
    handles = list(dict.fromkeys(h.strip().lstrip("@") for h in brand_cfg.handles if h and h.strip().lstrip("@")))
    alternatives += [f"@{h}" for h in handles if _term_renders_as_term("@" + h)]
    if not alternatives:
        raise QuerySyntaxError(
            f"brand {brand_cfg.name!r} has no name, keyword or handle with letters or digits to look for",
            brand_cfg.name,
            0,
        )
    parts = ["(" + " OR ".join(alternatives) + ")"]
    parts += [f"-from:{h}" for h in handles if _HANDLE_RE.fullmatch(normalize(h))]
    langs = [lang.lower() for lang in brand_cfg.languages if _LANG_RE.fullmatch(lang.lower())]
    if langs:
        parts.append("(" + " OR ".join(f"lang:{lang}" for lang in dict.fromkeys(langs)) + ")")
    return parse(" ".join(parts))
