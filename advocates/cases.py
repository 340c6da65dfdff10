"""Cases: a linked contact's negative mention opens a HubSpot ticket / Salesforce Case, once per mention.

`decide` writes the outbox rows (brandpulse.store.cases) for the brands configured in `[advocates] cases`;
`send` claims pending rows and opens each case. Each case's subject carries its outbox id, so a retry after a
failure that may have happened *after* the CRM created the case first looks the subject up and, when found,
records that case instead of opening a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from advocates.config import AdvocatesConfig
from brandpulse.errors import CredentialsError, RateLimitedError, SourceError
from brandpulse.store.cases import CaseItem, claim_cases, enqueue_cases, mark_failed, mark_sent


def subject(item: CaseItem) -> str:
    return f"[brandpulse case {item.id}] {item.brand}: negative post by {item.payload.get('author')}"


def body(item: CaseItem) -> str:
    p = item.payload
    sc = p.get("scores", {})
    return (f"{p.get('text', '')}\n\nLink: {p.get('url') or '(none)'}\nPlatform: {p.get('platform')} · author "
            f"{p.get('author')} · posted {p.get('created_at')}\nSentiment: negative {sc.get('negative')}, neutral "
            f"{sc.get('neutral')}, positive {sc.get('positive')} (confidence {sc.get('confidence')}, model "
            f"{p.get('model')})\nMention id in brandpulse: {item.mention_id}")


def decide(engine: Engine, cfg: AdvocatesConfig, model_key: str, *, brand: str | None = None,
           since: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Queue cases for each configured brand (or just `brand`); returns brand → newly queued."""
    out = {}
    for b, crm in sorted(cfg.cases.items()):
        if brand is None or b == brand:
            out[b] = enqueue_cases(engine, model_key, b, crm, since=since, min_negative=cfg.case_min_negative,
                                   limit=limit)
    return out


def _open(crm: str, api: Any, item: CaseItem, sleep: Callable[[float], None] | None) -> str:
    subj, text = subject(item), body(item)
    if crm == "hubspot":
        from advocates import hubspot

        kw: dict[str, Any] = {"sleep": sleep} if sleep else {}
        if item.attempts > 1:
            found = hubspot.find_ticket(api, subj, **kw)
            if found:
                return found
        return hubspot.create_ticket(api, item.contact_external_id, subj, text, **kw)
    from advocates import salesforce

    if item.attempts > 1:
        found = salesforce.find_case(api, subj)
        if found:
            return found
    return salesforce.create_case(api, item.contact_external_id, subj, text)


def send(engine: Engine, crm: str, api: Any, *, brand: str | None = None, limit: int = 50,
         sleep: Callable[[float], None] | None = None) -> dict[str, int]:
    """One delivery pass: claim pending cases and open them; failures go back to pending for the next pass."""
    counts = {"sent": 0, "failed": 0}
    items = claim_cases(engine, crm, brand=brand, limit=limit)
    for i, item in enumerate(items):
        try:
            ext = _open(crm, api, item, sleep)
        except CredentialsError:
            for rest in items[i:]:
                mark_failed(engine, rest.id, "credentials refused")
            raise
        except (SourceError, RateLimitedError) as exc:
            mark_failed(engine, item.id, str(exc))
            counts["failed"] += 1
            continue
        mark_sent(engine, item.id, ext)
        counts["sent"] += 1
    return counts
