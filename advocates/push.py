"""Write-back: chosen advocates (their linked CRM contacts) to a HubSpot contact property or a Salesforce campaign.

`plan_push` decides who would be pushed and why not the others (no link, another CRM, opted out); `describe` prints
exactly what would change; `execute` makes the change. A dry run stops after `describe` and opens no connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from advocates.config import AdvocatesConfig, advocates_config
from advocates.lists import ranked_list
from brandpulse.config import Settings
from brandpulse.errors import InputError
from brandpulse.store.contacts import list_contacts

CRMS = ("hubspot", "salesforce")
#: links that say "this author is that contact"
PUSHABLE_LINKS = ("confirmed", "auto")


@dataclass(frozen=True)
class PushItem:
    author: str
    contact_external_id: str
    contact_name: str | None
    score: float


@dataclass
class PushPlan:
    crm: str
    target: str
    items: list[PushItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def plan_push(engine: Engine, settings: Settings, brand: str, crm: str, *, target: str | None = None,
              since: datetime | None = None, limit: int = 50, cfg: AdvocatesConfig | None = None) -> PushPlan:
    """The brand's top advocates whose linked contact lives in `crm` and has not opted out."""
    if crm not in CRMS:
        raise InputError(f"--crm must be one of {', '.join(CRMS)}, got {crm!r}")
    cfg = cfg or advocates_config(settings.advocates)
    if crm == "salesforce" and not target:
        raise InputError("pushing to Salesforce needs the campaign", hint="Give --campaign CAMPAIGN_ID (a 701… id).")
    plan = PushPlan(crm, target or brand)
    contacts = {c.id: c for c in list_contacts(engine)}
    for r in ranked_list(engine, settings, brand, kind="advocates", since=since, limit=limit, cfg=cfg):
        c = contacts.get(r.contact_id) if r.contact_id is not None else None
        if c is None or r.link_status not in PUSHABLE_LINKS:
            plan.skipped.append(f"{r.key}: no confirmed or automatic CRM link")
        elif c.source != crm:
            plan.skipped.append(f"{r.key}: linked to a {c.source} contact, not {crm}")
        elif c.opted_out:
            plan.skipped.append(f"{r.key}: contact {c.external_id} opted out")
        else:
            plan.items.append(PushItem(r.key, c.external_id, c.name, r.score))
    return plan


def describe(plan: PushPlan, cfg: AdvocatesConfig) -> list[str]:
    """One line per change, exactly as `execute` would make it."""
    out = []
    for it in plan.items:
        who = f"({it.author}, {it.contact_name or 'no name'}, score {it.score:.3f})"
        if plan.crm == "hubspot":
            out.append(f"HubSpot contact {it.contact_external_id}: set {cfg.hubspot_push_property} = {plan.target!r} {who}")
        else:
            out.append(f"Salesforce Campaign {plan.target}: add Contact {it.contact_external_id} as a member {who}")
    return out


def execute(plan: PushPlan, cfg: AdvocatesConfig, api: Any, *, sleep: Callable[[float], None] | None = None) -> int:
    """Make the changes `describe` lists; returns how many the CRM accepted."""
    ids = [it.contact_external_id for it in plan.items]
    if not ids:
        return 0
    if plan.crm == "hubspot":
        from advocates import hubspot

        kw: dict[str, Any] = {"sleep": sleep} if sleep else {}
        return hubspot.set_property(api, ids, cfg.hubspot_push_property, plan.target, **kw)
    from advocates import salesforce

    return len(salesforce.add_to_campaign(api, plan.target, ids))
