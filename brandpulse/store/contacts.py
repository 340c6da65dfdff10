"""CRM contacts and author ↔ contact links. A person's decision (confirmed / rejected) is never overwritten."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select, update

from brandpulse.errors import InputError
from brandpulse.store.dialect import upsert_insert
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import AuthorContactLinkRow, AuthorRow, ContactRow
from brandpulse.types import utcnow

LINK_STATUSES = ("auto", "proposed", "confirmed", "rejected")
DECIDED = ("confirmed", "rejected")
CHUNK = 400


@dataclass(frozen=True)
class Contact:
    """A CRM contact as imported; `id` is the store's row id (0 before it is stored)."""

    source: str
    external_id: str
    name: str | None = None
    email: str | None = None
    website: str | None = None
    company: str | None = None
    handles: dict[str, str] = field(default_factory=dict)
    opted_out: bool = False
    raw: dict[str, Any] | None = None
    id: int = 0


@dataclass(frozen=True)
class Link:
    author_id: int
    contact_id: int
    method: str
    confidence: float
    status: str


def upsert_contacts(engine: Engine, contacts: Sequence[Contact]) -> int:
    """Insert or update contacts on (source, external_id); returns how many rows were written."""
    now = utcnow()
    rows = [
        {"source": c.source, "external_id": c.external_id, "name": c.name, "email": c.email, "website": c.website,
         "company": c.company, "handles": dict(c.handles), "opted_out": c.opted_out, "raw": c.raw, "updated_at": now}
        for c in {(c.source, c.external_id): c for c in contacts}.values()
    ]
    table = ContactRow.__table__
    with session_scope(engine) as s:
        for i in range(0, len(rows), CHUNK):
            stmt = upsert_insert(s, table).values(rows[i : i + CHUNK])
            stmt = stmt.on_conflict_do_update(
                index_elements=["source", "external_id"],
                set_={k: getattr(stmt.excluded, k) for k in ("name", "email", "website", "company", "handles",
                                                             "opted_out", "raw", "updated_at")},
            )
            s.execute(stmt)
    return len(rows)


def _contact(r: ContactRow) -> Contact:
    return Contact(r.source, r.external_id, r.name, r.email, r.website, r.company, dict(r.handles or {}), r.opted_out,
                   r.raw, r.id)


def list_contacts(engine: Engine, ids: Iterable[int] | None = None) -> list[Contact]:
    q = select(ContactRow).order_by(ContactRow.id)
    if ids is not None:
        q = q.where(ContactRow.id.in_(list(ids)))
    with session_scope(engine) as s:
        return [_contact(r) for r in s.scalars(q)]


def list_links(engine: Engine, statuses: Sequence[str] | None = None) -> list[Link]:
    q = select(AuthorContactLinkRow).order_by(AuthorContactLinkRow.id)
    if statuses:
        q = q.where(AuthorContactLinkRow.status.in_(list(statuses)))
    with session_scope(engine) as s:
        return [Link(r.author_id, r.contact_id, r.method, r.confidence, r.status) for r in s.scalars(q)]


def save_matches(engine: Engine, matches: Iterable[Link]) -> dict[str, int]:
    """Store automatic / proposed matches. Pairs a person decided on, and authors with a confirmed link, are left alone.

    Returns counts per status written, plus "kept" for the decisions left untouched.
    """
    counts = {"auto": 0, "proposed": 0, "kept": 0}
    now = utcnow()
    with session_scope(engine) as s:
        existing = {(r.author_id, r.contact_id): r for r in s.scalars(select(AuthorContactLinkRow))}
        confirmed_authors = {a for (a, _), r in existing.items() if r.status == "confirmed"}
        for m in matches:
            if m.status not in ("auto", "proposed"):
                raise ValueError("automatic matching only writes 'auto' or 'proposed' links")
            row = existing.get((m.author_id, m.contact_id))
            if (row is not None and row.status in DECIDED) or m.author_id in confirmed_authors:
                counts["kept"] += 1
                continue
            if row is None:
                row = AuthorContactLinkRow(author_id=m.author_id, contact_id=m.contact_id, created_at=now)
                s.add(row)
                existing[(m.author_id, m.contact_id)] = row
            row.method, row.confidence, row.status, row.updated_at = m.method, m.confidence, m.status, now
            counts[m.status] += 1
            if m.status == "auto":
                _mirror_on_author(s, m.author_id, m.contact_id, m.method, m.confidence, confirmed=False)
    return counts


def _mirror_on_author(s: Any, author_id: int, contact_id: int | None, method: str | None, confidence: float | None,
                      *, confirmed: bool) -> None:
    """Keep the authors.crm_* columns (the author's effective link) in step with the links table."""
    ext = s.scalar(select(ContactRow.external_id).where(ContactRow.id == contact_id)) if contact_id else None
    s.execute(update(AuthorRow).where(AuthorRow.id == author_id).values(
        crm_contact_id=ext, crm_match_method=method, crm_confidence=confidence, crm_confirmed=confirmed))


def decide_link(engine: Engine, author_id: int, contact_id: int, decision: str, by: str | None = None) -> None:
    """A person confirms or rejects a link (proposed or not); the decision is final for automatic matching."""
    if decision not in DECIDED:
        raise InputError(f"decision must be 'confirmed' or 'rejected', got {decision!r}")
    now = utcnow()
    with session_scope(engine) as s:
        if s.get(AuthorRow, author_id) is None or s.get(ContactRow, contact_id) is None:
            raise InputError(f"no author {author_id} or no contact {contact_id} in the store",
                             hint="List proposed links with `brandpulse advocates link --list`.")
        row = s.scalars(select(AuthorContactLinkRow).where(AuthorContactLinkRow.author_id == author_id,
                                                           AuthorContactLinkRow.contact_id == contact_id)).first()
        if row is None:
            row = AuthorContactLinkRow(author_id=author_id, contact_id=contact_id, method="manual", confidence=1.0,
                                       created_at=now)
            s.add(row)
        row.status, row.decided_by, row.updated_at = decision, by, now
        if decision == "confirmed":
            # one confirmed contact per author: other automatic / proposed links of the author step aside
            s.execute(update(AuthorContactLinkRow).where(
                AuthorContactLinkRow.author_id == author_id, AuthorContactLinkRow.contact_id != contact_id,
                AuthorContactLinkRow.status.in_(("auto", "proposed"))).values(status="rejected", updated_at=now))
            _mirror_on_author(s, author_id, contact_id, row.method, row.confidence, confirmed=True)
        else:
            current = s.scalar(select(AuthorRow.crm_contact_id).where(AuthorRow.id == author_id))
            ext = s.scalar(select(ContactRow.external_id).where(ContactRow.id == contact_id))
            if current == ext:
                _mirror_on_author(s, author_id, None, None, None, confirmed=False)


def links_frame(engine: Engine, statuses: Sequence[str] | None = None) -> pd.DataFrame:
    """Links with the author's account and the contact's name, for the CLI and the dashboard."""
    q = (
        select(AuthorContactLinkRow.author_id, AuthorRow.platform, AuthorRow.handle, AuthorRow.display_name,
               AuthorContactLinkRow.contact_id, ContactRow.source, ContactRow.external_id, ContactRow.name,
               ContactRow.email, AuthorContactLinkRow.method, AuthorContactLinkRow.confidence,
               AuthorContactLinkRow.status)
        .join(AuthorRow, AuthorRow.id == AuthorContactLinkRow.author_id)
        .join(ContactRow, ContactRow.id == AuthorContactLinkRow.contact_id)
        .order_by(AuthorContactLinkRow.confidence.desc(), AuthorContactLinkRow.id)
    )
    if statuses:
        q = q.where(AuthorContactLinkRow.status.in_(list(statuses)))
    cols = ["author_id", "platform", "handle", "display_name", "contact_id", "source", "external_id", "contact_name",
            "email", "method", "confidence", "status"]
    with session_scope(engine) as s:
        return pd.DataFrame([tuple(r) for r in s.execute(q)], columns=cols)


def author_link_inputs(engine: Engine) -> list[dict[str, Any]]:
    """Every author's id, platform, handle, display name and profile: what linking compares against contacts."""
    with session_scope(engine) as s:
        return [{"id": r.id, "platform": r.platform, "handle": r.handle, "display_name": r.display_name,
                 "profile": r.profile or {}} for r in s.scalars(select(AuthorRow).order_by(AuthorRow.id))]
