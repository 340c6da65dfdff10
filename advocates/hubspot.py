"""HubSpot through `hubspot-api-client`: contacts search with paging, a property set on chosen contacts, tickets.

Rate limits: a 429 is retried (tenacity) after the wait the response names — `Retry-After` (seconds) when sent,
else HubSpot's `X-HubSpot-RateLimit-Interval-Milliseconds` window, else exponential backoff — at most
`MAX_ATTEMPTS` times. A 401 becomes a CredentialsError that says what to do and never carries the token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from advocates.crm_values import field_text
from brandpulse.config import secret
from brandpulse.errors import CredentialsError, RateLimitedError, SourceError
from brandpulse.store.contacts import Contact

log = logging.getLogger(__name__)
T = TypeVar("T")

SOURCE = "hubspot"
TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"
MAX_ATTEMPTS = 5
PAGE_SIZE = 100
#: contact property → Contact handle field
HANDLE_PROPERTIES = {"twitterhandle": "x", "hs_linkedin_url": "any"}
PROPERTIES = ["firstname", "lastname", "email", "website", "company", "hs_email_optout", *HANDLE_PROPERTIES]
#: HubSpot-defined association type "ticket to contact"
TICKET_TO_CONTACT = 16


class _RateLimited(Exception):
    def __init__(self, wait_s: float) -> None:
        super().__init__(f"rate limited, retry in {wait_s:.1f}s")
        self.wait_s = wait_s


@dataclass
class HubSpotImport:
    contacts: list[Contact] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    pages: int = 0


def client(host: str | None = None, token: str | None = None) -> Any:
    """A `hubspot.Client` with the token from HUBSPOT_ACCESS_TOKEN; `host` points it elsewhere (tests: a local server)."""
    import hubspot

    tok = token or secret(TOKEN_ENV)
    value = tok if isinstance(tok, str) else tok.get_secret_value()  # type: ignore[union-attr]
    kwargs: dict[str, Any] = {"access_token": value}
    if host:
        kwargs["host"] = host.rstrip("/")
    return hubspot.Client.create(**kwargs)


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for k, v in dict(headers).items():
        if str(k).lower() == name.lower():
            return str(v)
    return None


def _wait_for(headers: Any, attempt: int) -> float:
    retry_after = _header(headers, "Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
    interval = _header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
    if interval and interval.isdigit():
        return int(interval) / 1000.0
    return float(min(2 ** (attempt - 1), 30))


def _credentials_error(what: str) -> CredentialsError:
    return CredentialsError(
        f"HubSpot refused the access token while {what} (HTTP 401: expired, revoked or wrong)",
        hint=f"Create a new private-app access token in HubSpot (Settings → Integrations → Private apps) with the CRM "
             f"contacts/tickets scopes, put it in {TOKEN_ENV}, and run the command again.")


def call(fn: Callable[[], T], what: str, *, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run one API call, waiting out 429s as HubSpot asks; 401 → CredentialsError, other failures → SourceError."""
    from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
    from hubspot.crm.tickets.exceptions import ApiException as TicketsApiException

    api_errors = (ContactsApiException, TicketsApiException)

    def attempt() -> T:
        try:
            return fn()
        except api_errors as exc:
            status = getattr(exc, "status", None)
            if status == 429:
                raise _RateLimited(_wait_for(getattr(exc, "headers", None), state_attempt[0])) from None
            if status in (401, 403):
                raise _credentials_error(what) from None
            raise SourceError(f"HubSpot answered HTTP {status} while {what}: {getattr(exc, 'reason', '')}") from None
        except OSError as exc:
            raise SourceError(f"HubSpot unreachable while {what}: {exc.__class__.__name__}") from None

    state_attempt = [1]

    def wait(rs: RetryCallState) -> float:
        exc = rs.outcome.exception() if rs.outcome else None
        state_attempt[0] = rs.attempt_number + 1
        return exc.wait_s if isinstance(exc, _RateLimited) else 1.0

    retrying = Retrying(retry=retry_if_exception_type(_RateLimited), stop=stop_after_attempt(MAX_ATTEMPTS), wait=wait,
                        sleep=sleep, reraise=True)
    try:
        return retrying(attempt)
    except _RateLimited:
        raise RateLimitedError("HubSpot", None) from None


def _contact(obj: Any) -> Contact | None:
    ext = field_text(getattr(obj, "id", None))
    if not ext:
        return None
    raw_props = getattr(obj, "properties", None)
    props: dict[str, Any] = dict(raw_props) if isinstance(raw_props, dict) else {}
    text = {k: field_text(v) for k, v in props.items()}
    name = " ".join(p for p in (text.get("firstname"), text.get("lastname")) if p)
    email = (text.get("email") or "").lower() or None
    website = text.get("website")
    handles = {f: h for p, f in HANDLE_PROPERTIES.items() if (h := text.get(p))}
    if not (name or email or website or handles):
        return None
    return Contact(source=SOURCE, external_id=ext, name=name or None, email=email, website=website,
                   company=text.get("company"), handles=handles,
                   opted_out=(text.get("hs_email_optout") or "").lower() == "true",
                   raw={k: v for k, v in props.items() if v is not None})


def iter_pages(api: Any, *, page_size: int = PAGE_SIZE, sleep: Callable[[float], None] = time.sleep) -> Iterator[Any]:
    """Each page of `POST /crm/v3/objects/contacts/search`, following `paging.next.after` until there is none."""
    from hubspot.crm.contacts import PublicObjectSearchRequest

    after: str | None = None
    while True:
        req = PublicObjectSearchRequest(properties=PROPERTIES, limit=page_size,
                                        sorts=["hs_object_id"], **({"after": after} if after else {}))
        page: Any = call(partial(api.crm.contacts.search_api.do_search, public_object_search_request=req),
                         "searching contacts", sleep=sleep)
        yield page
        nxt = getattr(getattr(page, "paging", None), "next", None)
        after = getattr(nxt, "after", None)
        if not after:
            return


def import_contacts(api: Any, *, page_size: int = PAGE_SIZE, sleep: Callable[[float], None] = time.sleep) -> HubSpotImport:
    """All contacts; a record with nothing to link by is logged and skipped, the rest kept."""
    out = HubSpotImport()
    for page in iter_pages(api, page_size=page_size, sleep=sleep):
        out.pages += 1
        for obj in page.results or []:
            c = _contact(obj)
            if c is None:
                out.skipped.append(f"contact {obj.id}: no name, e-mail, website or social handle to link by")
                log.warning("skipping HubSpot contact %s: nothing to link by", obj.id)
                continue
            out.contacts.append(c)
    return out


def set_property(api: Any, contact_ids: Sequence[str], prop: str, value: str, *,
                 sleep: Callable[[float], None] = time.sleep) -> int:
    """Set `prop` = `value` on the contacts (batch update, 100 per call); returns how many HubSpot updated."""
    from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput

    done = 0
    for i in range(0, len(contact_ids), 100):
        chunk = contact_ids[i : i + 100]
        body = BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=cid, properties={prop: value}) for cid in chunk])
        res: Any = call(partial(api.crm.contacts.batch_api.update, batch_input_simple_public_object_batch_input=body),
                        f"setting {prop} on contacts", sleep=sleep)
        done += len(getattr(res, "results", None) or [])
    return done


def find_ticket(api: Any, subject: str, *, sleep: Callable[[float], None] = time.sleep) -> str | None:
    """The id of a ticket whose subject is exactly `subject` (how a retry finds a ticket it already opened)."""
    from hubspot.crm.tickets import Filter, FilterGroup, PublicObjectSearchRequest

    req = PublicObjectSearchRequest(filter_groups=[FilterGroup(filters=[Filter(property_name="subject", operator="EQ",
                                                                               value=subject)])],
                                    properties=["subject"], limit=1)
    page = call(lambda: api.crm.tickets.search_api.do_search(public_object_search_request=req), "looking up a ticket",
                sleep=sleep)
    results = page.results or []
    return str(results[0].id) if results else None


def create_ticket(api: Any, contact_id: str, subject: str, content: str, *,
                  sleep: Callable[[float], None] = time.sleep) -> str:
    """Open a ticket tied to the contact; returns the ticket id."""
    from hubspot.crm.tickets import (
        AssociationSpec,
        BatchInputSimplePublicObjectBatchInputForCreate,
        PublicAssociationsForObject,
        PublicObjectId,
        SimplePublicObjectBatchInputForCreate,
    )

    assoc = PublicAssociationsForObject(to=PublicObjectId(id=contact_id), types=[
        AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=TICKET_TO_CONTACT)])
    body = BatchInputSimplePublicObjectBatchInputForCreate(inputs=[SimplePublicObjectBatchInputForCreate(
        properties={"subject": subject, "content": content, "hs_pipeline": "0", "hs_pipeline_stage": "1"},
        associations=[assoc])])
    res = call(lambda: api.crm.tickets.batch_api.create(batch_input_simple_public_object_batch_input_for_create=body),
               "opening a ticket", sleep=sleep)
    results = getattr(res, "results", None) or []
    if not results:
        raise SourceError("HubSpot accepted the ticket but returned no id")
    return str(results[0].id)
