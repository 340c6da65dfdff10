"""Salesforce through `simple-salesforce`: Contacts by SOQL (`query_all_iter` follows `nextRecordsUrl`),
CampaignMember rows for chosen advocates, Cases for complaints.

Credentials come from SALESFORCE_USERNAME / SALESFORCE_PASSWORD / SALESFORCE_SECURITY_TOKEN (or, for a session a
caller already holds, an instance URL + session id). An expired or invalid session (HTTP 401 INVALID_SESSION_ID)
becomes a CredentialsError that says what to do and never carries a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from advocates.crm_values import field_text
from brandpulse.config import secret
from brandpulse.errors import CredentialsError, InputError, SourceError
from brandpulse.store.contacts import Contact

log = logging.getLogger(__name__)
T = TypeVar("T")

SOURCE = "salesforce"
ENV = ("SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN")
#: standard Contact fields read; custom social-handle fields (e.g. Twitter__c) are added with `handle_fields`
FIELDS = ["Id", "Name", "FirstName", "LastName", "Email", "HasOptedOutOfEmail", "Account.Name", "Account.Website"]
_SOQL_NAME = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


@dataclass
class SalesforceImport:
    contacts: list[Contact] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def client(*, instance_url: str | None = None, session_id: str | None = None, session: Any = None,
           domain: str | None = None) -> Any:
    """A `simple_salesforce.Salesforce`: an existing session when given, else a login with the environment's credentials."""
    from simple_salesforce import Salesforce
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    if session_id and instance_url:
        return Salesforce(instance_url=instance_url, session_id=session_id, session=session)
    user, password, token = (secret(n) for n in ENV)
    try:
        return Salesforce(username=user.get_secret_value(), password=password.get_secret_value(),  # type: ignore[union-attr]
                          security_token=token.get_secret_value(), domain=domain, session=session)  # type: ignore[union-attr]
    except SalesforceAuthenticationFailed:
        raise CredentialsError(
            "Salesforce refused the login (username, password or security token wrong, or the user is locked)",
            hint="Check SALESFORCE_USERNAME / SALESFORCE_PASSWORD, reset the security token in Salesforce "
                 "(Settings → Reset My Security Token) into SALESFORCE_SECURITY_TOKEN, and run again.") from None


def call(fn: Callable[[], T], what: str) -> T:
    """Run one Salesforce call; an expired session → CredentialsError, any other API failure → SourceError."""
    from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

    try:
        return fn()
    except SalesforceExpiredSession:
        raise CredentialsError(
            f"Salesforce rejected the session while {what} (HTTP 401 INVALID_SESSION_ID: expired or invalid)",
            hint="Log in again: check SALESFORCE_USERNAME / SALESFORCE_PASSWORD / SALESFORCE_SECURITY_TOKEN "
                 "(or get a fresh session id), then run the command again.") from None
    except SalesforceError as exc:
        code = ""
        content = getattr(exc, "content", None)
        if isinstance(content, list) and content and isinstance(content[0], dict):
            code = str(content[0].get("errorCode", ""))
        raise SourceError(f"Salesforce answered HTTP {getattr(exc, 'status', '?')} {code} while {what}") from None
    except OSError as exc:
        raise SourceError(f"Salesforce unreachable while {what}: {exc.__class__.__name__}") from None


def soql(handle_fields: dict[str, str] | None = None) -> str:
    fields = list(FIELDS)
    for f in (handle_fields or {}).values():
        if not f or not set(f) <= _SOQL_NAME:
            raise InputError(f"{f!r} is not a Salesforce field name",
                             hint="Name Contact fields as PLATFORM=Field__c, e.g. --field x=Twitter__c.")
        if f not in fields:
            fields.append(f)
    return f"SELECT {', '.join(fields)} FROM Contact ORDER BY Id"


def _dig(rec: dict[str, Any], path: str) -> Any:
    cur: Any = rec
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _contact(rec: dict[str, Any], handle_fields: dict[str, str]) -> Contact | None:
    ext = field_text(rec.get("Id"))
    if not ext:
        return None
    parts = (field_text(rec.get("FirstName")), field_text(rec.get("LastName")))
    name = field_text(rec.get("Name")) or " ".join(p for p in parts if p) or None
    email = (field_text(rec.get("Email")) or "").lower() or None
    website = field_text(_dig(rec, "Account.Website"))
    handles = {plat: h for plat, f in handle_fields.items() if (h := field_text(_dig(rec, f)))}
    if not (name or email or website or handles):
        return None
    raw = {k: v for k, v in rec.items() if k != "attributes"}
    return Contact(source=SOURCE, external_id=ext, name=name, email=email, website=website,
                   company=field_text(_dig(rec, "Account.Name")), handles=handles,
                   opted_out=rec.get("HasOptedOutOfEmail") is True, raw=raw)


def iter_records(sf: Any, query: str) -> Iterator[dict[str, Any]]:
    it = call(lambda: iter(sf.query_all_iter(query)), "querying Contacts")
    while True:
        rec = call(lambda: next(it, None), "querying Contacts")
        if rec is None:
            return
        yield rec


def import_contacts(sf: Any, handle_fields: dict[str, str] | None = None) -> SalesforceImport:
    """Every Contact (all pages); a record with nothing to link by is logged and skipped, the rest kept."""
    hf = dict(handle_fields or {})
    out = SalesforceImport()
    for rec in iter_records(sf, soql(hf)):
        c = _contact(rec, hf)
        if c is None:
            rid = rec.get("Id") or "<no Id>"
            out.skipped.append(f"Contact {rid}: no name, e-mail, website or social handle to link by")
            log.warning("skipping Salesforce Contact %s: nothing to link by", rid)
            continue
        out.contacts.append(c)
    return out


def add_to_campaign(sf: Any, campaign_id: str, contact_ids: Sequence[str], status: str = "Sent") -> list[str]:
    """One CampaignMember per contact; returns the new member ids."""
    ids = []
    for cid in contact_ids:
        res: Any = call(partial(sf.CampaignMember.create, {"CampaignId": campaign_id, "ContactId": cid, "Status": status}),
                        "adding a campaign member")
        ids.append(str(res.get("id")))
    return ids


def find_case(sf: Any, subject: str) -> str | None:
    """The id of a Case whose subject is exactly `subject` (how a retry finds a case it already opened)."""
    quoted = subject.replace("\\", "\\\\").replace("'", "\\'")
    res = call(lambda: sf.query(f"SELECT Id FROM Case WHERE Subject = '{quoted}' LIMIT 1"), "looking up a Case")
    recs = res.get("records") or []
    return str(recs[0]["Id"]) if recs else None


def create_case(sf: Any, contact_id: str, subject: str, description: str) -> str:
    res = call(lambda: sf.Case.create({"ContactId": contact_id, "Subject": subject, "Description": description,
                                       "Origin": "Web", "Priority": "Medium"}), "opening a Case")
    if not res.get("id"):
        raise SourceError("Salesforce accepted the Case but returned no id")
    return str(res["id"])
