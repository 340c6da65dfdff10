"""The brand query language (listener/query/ and the platform dialects): parsing, errors, local matching, compilers."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandpulse.config import BrandConfig
from brandpulse.errors import QuerySyntaxError
from brandpulse.types import AuthorRef, Mention
from listener.query import (
    PLATFORMS,
    And,
    Field,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    Term,
    brand_query,
    compile_details,
    compile_for,
    compile_queries,
    explain,
    matches_text,
    parse,
    parse_ast,
    render,
)
from listener.x import compile_x_queries

# Each platform's compiled form, through the generic compiler (the dialects live beside the collectors).
compile_x = partial(compile_for, platform="x")
compile_reddit = partial(compile_for, platform="reddit")
compile_hn = partial(compile_queries, platform="hackernews")
compile_mastodon = partial(compile_queries, platform="mastodon")
compile_bluesky = partial(compile_queries, platform="bluesky")

# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ast"),
    [
        ("acme", Term("acme")),
        ('"acme phone"', Phrase("acme phone")),
        (r'"say \"hi\" \\o/"', Phrase('say "hi" \\o/')),
        ("a b", And((Term("a"), Term("b")))),
        ("a AND b", And((Term("a"), Term("b")))),
        ("a OR b", Or((Term("a"), Term("b")))),
        # NOT > AND > OR
        ("a OR b c", Or((Term("a"), And((Term("b"), Term("c")))))),
        ("a b OR c", Or((And((Term("a"), Term("b"))), Term("c")))),
        ("NOT a b", And((Not(Term("a")), Term("b")))),
        ("a OR NOT b AND c", Or((Term("a"), And((Not(Term("b")), Term("c")))))),
        ("(a OR b) c", And((Or((Term("a"), Term("b"))), Term("c")))),
        ("-a", Not(Term("a"))),
        ('-"a b"', Not(Phrase("a b"))),
        ("-(a OR b)", Not(Or((Term("a"), Term("b"))))),
        ("NOT -a", Not(Not(Term("a")))),
        ("acme-corp", Term("acme-corp")),
        ("#acme @acme $ACME", And((Term("#acme"), Term("@acme"), Term("$ACME")))),
        ("lang:EN", Field("lang", "en")),
        ("from:@Acme", Field("from", "acme")),
        ("author:acme", Field("from", "acme")),
        ("platform:twitter", Field("platform", "x")),
        ("-from:acme", Not(Field("from", "acme"))),
        ("or and not", And((Term("or"), Term("and"), Term("not")))),  # keywords are upper case only
        ("12:30", Term("12:30")),
        (
            '("Acme" OR "@acme" OR #acme) NOT "acme corp jobs" (lang:en OR lang:ru) -from:acme',
            And(
                (
                    Or((Phrase("Acme"), Phrase("@acme"), Term("#acme"))),
                    Not(Phrase("acme corp jobs")),
                    Or((Field("lang", "en"), Field("lang", "ru"))),
                    Not(Field("from", "acme")),
                )
            ),
        ),
    ],
)
def test_parse_examples(text: str, ast: Node) -> None:
    assert parse_ast(text) == ast
    assert parse_ast(render(ast)) == ast


def test_query_object() -> None:
    q = parse("  acme   OR  #acme ")
    assert q.ast == Or((Term("acme"), Term("#acme")))
    assert q.text == "acme OR #acme"
    assert str(q) == q.text
    assert q == parse("acme OR #acme")  # equality by AST
    with pytest.raises(QuerySyntaxError):
        Query("NOT acme", Not(Term("acme")))  # the anchoring check also guards direct construction


# ---------------------------------------------------------------------------------------
# Errors: position + a message naming the problem
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("(acme OR nimbus", 0, "unclosed '('"),
        ("acme OR nimbus)", 14, "unmatched ')'"),
        ("acme )", 5, "unmatched ')'"),
        ('acme "corp jobs', 5, "unterminated quote"),
        ("acme OR", 5, "OR at the end"),
        ("OR acme", 0, "OR needs a term before it"),
        ("acme AND AND nimbus", 5, "AND needs a term after it"),
        ("acme (nimbus OR)", 13, "OR needs a term after it, before ')'"),
        ("acme NOT", 5, "NOT at the end"),
        ("acme - nimbus", 5, "'-' must be followed"),
        ("acme -", 5, "'-' must be followed"),
        ("acme foo:bar", 5, "unknown field 'foo:'"),
        ("acme http://acme.com", 5, "unknown field 'http:'"),
        ("acme lang:", 10, "lang: needs a value"),
        ("acme lang:english!", 10, "lang: needs a language code"),
        ("acme from:@", 10, "from: needs an account handle"),
        ("acme ()", 5, "empty parentheses"),
        ('acme ""', 5, "empty phrase"),
        ("acme !!!", 5, "'!!!' has nothing to match"),
        ("NOT acme", 0, "must contain a word"),
        ("lang:en", 0, "must contain a word"),
        ("-from:acme", 0, "must contain a word"),
        ("acme OR -nimbus", 8, "this OR alternative names nothing"),
        ("acme lang:en OR lang:ru", 16, "this OR alternative names nothing"),
        ("(" * 100 + "acme" + ")" * 100, 64, "nested too deeply"),
        ("a" * 10_001, 10_000, "longer than 10000"),
    ],
)
def test_error_positions(text: str, position: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse(text)
    err = info.value
    assert err.position == position, str(err)
    assert message in str(err)
    assert err.query == text
    assert f"position {position}" in str(err)


# ---------------------------------------------------------------------------------------
# Local matching
# ---------------------------------------------------------------------------------------


def _mention(text: str, lang: str | None = "en", author: str = "someone", platform: str = "x") -> Mention:
    return Mention(
        platform=platform,
        native_id="1",
        text=text,
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
        author=AuthorRef(author),
        language=lang,
    )


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # a bare word: the word, its hashtag, handle and cashtag, on token boundaries
        ("acme", "Acme's new phone", True),
        ("acme", "I love #ACME", True),
        ("acme", "cc @acme please", True),
        ("acme", "$ACME is up", True),
        ("acme", "mail bob@acme.com", True),
        ("acme", "welcome to acmeville", False),
        ("acme", "acme_corp rocks", False),
        # #hashtag / @handle only their own kind
        ("#acme", "#Acme rocks", True),
        ("#acme", "acme rocks", False),
        ("#acme", "@acme rocks", False),
        ("@acme", "@ACME help!", True),
        ("@acme", "#acme help", False),
        ("@acme", "bob@acme.com", False),  # an e-mail address is not a mention
        ("@acme.bsky.social", "thanks @acme.bsky.social", True),
        # phrases: adjacent tokens in order, punctuation between them is ignored
        ('"acme phone"', "my ACME-phone broke", True),
        ('"acme phone"', "acme, phone", True),
        ('"acme phone"', "acme new phone", False),
        ('"acme phone"', "phone acme", False),
        ("acme-phone", "the acme phone", True),
        ('"#acme rocks"', "#acme rocks!", True),
        ('"#acme rocks"', "acme rocks!", False),
        # Cyrillic, case folding, NFKC
        ("НІМБУС", "новий німбус вийшов", True),
        ("німбус", "НІМБУС — топ", True),
        ("Нимбус", "купил нимбус вчера", True),
        ("ёлка", "ЁЛКА горит", True),
        ("ёлка", "елка горит", False),  # ё is not folded to е
        ('"Київ офіс"', "Наш КИЇВ ОФІС відкрито", True),
        ("acme", "ＡＣＭＥ fullwidth", True),
        ("ﬁsh", "fish tacos", True),
        # boolean structure
        ("acme -jobs", "acme is hiring: jobs!", False),
        ("acme -jobs", "acme is great", True),
        ("acme OR nimbus", "nimbus only", True),
        ("acme nimbus", "nimbus only", False),
        ("(acme OR nimbus) -(jobs OR hiring)", "nimbus hiring now", False),
        ("(acme OR nimbus) -(jobs OR hiring)", "nimbus rocks", True),
    ],
)
def test_matching(query: str, text: str, expected: bool) -> None:
    q = parse(query)
    assert q.matches(_mention(text)) is expected
    assert matches_text(query, text, "en", "someone", "x") is expected


def test_lang_filter() -> None:
    q = parse("acme lang:uk")
    assert q.matches_text("acme", lang="uk")
    assert q.matches_text("acme", lang="UK-ua")
    assert not q.matches_text("acme", lang="ru")
    assert not q.matches_text("acme", lang="und")
    assert q.matches_text("acme", lang=None)  # unknown language: kept (language detection may come later)
    assert not parse("acme -lang:uk").matches_text("acme", lang="uk")
    assert parse("acme (lang:en OR lang:ru)").matches(_mention("acme", lang="ru"))


def test_from_filter_excludes_own_accounts() -> None:
    q = parse("acme -from:acme")
    assert q.matches(_mention("acme is great", author="bob"))
    assert not q.matches(_mention("acme is great", author="acme"))
    assert not q.matches(_mention("acme is great", author="@ACME"))
    assert not q.matches(_mention("acme is great", author="acme@mastodon.social"))
    assert q.matches(_mention("acme is great", author="acmefan"))
    assert parse("acme from:acme").matches(_mention("acme news", author="Acme"))
    assert not parse("acme from:acme").matches_text("acme news", author_handle=None)


def test_platform_filter() -> None:
    q = parse("acme (platform:reddit OR platform:hn)")
    assert q.matches(_mention("acme", platform="reddit"))
    assert q.matches(_mention("acme", platform="hackernews"))
    assert not q.matches(_mention("acme", platform="x"))


# ---------------------------------------------------------------------------------------
# Compilers: exact expected output for the documented example
# ---------------------------------------------------------------------------------------

EXAMPLE = '("Acme" OR "@acme" OR #acme) NOT "acme corp jobs" (lang:en OR lang:ru) -from:acme'


def test_explain_example() -> None:
    assert explain(EXAMPLE) == {
        "x": 'acme (lang:en OR lang:ru) -"acme corp jobs" -from:acme',
        "reddit": "acme AND NOT author:acme",
        "mastodon": "acme",
        "bluesky": "acme",
        "rss": None,
        "hackernews": ["acme"],
    }
    assert list(explain(EXAMPLE)) == list(PLATFORMS)
    assert compile_details(EXAMPLE, "x").exact
    reddit = compile_details(EXAMPLE, "reddit")
    assert not reddit.exact
    assert any("no language filter" in note for note in reddit.notes)


def test_compile_x() -> None:
    assert compile_x("acme OR (#nimbus @nimbus_hq)") == "acme OR (#nimbus @nimbus_hq)"
    assert compile_x("acme -(jobs OR hiring)") == 'acme -"jobs" -"hiring"'  # X can't negate a group
    assert compile_x("acme (-jobs OR nimbus)") == "acme"  # a purely negative OR branch: dropped (superset)
    assert compile_x('acme -"Київ"') == "acme"  # X folds accents: excluding it could hide posts
    assert compile_x("acme from:acme.bsky.social") == "acme"  # not an X username
    assert compile_x("acme platform:reddit") is None  # never matches on X
    assert compile_x("acme (platform:x OR nimbus)") == "acme"
    assert compile_for("acme", "twitter") == "acme"


def test_compile_x_queries_respects_length_limit() -> None:
    words = [f"brand{i}" for i in range(60)]
    text = "(" + " OR ".join(words) + ") (lang:en OR lang:uk) -from:acme"
    q = parse(text)
    full = compile_x(q)
    assert full is not None and len(full) > 200
    parts = compile_x_queries(q, max_length=200)
    assert len(parts) > 1
    assert all(len(p) <= 200 for p in parts)
    assert len(full) > 512
    assert [len(p) <= 512 for p in compile_x_queries(q)] == [True, True]  # the default: X's 512 characters
    assert compile_x_queries("acme OR nimbus") == ["acme OR nimbus"]
    # the union of the parts is the whole query
    for i in range(0, 60, 7):
        for lang, author in (("en", "bob"), ("ru", "bob"), ("uk", "acme")):
            post = dict(text=f"x brand{i} y", lang=lang, author_handle=author, platform="x")
            assert q.matches_text(**post) == any(parse(p).matches_text(**post) for p in parts)
    with pytest.raises(QuerySyntaxError, match="too long for X"):
        compile_x_queries('"' + " ".join(["word"] * 40) + '"', max_length=50)


def test_compile_reddit_hn_mastodon_bluesky() -> None:
    q = "(acme OR nimbus) (phone OR tablet) -broken -from:acme_hq lang:en"
    assert compile_reddit(q) == "(acme OR nimbus) AND (phone OR tablet) AND NOT author:acme_hq"
    assert compile_hn(q) == ["acme phone", "acme tablet", "nimbus phone", "nimbus tablet"]
    assert compile_mastodon(q) == ["acme +phone", "acme +tablet", "nimbus +phone", "nimbus +tablet"]
    assert compile_bluesky(q) == ["acme phone", "acme tablet", "nimbus phone", "nimbus tablet"]
    assert compile_mastodon('acme OR "nimbus cloud" OR #nimbus') == ['acme "nimbus cloud" nimbus']
    assert compile_bluesky("acme from:acme.bsky.social") == ["acme from:acme.bsky.social"]
    # one string per platform (what compile_for / the collectors send): a superset of the list
    assert compile_for(q, "mastodon") == "phone tablet nimbus"  # bare clauses are OR-ed on Mastodon
    assert compile_for(q, "bluesky") == "(acme phone) | (acme tablet) | (nimbus phone) | (nimbus tablet)"
    assert compile_for(q, "hackernews") == ""  # no word is common to all: every item, filtered locally
    assert compile_for("acme (phone OR tablet)", "hackernews") == "acme"
    assert compile_for("acme from:acme.bsky.social", "bluesky") == "acme from:acme.bsky.social"
    assert compile_for("acme", "rss") is None
    assert compile_for("acme", "replay") is None
    assert compile_for("acme", "jetstream") is None
    assert compile_for("acme", "some-plugin") is None
    assert compile_for("acme platform:x", "hackernews") is None
    assert compile_hn("acme platform:x") == []
    assert compile_for(parse("acme"), "reddit") == "acme"


def test_expansion_is_capped() -> None:
    q = " ".join(f"(a{i} OR b{i})" for i in range(8))  # 256 combinations
    hn = compile_hn(q)
    assert 0 < len(hn) <= 32
    details = compile_details(q, "hackernews")
    assert not details.exact
    post = " ".join(f"a{i}" for i in range(8))
    assert parse(q).matches_text(post)
    assert any(all(w in post.split() for w in h.split()) for h in hn)


# ---------------------------------------------------------------------------------------
# brand_query
# ---------------------------------------------------------------------------------------


def test_brand_query_from_keywords() -> None:
    brand = BrandConfig(name="Nimbus", keywords=["Німбус", "Nimbus Cloud"], handles=["@nimbus_hq"], languages=["en", "uk"])
    q = brand_query(brand)
    assert q.text == '("Nimbus" OR "Німбус" OR "Nimbus Cloud" OR @nimbus_hq) -from:nimbus_hq (lang:en OR lang:uk)'
    assert q.matches(_mention("Мій НІМБУС зламався", lang="uk", author="olena"))
    assert q.matches(_mention("@nimbus_hq my order?", lang="en"))
    assert not q.matches(_mention("Nimbus update is out", author="nimbus_hq"))
    assert not q.matches(_mention("Nimbus", lang="ru"))


def test_brand_query_uses_query_when_set() -> None:
    brand = BrandConfig(name="Acme", query="#acme OR @acme")
    assert brand_query(brand) == parse("#acme OR @acme")
    with pytest.raises(QuerySyntaxError):
        brand_query(BrandConfig(name="Acme", query="acme OR"))


def test_brand_query_quotes_odd_keywords() -> None:
    q = brand_query(BrandConfig(name='Say "Acme"', keywords=["OR", "a\\b"], languages=[]))
    assert q.text == r'"Say \"Acme\"" OR "OR" OR "a\\b"'
    assert q.matches_text("or else")


# ---------------------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parse_never_raises_anything_else(text: str) -> None:
    try:
        q = parse(text)
    except QuerySyntaxError as err:
        assert 0 <= err.position <= len(text)
    else:
        q.matches_text(text)
        explain(q)


_QUERYISH = st.lists(
    st.sampled_from(
        [
            "acme",
            "#acme",
            "@acme",
            "НІМБУС",
            "(",
            ")",
            '"',
            '"acme phone"',
            "AND",
            "OR",
            "NOT",
            "-",
            "-acme",
            "lang:en",
            "from:acme",
            "-from:x",
            "platform:reddit",
            "foo:bar",
            "lang:",
            "\\",
            "!!",
            "a-b",
            "ü",
        ]
    ),
    max_size=15,
)


@settings(max_examples=300, deadline=None)
@given(_QUERYISH, st.sampled_from([" ", "", "  "]))
def test_parse_queryish_never_raises_anything_else(parts: list[str], sep: str) -> None:
    text = sep.join(parts)
    try:
        q = parse(text)
    except QuerySyntaxError as err:
        assert 0 <= err.position <= len(text)
    else:
        assert parse(q.text) == q  # the canonical form parses back to the same query
        for platform in ("x", "reddit", "mastodon", "bluesky", "hackernews", "rss"):
            compile_for(q, platform)


# -- generated ASTs ------------------------------------------------------------------------

WORDS = ["acme", "nimbus", "phone", "jobs", "німбус", "київ", "нимбус", "ёлка", "café", "x1"]
HANDLES = ["acme", "bob", "anna_k"]
LANGS = ["en", "ru", "uk"]


@st.composite
def _word(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(WORDS))
    case = draw(st.sampled_from([str.lower, str.upper, str.title]))
    return case(word)


@st.composite
def _token(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["", "", "#", "@", "$"])) + draw(_word())


_term = st.one_of(_token(), st.builds(lambda a, b: f"{a}-{b}", _word(), _word())).map(Term)
_phrase = st.one_of(
    st.lists(_token(), min_size=1, max_size=3).map(" ".join),
    _word().map(lambda w: f'say "{w}"'),
).map(Phrase)
_field = st.one_of(
    st.sampled_from(LANGS).map(lambda v: Field("lang", v)),
    st.sampled_from(HANDLES).map(lambda v: Field("from", v)),
    st.sampled_from(["x", "reddit"]).map(lambda v: Field("platform", v)),
)


def _anchored_nodes() -> st.SearchStrategy[Node]:
    """Valid queries: something to look for outside NOT, with arbitrary parts beside it."""
    general: st.SearchStrategy[Node] = st.deferred(
        lambda: st.one_of(
            _term,
            _phrase,
            _field,
            st.builds(Not, general),
            st.lists(general, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(general, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        )
    )
    anchored: st.SearchStrategy[Node] = st.deferred(
        lambda: st.one_of(
            _term,
            _phrase,
            st.builds(lambda a, rest: And((a, *rest)), anchored, st.lists(general, min_size=1, max_size=2)),
            st.builds(lambda rest, a: And((*rest, a)), st.lists(general, min_size=1, max_size=2), anchored),
            st.lists(anchored, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
            st.builds(lambda a: Not(Not(a)), anchored),
        )
    )
    return anchored


def _depth(node: Node) -> int:
    if isinstance(node, Not):
        return 1 + _depth(node.operand)
    if isinstance(node, And | Or):
        return 1 + max(_depth(c) for c in node.operands)
    return 0


_queries = _anchored_nodes().filter(lambda ast: _depth(ast) <= 30)  # the parser stops at 64 levels


def _texts(node: Node) -> list[str]:
    if isinstance(node, Term | Phrase):
        return [node.text]
    if isinstance(node, Not):
        return _texts(node.operand)
    if isinstance(node, And | Or):
        return [t for c in node.operands for t in _texts(c)]
    return []


@st.composite
def _posts(draw: st.DrawFn, platform: str, node: Node | None = None) -> dict[str, str | None]:
    """A post made of vocabulary tokens and, when `node` is given, pieces of the query's own terms."""
    pieces = _token() if node is None else st.one_of(_token(), st.sampled_from(_texts(node) or ["acme"]))
    tokens = draw(st.lists(pieces, min_size=1, max_size=7))
    seps = draw(st.lists(st.sampled_from([" ", ", ", "! ", " - ", "'s ", "\n"]), min_size=len(tokens), max_size=len(tokens)))
    text = "".join(t + s for t, s in zip(tokens, seps, strict=True))
    return {
        "text": text,
        "lang": draw(st.sampled_from(["en", "ru", "uk", "und", None])),
        "author_handle": draw(st.sampled_from([*HANDLES, "carol", "acme@mastodon.social"])),
        "platform": platform,
    }


# -- a tiny, independent evaluator of our syntax (used for the compiled forms) -------------

_EVAL_TOKEN = re.compile(r"([#@$]?)(\w+)")


def _norm(s: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold())


def _eval_tokens(s: str) -> list[tuple[str, str]]:
    return _EVAL_TOKEN.findall(_norm(s))


def _eval_seq(needle: str, post: dict[str, str | None]) -> bool:
    want = _eval_tokens(needle)
    have = _eval_tokens(post["text"] or "")
    for i in range(len(have) - len(want) + 1):
        if all(w == h[1] and (not s or s == h[0]) for (s, w), h in zip(want, have[i:], strict=False)):
            return True
    return False


def _eval(node: Node, post: dict[str, str | None]) -> bool:
    if isinstance(node, Term | Phrase):
        return _eval_seq(node.text, post)
    if isinstance(node, Field):
        if node.name == "lang":
            lang = post["lang"]
            return lang is None or lang == node.value or lang.startswith(node.value + "-")
        if node.name == "from":
            author = (post["author_handle"] or "").lower()
            return author == node.value or author.startswith(node.value + "@")
        return post["platform"] == node.value
    if isinstance(node, Not):
        return not _eval(node.operand, post)
    if isinstance(node, And):
        return all(_eval(c, post) for c in node.operands)
    return any(_eval(c, post) for c in node.operands)


def _eval_mastodon(q: str, post: dict[str, str | None]) -> bool:
    """Mastodon: bare clauses are OR-ed (at least one must match), +clauses are required."""
    should: list[str] = []
    must: list[str] = []
    for plus, phrase, word in re.findall(r'(\+?)(?:"([^"]*)"|(\S+))', q):
        (must if plus else should).append(phrase or word)
    return any(_eval_seq(s, post) for s in should) and all(_eval_seq(m, post) for m in must)


_SLOW = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SLOW
@given(_queries)
def test_render_parse_round_trip(ast: Node) -> None:
    text = render(ast)
    assert parse_ast(text) == ast
    assert parse(text).ast == ast  # generated queries are valid (anchored)


@_SLOW
@given(_queries, st.data())
def test_local_matching_agrees_with_independent_evaluator(ast: Node, data: st.DataObject) -> None:
    q = parse(render(ast))
    posts = data.draw(st.lists(_posts("x", ast), min_size=1, max_size=6))
    for post in posts:
        assert q.matches_text(**post) == _eval(ast, post), post  # type: ignore[arg-type]


@_SLOW
@given(_queries, st.data())
def test_local_filtering_agrees_with_compiled_x(ast: Node, data: st.DataObject) -> None:
    q = parse(render(ast))
    posts = data.draw(st.lists(_posts("x", ast), min_size=1, max_size=6))
    details = compile_details(q, "x")
    assert details.queries is not None
    compiled = [parse_ast(text) for text in details.queries]  # the X form is valid in our syntax
    for post in posts:
        local = q.matches_text(**post)  # type: ignore[arg-type]
        server = any(_eval(c, post) for c in compiled)
        if details.exact:
            assert local == server, (details, post)
        else:
            assert server or not local, (details, post)  # never miss a post the local filter accepts


@_SLOW
@given(_queries, st.data())
def test_compiled_forms_are_supersets(ast: Node, data: st.DataObject) -> None:
    q = parse(render(ast))
    posts = data.draw(st.lists(_posts("any", ast), min_size=1, max_size=6))
    reddit = compile_reddit(q)
    reddit_ast = parse_ast(reddit) if reddit is not None else None
    hn = [parse_ast(h) for h in compile_hn(q)]
    bluesky = [parse_ast(b) for b in compile_bluesky(q)]
    mastodon = compile_mastodon(q)
    single = {p: compile_for(q, p) for p in ("mastodon", "bluesky", "hackernews")}
    for base in posts:
        for platform in ("reddit", "hackernews", "bluesky", "mastodon"):
            post = {**base, "platform": platform}
            if not q.matches_text(**post):  # type: ignore[arg-type]
                continue
            if platform == "reddit":
                assert reddit_ast is not None and _eval(reddit_ast, post), (reddit, post)
            elif platform == "mastodon":
                assert any(_eval_mastodon(m, post) for m in mastodon), (mastodon, post)
                assert _eval_mastodon(single["mastodon"] or "", post), (single, post)
            else:
                compiled = hn if platform == "hackernews" else bluesky
                assert any(_eval(c, post) for c in compiled), (platform, compiled, post)
                one = single[platform]
                assert one is not None
                if platform == "hackernews":
                    assert all(_eval_seq(w, post) for w in one.split()), (one, post)
                else:  # "(a b) | c": alternatives joined with |, each in our syntax
                    alternatives = [parse_ast(alt.strip().strip("()")) for alt in one.split(" | ")]
                    assert any(_eval(a, post) for a in alternatives), (one, post)
