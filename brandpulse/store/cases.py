"""The CRM case outbox: negative mentions of linked contacts become one `crm_cases` row per (mention, CRM).

The decision (which mentions deserve a case) and the row are written in one transaction; a later pass claims
pending rows, opens the case in the CRM and marks the row sent with the CRM's id. The unique (mention_id, crm)
key means a mention never gets a second row, so a re-run of the decision never queues a second case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update

from brandpulse.model_key import ModelKey
from brandpulse.store.dialect import upsert_insert
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import AuthorContactLinkRow, AuthorRow, ContactRow, CrmCaseRow, MentionRow, ScoreRow
from brandpulse.types import utcnow

#: link statuses that count as "this author is that contact"
LINKED = ("auto", "confirmed")
#: a row claimed longer ago than this (a pass that died) may be claimed again
STALE_CLAIM = timedelta(minutes=15)


@dataclass(frozen=True)
class CaseItem:
    id: int
    mention_id: int
    crm: str
    brand: str
    attempts: int
    contact_external_id: str
    payload: dict[str, Any]


def enqueue_cases(engine: Engine, model_key: str, brand: str, crm: str, *, since: datetime | None = None,
                  min_negative: float = 0.5, limit: int | None = None) -> int:
    """Queue a case for each negative mention of `brand` by an author linked to a `crm` contact (not opted out).

    Returns how many new rows were queued; mentions already queued (for this CRM) are left alone.
    """
    key = ModelKey.parse(model_key)
    model, revision = key.name, key.revision
    q = (
        select(MentionRow.id, MentionRow.url, MentionRow.text, MentionRow.platform, MentionRow.created_at,
               AuthorRow.handle, ScoreRow.label, ScoreRow.p_negative, ScoreRow.p_neutral, ScoreRow.p_positive,
               ScoreRow.confidence, ContactRow.id, ContactRow.external_id)
        .join(AuthorRow, AuthorRow.id == MentionRow.author_id)
        .join(ScoreRow, and_(ScoreRow.mention_id == MentionRow.id, ScoreRow.model == model, ScoreRow.revision == revision))
        .join(AuthorContactLinkRow, and_(AuthorContactLinkRow.author_id == AuthorRow.id,
                                         AuthorContactLinkRow.status.in_(LINKED)))
        .join(ContactRow, ContactRow.id == AuthorContactLinkRow.contact_id)
        .where(MentionRow.brand == brand, ScoreRow.label == "negative", ScoreRow.p_negative >= min_negative,
               ContactRow.source == crm, ContactRow.opted_out.is_(False))
        .order_by(MentionRow.created_at, MentionRow.id)
    )
    if since is not None:
        q = q.where(MentionRow.created_at >= since)
    if limit is not None:
        q = q.limit(limit)
    now = utcnow()
    with session_scope(engine) as s:
        rows = []
        seen: set[int] = set()
        for (mid, url, text, platform, created, handle, label, pn, pneu, pp, conf, cid, ext) in s.execute(q):
            if mid in seen:  # an author linked to two contacts of one CRM: one case, the first contact
                continue
            seen.add(mid)
            rows.append({
                "mention_id": mid, "contact_id": cid, "crm": crm, "brand": brand, "status": "pending", "attempts": 0,
                "payload": {"text": text, "url": url, "platform": platform, "author": handle,
                            "created_at": created.isoformat(), "contact": ext, "label": label,
                            "scores": {"negative": round(pn, 4), "neutral": round(pneu, 4), "positive": round(pp, 4),
                                       "confidence": round(conf, 4)}, "model": model_key},
                "created_at": now, "updated_at": now,
            })
        if not rows:
            return 0
        stmt = upsert_insert(s, CrmCaseRow.__table__).values(rows).on_conflict_do_nothing(
            index_elements=["mention_id", "crm"]).returning(CrmCaseRow.id)
        return len(s.execute(stmt).all())


def claim_cases(engine: Engine, crm: str, *, brand: str | None = None, limit: int = 50) -> list[CaseItem]:
    """Claim up to `limit` pending rows (and rows whose claim went stale) for one pass; each claim counts an attempt."""
    now = utcnow()
    q = (select(CrmCaseRow, ContactRow.external_id).join(ContactRow, ContactRow.id == CrmCaseRow.contact_id)
         .where(CrmCaseRow.crm == crm,
                or_(CrmCaseRow.status == "pending",
                    and_(CrmCaseRow.status == "sending", CrmCaseRow.updated_at < now - STALE_CLAIM)))
         .order_by(CrmCaseRow.id).limit(limit))
    if brand is not None:
        q = q.where(CrmCaseRow.brand == brand)
    with session_scope(engine) as s:
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(of=CrmCaseRow, skip_locked=True)
        out = []
        for row, ext in s.execute(q):
            row.status, row.attempts, row.updated_at = "sending", row.attempts + 1, now
            out.append(CaseItem(row.id, row.mention_id, row.crm, row.brand, row.attempts, ext, dict(row.payload)))
        return out


def mark_sent(engine: Engine, case_id: int, external_id: str) -> None:
    now = utcnow()
    with session_scope(engine) as s:
        s.execute(update(CrmCaseRow).where(CrmCaseRow.id == case_id).values(
            status="sent", external_id=external_id, sent_at=now, updated_at=now, last_error=None))


def mark_failed(engine: Engine, case_id: int, error: str) -> None:
    """Back to pending for the next pass, with the reason kept."""
    with session_scope(engine) as s:
        s.execute(update(CrmCaseRow).where(CrmCaseRow.id == case_id).values(
            status="pending", last_error=error[:2000], updated_at=utcnow()))


def list_cases(engine: Engine, crm: str | None = None, statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
    q = select(CrmCaseRow).order_by(CrmCaseRow.id)
    if crm:
        q = q.where(CrmCaseRow.crm == crm)
    if statuses:
        q = q.where(CrmCaseRow.status.in_(list(statuses)))
    with session_scope(engine) as s:
        return [{"id": r.id, "mention_id": r.mention_id, "contact_id": r.contact_id, "crm": r.crm, "brand": r.brand,
                 "status": r.status, "attempts": r.attempts, "external_id": r.external_id, "last_error": r.last_error,
                 "payload": r.payload} for r in s.scalars(q)]
