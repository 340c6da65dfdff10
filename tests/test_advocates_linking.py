"""Linking authors to CRM contacts: handle forms, e-mail in profile, transliterated names, namesakes, decisions kept."""

from __future__ import annotations

from sqlalchemy import Engine, update

from advocates.config import AdvocatesConfig
from advocates.handles import normalise_handle
from advocates.linking import AuthorInput, link_authors, match_all
from brandpulse.store.contacts import Contact, decide_link, links_frame, list_contacts, list_links, upsert_contacts
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.schema import AuthorRow
from tests.conftest import make_mention

CFG = AdvocatesConfig()


def test_handle_forms_normalise_to_one_key() -> None:
    for form in ("@Fan_Anna", "fan_anna", "https://twitter.com/Fan_Anna", "x.com/fan_anna/", "https://mobile.x.com/FAN_ANNA?s=20",
                 "x:@fan_anna"):
        assert normalise_handle(form, "x")[1] == "fan_anna", form
    assert normalise_handle("https://www.reddit.com/user/Spez/") == ("reddit", "spez")
    assert normalise_handle("https://bsky.app/profile/anna.bsky.social") == ("bluesky", "anna.bsky.social")
    assert normalise_handle("https://mastodon.social/@Anna") == ("mastodon", "anna@mastodon.social")


def _c(i: int, name: str, **kw: object) -> Contact:
    return Contact(source="csv", external_id=f"c{i}", name=name, id=i, **kw)  # type: ignore[arg-type]


def test_signals_and_confidence() -> None:
    contacts = [
        _c(1, "Anna Petrova", handles={"x": "https://twitter.com/Fan_Anna"}),
        _c(2, "Олександр Ковальчук", email="okoval@example.org"),
        _c(3, "Maria Ivanova"),
        _c(4, "Maria Ivanova"),
        _c(5, "Юлия Тимошенко"),
    ]
    authors = [
        AuthorInput(10, "x", "fan_anna", "Anna P."),
        AuthorInput(11, "mastodon", "oleks@mastodon.social", "Oleksandr K", {"note": "write me: OKoval@example.org"}),
        AuthorInput(12, "x", "mashaiv", "Maria Ivanova"),
        AuthorInput(13, "x", "yulia_t", "Yulia Tymoshenko"),
        AuthorInput(14, "x", "nobody", "Someone Else"),
    ]
    links = {(lk.author_id, lk.contact_id): lk for lk in match_all(authors, contacts, CFG)}
    assert links[(10, 1)].status == "auto" and links[(10, 1)].method == "handle"
    assert links[(11, 2)].status == "auto" and links[(11, 2)].method == "email"
    # namesakes: both proposed, neither automatic
    assert links[(12, 3)].status == "proposed" and links[(12, 4)].status == "proposed"
    # Latin spelling of a Cyrillic name meets it, but a name alone waits for a person
    assert links[(13, 5)].status == "proposed" and links[(13, 5)].method == "name"
    assert not any(a == 14 for a, _ in links)


def test_decisions_are_never_overwritten_by_matching(engine: Engine) -> None:
    insert_mentions(engine, [make_mention(1, author="fan_anna"), make_mention(2, author="mashaiv")])
    with session_scope(engine) as s:
        s.execute(update(AuthorRow).where(AuthorRow.handle == "mashaiv").values(display_name="Maria Ivanova"))
    upsert_contacts(engine, [Contact("csv", "c1", "Anna Petrova", handles={"x": "@FAN_ANNA"}),
                             Contact("csv", "c3", "Maria Ivanova"), Contact("csv", "c4", "Maria Ivanova")])
    counts = link_authors(engine, CFG)
    assert counts["auto"] == 1 and counts["proposed"] == 2
    ids = {c.external_id: c.id for c in list_contacts(engine)}
    proposed = links_frame(engine, ["proposed"])
    masha = int(proposed.iloc[0]["author_id"])
    decide_link(engine, masha, ids["c4"], "confirmed", by="tester")
    auto = list_links(engine, ["auto"])[0]
    decide_link(engine, auto.author_id, auto.contact_id, "rejected", by="tester")
    again = link_authors(engine, CFG)
    assert again["auto"] == 0 and again["proposed"] == 0 and again["kept"] == 3
    status = {(lk.author_id, lk.contact_id): lk.status for lk in list_links(engine)}
    assert status[(masha, ids["c4"])] == "confirmed" and status[(masha, ids["c3"])] == "rejected"
    assert status[(auto.author_id, auto.contact_id)] == "rejected"
    with session_scope(engine) as s:
        row = s.query(AuthorRow).filter_by(handle="mashaiv").one()
        assert row.crm_contact_id == "c4" and row.crm_confirmed
        assert s.query(AuthorRow).filter_by(handle="fan_anna").one().crm_contact_id is None
