"""Salesforce through the real simple-salesforce client against documented / recorded responses served locally
(see fixtures/salesforce/SOURCE.md): SOQL paging via nextRecordsUrl, an invalid session, campaign members, cases."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import Engine

from advocates import salesforce
from advocates.cases import decide, send
from advocates.config import AdvocatesConfig
from brandpulse.errors import CredentialsError
from brandpulse.store.cases import list_cases
from brandpulse.store.contacts import Contact, decide_link, list_contacts, upsert_contacts
from tests.crm_fake import crm_server, recorded
from tests.test_advocates_rank import seed_advocates
from tests.test_crm_hubspot import _author_id

V = "/services/data/v59.0"
SESSION = "00Dxx0000001gPL!not-a-real-session"


class _PlainHTTP(HTTPAdapter):
    """simple-salesforce always builds https:// URLs; the local fake speaks plain HTTP, so the test session rewrites them."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        request.url = (request.url or "").replace("https://", "http://", 1)
        return super().send(request, **kwargs)


def _sf(url: str) -> Any:
    session = requests.Session()
    session.mount("https://", _PlainHTTP())
    return salesforce.client(instance_url=url.replace("http://", "https://"), session_id=SESSION, session=session)


def test_import_follows_next_records_url(engine: Engine) -> None:
    first = recorded("salesforce", "query_first_page_docs.json")
    locator = first["body"]["nextRecordsUrl"]
    script = {f"GET {V}/query/": [first], f"GET {locator}": [recorded("salesforce", "query_last_page_docs.json")]}
    with crm_server(script) as srv:
        res = salesforce.import_contacts(_sf(srv.url), {"x": "Twitter__c"})
        reqs = srv.server.requests  # type: ignore[attr-defined]
    assert [r["path"] for r in reqs] == [f"{V}/query/", locator]
    assert "FROM+Contact" in reqs[0]["url"] and "Twitter__c" in reqs[0]["url"]
    assert all(r["auth"] == f"Bearer {SESSION}" for r in reqs)
    assert [(c.source, c.external_id, c.name) for c in res.contacts] == [("salesforce", "003RO0000035WQgYAM", "John Smith")]
    upsert_contacts(engine, res.contacts)
    assert [c.external_id for c in list_contacts(engine)] == ["003RO0000035WQgYAM"]


def test_invalid_session_is_a_credentials_error_without_the_session() -> None:
    script = {f"GET {V}/query/": [recorded("salesforce", "error_401_invalid_session_docs.json")]}
    with crm_server(script) as srv, pytest.raises(CredentialsError) as err:
        salesforce.import_contacts(_sf(srv.url))
    msg = str(err.value)
    assert "INVALID_SESSION_ID" in msg and "SALESFORCE_USERNAME" in msg and SESSION not in msg


def test_campaign_members_and_a_case_once_per_mention(engine: Engine) -> None:
    seed_advocates(engine)
    upsert_contacts(engine, [Contact("salesforce", "003D000000QV9n2IAD", "Ivan", "ivan@example.org")])
    decide_link(engine, _author_id(engine, "angry_ivan"), list_contacts(engine)[0].id, "confirmed")
    created = recorded("salesforce", "sobject_create_201.json")
    script = {f"POST {V}/sobjects/CampaignMember/": [created], f"POST {V}/sobjects/Case/": [created]}
    with crm_server(script) as srv:
        sf = _sf(srv.url)
        assert salesforce.add_to_campaign(sf, "701D0000000TXnB", ["003D000000QV9n2IAD"]) == ["a00B000000FSkcvIAD"]
        cfg = AdvocatesConfig(cases={"Nimbus": "salesforce"})
        assert decide(engine, cfg, "m@r") == {"Nimbus": 5}
        assert send(engine, "salesforce", sf) == {"sent": 5, "failed": 0}
        assert send(engine, "salesforce", sf) == {"sent": 0, "failed": 0}  # nothing left to open
        reqs = srv.server.requests  # type: ignore[attr-defined]
    assert reqs[0]["body"] == {"CampaignId": "701D0000000TXnB", "ContactId": "003D000000QV9n2IAD", "Status": "Sent"}
    cases = [r["body"] for r in reqs if r["path"].endswith("/Case/")]
    assert len(cases) == 5 and all(c["ContactId"] == "003D000000QV9n2IAD" for c in cases)
    assert "support ignores me" in cases[0]["Description"] and "https://x.com/angry_ivan/status/" in cases[0]["Description"]
    assert {c["status"] for c in list_cases(engine, "salesforce")} == {"sent"}
