"""Author profiles: one person's accounts merged by a confirmed CRM link or an exact profile link; the aggregates."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, update

from advocates.profiles import build_profiles
from brandpulse.store.contacts import Contact, decide_link, list_contacts, upsert_contacts
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.schema import AuthorRow
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import SentimentScore
from tests.conftest import make_mention


def _score_all(engine: Engine) -> None:
    rows = pending_mentions(engine, "m", "r", 1000)
    save_scores(engine, [(p.id, SentimentScore("negative" if "bad" in p.text else "positive",
                                               {"positive": 0.5, "neutral": 0.2, "negative": 0.3}, 0.5, {}, "m", "r"))
                         for p in rows], {p.id: "en" for p in rows})


def test_accounts_merge_by_confirmed_link_and_profile_url(engine: Engine) -> None:
    insert_mentions(engine, [
        make_mention(1, author="anna", platform="x", followers=900, text="nimbus is lovely"),
        make_mention(2, author="anna@mastodon.social", platform="mastodon", followers=50, hours=30,
                     text="nimbus bad sync"),
        make_mention(3, author="anna_b", platform="bluesky", followers=10, hours=60, brand="Orbita"),
        make_mention(4, author="ivan", platform="x", followers=10, hours=2),
        make_mention(5, author="ivan_m", platform="mastodon", followers=10, hours=3),
    ])
    _score_all(engine)
    upsert_contacts(engine, [Contact("csv", "c1", "Anna B")])
    cid = list_contacts(engine)[0].id
    with session_scope(engine) as s:
        ids = {h: i for i, h in s.query(AuthorRow.id, AuthorRow.handle)}
        s.execute(update(AuthorRow).where(AuthorRow.handle == "anna_b").values(
            profile={"description": "also https://x.com/Anna"}))
    decide_link(engine, ids["anna"], cid, "confirmed")
    decide_link(engine, ids["anna@mastodon.social"], cid, "confirmed")

    profiles = {p.key: p for p in build_profiles(engine, "m@r")}
    anna = profiles["x:anna"]
    assert sorted(anna.accounts) == ["bluesky:anna_b", "mastodon:anna@mastodon.social", "x:anna"]
    assert anna.contact_id == cid and anna.link_status == "confirmed" and anna.followers == 900
    assert anna.mentions_by_brand == {"Nimbus": 2, "Orbita": 1}
    assert anna.sentiment_counts == {"positive": 2, "neutral": 0, "negative": 1}
    assert anna.platforms == ["bluesky", "mastodon", "x"] and anna.languages == ["en"]
    assert anna.last_seen is not None and anna.first_seen is not None
    assert anna.last_seen - anna.first_seen == timedelta(hours=60)
    # no link between ivan's accounts: they stay apart
    assert "x:ivan" in profiles and "mastodon:ivan_m" in profiles
