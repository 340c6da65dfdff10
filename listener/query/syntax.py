"""The query syntax: tokens, the AST, the lexer and parser (errors carry the 0-based position), rendering.

See the package docstring (`listener.query`) for the language itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from brandpulse.errors import QuerySyntaxError

#: Longest query text accepted (a brand query is a few hundred characters; this bounds the work).
MAX_QUERY_CHARS = 10_000
#: Deepest nesting of parentheses / NOTs accepted.
MAX_DEPTH = 64
#: ``platform:`` values written another way.
PLATFORM_ALIASES = {"twitter": "x", "hn": "hackernews"}
FIELD_ALIASES = {"lang": "lang", "from": "from", "author": "from", "platform": "platform"}
KEYWORDS = frozenset({"AND", "OR", "NOT"})


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
TOKEN_RE = re.compile(rf"(?:(?<![\w{_MARKS}])([#@$]))?([\w{_MARKS}]+)")

#: A token: (sigil, word) with sigil one of "", "#", "@", "$" and word normalised.
Token = tuple[str, str]


def normalize(text: str) -> str:
    """NFKC + case folding (then NFKC again, as case folding can denormalise)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def tokenize(text: str) -> list[Token]:
    """The tokens of `text` as local matching sees them: ``"Hi #Acme!"`` → ``[("", "hi"), ("#", "acme")]``."""
    return [(m.group(1) or "", m.group(2)) for m in TOKEN_RE.finditer(normalize(text))]


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
LANG_RE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
HANDLE_RE = re.compile(r"[\w.\-@]+")
_PLATFORM_RE = re.compile(r"[a-z0-9_]+")


def syntax_error(message: str, query: str, pos: int) -> QuerySyntaxError:
    return QuerySyntaxError(message, query, max(0, min(pos, len(query))))


def _field_value(name: str, raw: str, query: str, pos: int) -> str:
    if name == "lang":
        value = raw.lower()
        if not LANG_RE.fullmatch(value):
            raise syntax_error(f"lang: needs a language code such as en, ru or uk, not {raw!r}", query, pos)
        return value
    if name == "from":
        value = normalize(raw).lstrip("@")
        if not value or not HANDLE_RE.fullmatch(value):
            raise syntax_error(f"from: needs an account handle such as from:acme, not {raw!r}", query, pos)
        return value
    value = raw.lower()
    if not _PLATFORM_RE.fullmatch(value):
        raise syntax_error(f"platform: needs a platform name such as x or reddit, not {raw!r}", query, pos)
    return PLATFORM_ALIASES.get(value, value)


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
                raise syntax_error("'-' must be followed directly by the term it excludes, e.g. -acme", query, i)
            toks.append(_Tok("MINUS", i))
            i += 1
        elif c == '"':
            start, i = i, i + 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise syntax_error('unterminated quote: close the phrase with "', query, start)
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
                raise syntax_error("empty phrase: put words between the quotes", query, start)
            toks.append(_Tok("PHRASE", start, text))
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in '()"':
                i += 1
            word = query[start:i]
            if word in KEYWORDS:
                toks.append(_Tok(word, start, word))
                continue
            m = _FIELD_RE.fullmatch(word)
            if m:
                fname, raw = m.group(1), m.group(2)
                canonical = FIELD_ALIASES.get(fname.lower())
                if canonical is None and raw:
                    known = ", ".join(sorted(FIELD_ALIASES))
                    raise syntax_error(
                        f"unknown field {fname + ':'!r} (known: {known}); put text in quotes to search for it",
                        query,
                        start,
                    )
                if canonical is not None:
                    vpos = start + len(fname) + 1
                    if not raw:
                        raise syntax_error(f"{fname}: needs a value, e.g. {fname}:{_EXAMPLES[canonical]}", query, vpos)
                    toks.append(_Tok("FIELD", start, canonical, _field_value(canonical, raw, query, vpos)))
                    continue
            if not tokenize(word):
                raise syntax_error(f"term {word!r} has nothing to match (no letters or digits)", query, start)
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
        return syntax_error(message, self.query, pos)

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


def make_parser(text: str) -> _Parser:
    if not isinstance(text, str):
        raise QuerySyntaxError(f"a query must be text, not {type(text).__name__}", repr(text), 0)
    if len(text) > MAX_QUERY_CHARS:
        raise syntax_error(f"query is longer than {MAX_QUERY_CHARS} characters", text, MAX_QUERY_CHARS)
    return _Parser(text)


def parse_ast(text: str) -> Node:
    """Parse `text` to an AST (without the check that it names something to look for; see `parse`).

    Raises only `QuerySyntaxError`.
    """
    return make_parser(text).parse()


# ---------------------------------------------------------------------------------------
# Rendering (AST → our syntax); parse(render(ast)).ast == ast
# ---------------------------------------------------------------------------------------


def term_renders_as_term(text: str) -> bool:
    return (
        bool(text)
        and text not in KEYWORDS
        and not text.startswith("-")
        and not any(c.isspace() or c in '()"' for c in text)
        and not _lexes_as_field(text)
        and bool(tokenize(text))
    )


def _lexes_as_field(word: str) -> bool:
    """Would the lexer treat this bare word as a field (or reject it as an unknown/empty one)?"""
    m = _FIELD_RE.fullmatch(word)
    return m is not None and (m.group(2) != "" or m.group(1).lower() in FIELD_ALIASES)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(node: Node) -> str:
    """The canonical text of an AST in our syntax (minimal parentheses, ``-`` for negated atoms)."""
    if isinstance(node, Term):
        return node.text if term_renders_as_term(node.text) else quote(node.text)
    if isinstance(node, Phrase):
        return quote(node.text)
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
