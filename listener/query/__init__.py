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

Each platform's dialect lives beside its collector (``listener/x.py``, ``listener/reddit.py``,
``listener/mastodon.py``, ``listener/bluesky.py``, ``listener/hackernews.py``) and says there what
its search can express; ``rss``, ``replay`` and the Bluesky firehose have no server-side search
(``None``: filter locally only).

Modules: `listener.query.syntax` (tokens, AST, parser, rendering), `listener.query.normal_form`,
`listener.query.matching` (the `Query` object and local matching), `listener.query.compiling`
(lowering, the dialect registry, `compile_details`/`compile_for`/`explain`), `listener.query.brands`.
"""

from __future__ import annotations

from typing import Any

from listener.query.brands import brand_query
from listener.query.compiling import (
    CompiledQuery,
    Dialect,
    collector_platforms,
    compile_details,
    compile_for,
    compile_queries,
    explain,
)
from listener.query.matching import Query, matches_text, parse
from listener.query.syntax import (
    MAX_QUERY_CHARS,
    And,
    Field,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    normalize,
    parse_ast,
    render,
    tokenize,
)

__all__ = [
    "MAX_QUERY_CHARS",
    "PLATFORMS",
    "And",
    "CompiledQuery",
    "Dialect",
    "Field",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Query",
    "Term",
    "brand_query",
    "collector_platforms",
    "compile_details",
    "compile_for",
    "compile_queries",
    "explain",
    "matches_text",
    "normalize",
    "parse",
    "parse_ast",
    "render",
    "tokenize",
]


def __getattr__(name: str) -> Any:
    """``PLATFORMS``: the registered platforms (`explain` reports on these), read from the collector registry."""
    if name == "PLATFORMS":
        return tuple(collector_platforms())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
