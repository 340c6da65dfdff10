"""The normal form every later step works on: NOT pushed to the leaves, constants folded, subsumed items dropped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from listener.query.syntax import And, Field, Node, Not, Phrase, Term, Token, tokenize


@dataclass(frozen=True)
class Seq:
    """Text to find: a sequence of tokens (a term, a phrase)."""

    tokens: tuple[Token, ...]


Atom = Seq | Field


@dataclass(frozen=True)
class Lit:
    atom: Atom
    neg: bool = False


@dataclass(frozen=True)
class NAnd:
    items: tuple[NF, ...]


@dataclass(frozen=True)
class NOr:
    items: tuple[NF, ...]


@dataclass(frozen=True)
class Const:
    value: bool


NF = Lit | NAnd | NOr | Const
TRUE = Const(True)
FALSE = Const(False)


def make(cls: type[NAnd] | type[NOr], items: Iterable[NF]) -> NF:
    """Build an AND/OR: flatten, fold constants, drop duplicates (keeps order)."""
    absorbing, neutral = (FALSE, TRUE) if cls is NAnd else (TRUE, FALSE)
    out: list[NF] = []
    seen: set[NF] = set()
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
    out = drop_subsumed(out, is_or=cls is NOr)
    return out[0] if len(out) == 1 else cls(tuple(out))


def plain(seq: Seq) -> Seq:
    """The sequence with its #/@/$ sigils dropped."""
    return Seq(tuple(("", w) for _, w in seq.tokens))


def drop_subsumed(items: list[NF], is_or: bool) -> list[NF]:
    """``acme OR #acme`` → ``acme`` and ``acme #acme`` → ``#acme``: a bare word covers its #/@/$ forms."""
    plain_of: dict[Lit, Lit] = {}
    for item in items:
        if isinstance(item, Lit) and not item.neg and isinstance(item.atom, Seq):
            flat = Lit(plain(item.atom))
            if flat != item:
                plain_of[item] = flat
    if not plain_of:
        return items
    present = set(items)
    if is_or:  # the sigil form implies the plain form: keep the plain (broader) one
        return [i for i in items if not (isinstance(i, Lit) and plain_of.get(i) in present)]
    implied = {p for s, p in plain_of.items() if s in present}
    return [i for i in items if i not in implied]


def nnf(node: Node, neg: bool, platform: str | None) -> NF:
    """Negation normal form; with `platform` set, ``platform:`` filters become constants."""
    if isinstance(node, Term | Phrase):
        return Lit(Seq(tuple(tokenize(node.text))), neg)
    if isinstance(node, Field):
        if node.name == "platform" and platform is not None:
            return Const((node.value == platform) != neg)
        return Lit(node, neg)
    if isinstance(node, Not):
        return nnf(node.operand, not neg, platform)
    items = [nnf(c, neg, platform) for c in node.operands]
    is_and = isinstance(node, And) != neg
    return make(NAnd if is_and else NOr, items)


def anchored(n: NF) -> bool:
    """Does every match require some positive text literal? (so a server search can be bounded)"""
    if isinstance(n, Lit):
        return not n.neg and isinstance(n.atom, Seq)
    if isinstance(n, NAnd):
        return any(anchored(c) for c in n.items)
    if isinstance(n, NOr):
        return all(anchored(c) for c in n.items)
    return not n.value  # FALSE matches nothing: vacuously bounded


def has_positive(n: NF) -> bool:
    """Does every match require some positive literal (text or filter)?"""
    if isinstance(n, Lit):
        return not n.neg
    if isinstance(n, NAnd):
        return any(has_positive(c) for c in n.items)
    if isinstance(n, NOr):
        return all(has_positive(c) for c in n.items)
    return not n.value


def positive_seqs(n: NF) -> Iterable[Seq]:
    if isinstance(n, Lit):
        if not n.neg and isinstance(n.atom, Seq):
            yield n.atom
    elif isinstance(n, NAnd | NOr):
        for c in n.items:
            yield from positive_seqs(c)


#: An AND of literals (one search of a platform without OR).
Conj = frozenset[Lit]
