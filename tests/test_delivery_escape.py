"""Hostile post text arrives in Slack inert: no pings, no hidden links, no formatting, within limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from alerts.delivery.escape import cut, escape_text, inert, link, quote_block
from alerts.delivery.message import AlertMessage, Post
from alerts.delivery.slack import MAX_SECTION, build_payload
from tests.slackfake import limit_violations

HOSTILE = [
    "<!channel> everyone look",
    "<!here|here> and <!everyone>",
    "hey <@U024BE7LH> and <#C024BE7LH|general> and <!subteam^SAZ94GDB8>",
    "log in at <https://evil.example|bank.example.com> now",
    "*bold* _italic_ ~strike~ `code` ```block```",
    "> fake quote\n>> nested",
    "Tom & Jerry &amp; &lt;b&gt;",
    "@channel @here @everyone wake up",
    "right-to-left \u202eknil.evil\u202c hidden",
]


def _controls(text: str) -> list[str]:
    """Slack control sequences still live in `text`: <…> commands/links and raw & not starting an entity."""
    found = re.findall(r"<[^>]*>", text)
    found += re.findall(r"&(?!amp;|lt;|gt;)", text)
    return found


def test_escape_is_what_slack_documents() -> None:
    assert escape_text("a & b < c > d") == "a &amp; b &lt; c &gt; d"


def test_hostile_posts_cannot_ping_link_or_format() -> None:
    for post in HOSTILE:
        out = inert(post)
        assert _controls(out) == [], post
        assert not re.search(r"[*_~`]", out), post
        assert not re.search(r"(^|\n)\s*(>|&gt;)", out), post
        assert "\u202e" not in out
        assert not re.search(r"@(channel|here|everyone)", out, re.IGNORECASE)
    # the words themselves are still readable
    assert "channel" in inert("<!channel>") and "bank.example.com" in inert(HOSTILE[3])


def test_links_we_build_cannot_be_hijacked() -> None:
    assert link("https://ok.example/a|b>c", "label|x") == "<https://ok.example/a%7Cb%3Ec|label¦x>"
    assert link("javascript:alert(1)", "post") == "post"
    assert link(None, "*post*") == "\u2217post\u2217"


def test_cut_is_clean() -> None:
    text = "word " * 1000
    out = cut(text, 3000)
    assert len(out) <= 3000 and out.endswith("…") and out[:-1].endswith("word")
    assert cut("a &amp; b", 5) == "a…"  # never half an entity
    assert cut("short", 10) == "short"


def test_5000_character_post_is_quoted_within_the_section_limit() -> None:
    post = ("<!channel> *buy* now " * 300)[:5000]
    q = quote_block(post, MAX_SECTION - 100)
    assert len(q) <= MAX_SECTION - 100
    assert q.startswith(">") and q.endswith("…")
    assert _controls(q) == [] and "*" not in q


def test_a_message_full_of_hostile_posts_is_valid_for_slack() -> None:
    posts = [Post(text=t, url="https://x.example/status/1?a=1&b=2", author="evil_<!here>", platform="x")
             for t in [*HOSTILE, "x" * 5000]]
    msg = AlertMessage(alert_id=7, event="opened", brand="Nimbus", rule="negativity_spike", severity="critical",
                       state="open", window_start=datetime(2026, 11, 2, 13, tzinfo=UTC),
                       window_end=datetime(2026, 11, 2, 15, tzinfo=UTC),
                       metrics={"negative": 42, "total": 68, "negative_share": 0.62, "baseline_share": 0.2},
                       why="42 negative of 68 mentions", posts=posts, authors=[{"author_handle": "<!channel>"}],
                       terms=["*refund*", "<@U1>"], emotions={"anger": 0.4}, dashboard_url="https://bp.example/")
    payload = build_payload(msg, "brandpulse-alert-7-delivery-1")
    assert limit_violations(payload) == []
    for block in payload["blocks"][1:]:
        for text in [block.get("text", {}).get("text", "")] + [e["text"] for e in block.get("elements", [])]:
            links = re.findall(r"<([^>]*)>", text)
            assert all(lk.startswith(("https://x.example/", "https://bp.example/")) for lk in links), links
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
