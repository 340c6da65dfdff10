"""Property tests (hypothesis) for the outside-data parsers test_hostile_parsers.py leaves out: RSS/Atom feed bodies
(recorded real feeds cut off, with bytes inserted or text replaced) and CRM API records (recorded HubSpot and
Salesforce payloads with leaves replaced by arbitrary JSON values). Arbitrary input yields mentions / contacts or the
documented error, never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from brandpulse.errors import SourceError
from brandpulse.types import Mention
from listener.common import BrandTarget
from listener.rss import RSSCollector, RSSOptions
from tests.test_hostile_parsers import SOME, _check_mention, any_text, mutated

FIX = Path(__file__).parent / "fixtures"
FEEDS = [p.read_bytes() for p in sorted((FIX / "rss").glob("*.xml")) + sorted((FIX / "rss" / "recorded").glob("*.xml"))]


@st.composite
def hostile_feed(draw: st.DrawFn) -> bytes:
    body = draw(st.sampled_from(FEEDS))
    how = draw(st.sampled_from(["cut", "insert", "replace"]))
    at = draw(st.integers(0, len(body)))
    if how == "cut":
        return body[:at]
    junk = draw(st.binary(max_size=40) | any_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
    return body[:at] + junk + body[at + (len(junk) if how == "replace" else 0):]


@SOME
@given(body=hostile_feed(), content_type=st.sampled_from(["application/rss+xml", "application/atom+xml; charset=utf-8",
                                                           "text/xml; charset=iso-8859-1", "text/html"]))
@example(body=(FIX / "rss" / "google_alerts_atom.xml").read_bytes().replace(b"url=https://", b"url=https://[", 1),
         content_type="application/rss+xml")  # a wrapped link that cannot be split ("Invalid IPv6 URL")
def test_rss_feeds_yield_mentions_or_a_source_error(body: bytes, content_type: str) -> None:
    transport = httpx.MockTransport(lambda _req: httpx.Response(200, content=body,
                                                                headers={"content-type": content_type}))
    with httpx.Client(transport=transport) as client:
        c = RSSCollector(RSSOptions.model_validate({"feeds": ["https://feeds.example/news.xml"]}), client,
                         targets=[BrandTarget("Any", "", None)], key="feeds")
        try:
            got = list(c.fetch(None))
        except SourceError as exc:
            assert "feeds.example" in str(exc)
            return
    for m in got:
        assert isinstance(m, Mention)
        _check_mention(m)
    assert c.cursor() is not None  # what was read is remembered


_HUBSPOT = json.loads((FIX / "hubspot" / "contacts_search_last_page.json").read_text(encoding="utf-8"))
_SALESFORCE = json.loads((FIX / "salesforce" / "query_first_page_docs.json").read_text(encoding="utf-8"))


@SOME
@given(obj=mutated(_HUBSPOT["response"]["body"]["results"][0]))
@example(obj={**_HUBSPOT["response"]["body"]["results"][0], "id": ""})  # no id to link by: skipped
def test_hubspot_objects_are_contacts_or_skipped(obj: dict[str, Any]) -> None:
    from advocates.hubspot import _contact

    c = _contact(SimpleNamespace(id=obj.get("id", "1"), properties=obj.get("properties")))
    if c is not None:
        assert c.external_id and all(isinstance(v, str) and v for v in c.handles.values())
        assert c.email is None or isinstance(c.email, str)


@SOME
@given(rec=mutated({**_SALESFORCE["response"]["body"]["records"][0], "Email": "jsmith@example.com",
                    "Account": {"Name": "Acme", "Website": "https://acme.example"}, "Twitter__c": "jsmith"}))
def test_salesforce_records_are_contacts_or_skipped(rec: dict[str, Any]) -> None:
    from advocates.salesforce import _contact

    c = _contact(rec, {"x": "Twitter__c"})
    if c is not None:
        assert isinstance(c.external_id, str) and c.external_id
        assert c.name is None or isinstance(c.name, str)
        assert c.website is None or isinstance(c.website, str)
        assert all(isinstance(v, str) and v for v in c.handles.values())
