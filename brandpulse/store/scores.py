"""Scores: finding unscored mentions, claiming them for one worker, and saving a batch of scores with their
rollups, atomically.

Claims (`score_claims`, one row per mention × model) let several scoring workers share one store, SQLite
included: a worker takes a lease on a chunk in one short INSERT … SELECT … ON CONFLICT statement, scores it
outside any transaction, and saves the scores and drops its claims in one transaction. A lease older than
`lease_s`, or held by a process of this host that no longer runs, is taken over, so nothing a killed worker
claimed stays unscored.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, func, literal, or_, select, update
from sqlalchemy.orm import Session

from brandpulse.model_key import ModelKey
from brandpulse.store.dialect import upsert_insert
from brandpulse.store.engine import session_scope
from brandpulse.store.rollups import add_to_dim_rollups, add_to_rollups, dim_values
from brandpulse.store.schema import MentionBrandRow, MentionRow, ScoreClaimRow, ScoreRow
from brandpulse.types import SentimentScore, utcnow

#: Seconds a claim holds before another worker may take the mentions over (a chunk scores in seconds).
DEFAULT_LEASE_S = 300.0


@dataclass(frozen=True)
class PendingMention:
    id: int
    text: str
    lang: str | None


def as_key(model: ModelKey | str, revision: str | None = None) -> ModelKey:
    """A ModelKey from a ModelKey, a "name@revision" string, or a (name, revision) pair."""
    if isinstance(model, ModelKey):
        return model
    return ModelKey(model, revision) if revision is not None else ModelKey.parse(model)


def worker_id() -> str:
    """This process's name in claims: "host:pid:random" (the pid lets a restart on this host reclaim at once)."""
    return f"{socket.gethostname()[:180]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _unscored(key: ModelKey) -> Any:
    return and_(ScoreRow.mention_id == MentionRow.id, ScoreRow.model == key.name, ScoreRow.revision == key.revision)


def _pending_query(key: ModelKey, limit: int) -> Any:
    return (
        select(MentionRow.id, MentionRow.text, MentionRow.lang)
        .outerjoin(ScoreRow, _unscored(key))
        .where(ScoreRow.id.is_(None))
        .order_by(MentionRow.id)
        .limit(limit)
    )


def pending_mentions(engine: Engine, model: ModelKey | str, revision: str | None = None,
                     limit: int = 1000) -> list[PendingMention]:
    """Mentions with no score from this model, oldest first (claims are not looked at)."""
    with session_scope(engine) as s:
        return [PendingMention(r.id, r.text, r.lang) for r in s.execute(_pending_query(as_key(model, revision), limit))]


def _in_range(start: datetime | None, end: datetime | None) -> list[Any]:
    return [c for c in (MentionRow.created_at >= start if start else None,
                        MentionRow.created_at < end if end else None) if c is not None]


def pending_span(engine: Engine, key: ModelKey, start: datetime | None = None,
                 end: datetime | None = None) -> tuple[int, int, int]:
    """(lowest id, highest id, how many) of the mentions created in [start, end) with no score from `key`;
    (0, -1, 0) when there are none. Backfills split the id span into windows (`pending_in_window`)."""
    q = (select(func.min(MentionRow.id), func.max(MentionRow.id), func.count())
         .outerjoin(ScoreRow, _unscored(key)).where(ScoreRow.id.is_(None), *_in_range(start, end)))
    with session_scope(engine) as s:
        lo, hi, n = s.execute(q).one()
    return (int(lo), int(hi), int(n)) if n else (0, -1, 0)


def pending_in_window(engine: Engine, key: ModelKey, lo: int, hi: int, start: datetime | None = None,
                      end: datetime | None = None) -> list[PendingMention]:
    """The mentions with lo <= id < hi created in [start, end) with no score from `key` (claims not looked at)."""
    q = (select(MentionRow.id, MentionRow.text, MentionRow.lang).outerjoin(ScoreRow, _unscored(key))
         .where(ScoreRow.id.is_(None), MentionRow.id >= lo, MentionRow.id < hi, *_in_range(start, end))
         .order_by(MentionRow.id))
    with session_scope(engine) as s:
        return [PendingMention(r.id, r.text, r.lang) for r in s.execute(q)]


def release_dead_claims(engine: Engine) -> int:
    """Drop the claims of processes of this host that no longer run (a killed worker); returns how many."""
    host = socket.gethostname()[:180]
    with session_scope(engine) as s:
        holders = set(s.scalars(select(ScoreClaimRow.claimed_by).where(ScoreClaimRow.claimed_by.like(f"{host}:%"))))
        dead = [h for h in holders if not _pid_alive(h.split(":")[-2])]
        if not dead:
            return 0
        gone = s.scalars(delete(ScoreClaimRow).where(ScoreClaimRow.claimed_by.in_(dead)).returning(ScoreClaimRow.mention_id))
        return len(list(gone))


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def claim_pending(engine: Engine, key: ModelKey, worker: str, limit: int,
                  lease_s: float = DEFAULT_LEASE_S) -> list[PendingMention]:
    """Lease up to `limit` unscored, unclaimed mentions to `worker`, oldest first, and return them.

    One INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE statement: it takes SQLite's write lock before it
    reads, and on PostgreSQL a row another worker just claimed is only taken over when that lease expired
    (the conflict re-checks the committed row), so no mention is leased to two live workers.
    """
    now = utcnow()
    stale = now - timedelta(seconds=lease_s)
    claims = ScoreClaimRow.__table__
    live_claim = and_(ScoreClaimRow.mention_id == MentionRow.id, ScoreClaimRow.model_key == str(key),
                      ScoreClaimRow.claimed_at >= stale)
    candidates = (
        select(MentionRow.id, literal(str(key)), literal(worker), literal(now, ScoreClaimRow.claimed_at.type))
        .outerjoin(ScoreRow, _unscored(key))
        .outerjoin(ScoreClaimRow, live_claim)
        .where(ScoreRow.id.is_(None), ScoreClaimRow.mention_id.is_(None))
        .order_by(MentionRow.id)
        .limit(limit)
    )
    with session_scope(engine) as s:
        if s.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(of=MentionRow, skip_locked=True)
        stmt = upsert_insert(s, claims).from_select(["mention_id", "model_key", "claimed_by", "claimed_at"], candidates)
        stmt = stmt.on_conflict_do_update(
            index_elements=["mention_id", "model_key"],
            set_={"claimed_by": stmt.excluded.claimed_by, "claimed_at": stmt.excluded.claimed_at},
            where=or_(claims.c.claimed_at < stale, claims.c.claimed_by == worker),
        ).returning(claims.c.mention_id)
        ids = sorted({r[0] for r in s.execute(stmt)})
        if not ids:
            return []
        rows = s.execute(select(MentionRow.id, MentionRow.text, MentionRow.lang).where(MentionRow.id.in_(ids))
                         .order_by(MentionRow.id))
        return [PendingMention(r.id, r.text, r.lang) for r in rows]


def release_claims_in(session: Session, key: ModelKey, worker: str, mention_ids: Sequence[int]) -> None:
    """Drop `worker`'s claims on these mentions (their scores are saved, or the worker gives them back)."""
    if mention_ids:
        session.execute(delete(ScoreClaimRow).where(ScoreClaimRow.model_key == str(key),
                                                    ScoreClaimRow.claimed_by == worker,
                                                    ScoreClaimRow.mention_id.in_(list(mention_ids))))


def release_claims(engine: Engine, key: ModelKey, worker: str, mention_ids: Sequence[int]) -> None:
    with session_scope(engine) as s:
        release_claims_in(s, key, worker, mention_ids)


def count_pending(engine: Engine, model: ModelKey | str, revision: str | None = None) -> int:
    """Mentions with no score from this model (claimed or not)."""
    key = as_key(model, revision)
    q = select(func.count()).select_from(MentionRow).outerjoin(ScoreRow, _unscored(key)).where(ScoreRow.id.is_(None))
    with session_scope(engine) as s:
        return int(s.scalar(q) or 0)


def save_scores_in(
    session: Session,
    scored: Sequence[tuple[int, SentimentScore]],
    languages: dict[int, str] | None = None,
) -> int:
    """Insert scores (ignoring ones already there) and add exactly the new ones to the rollups; returns how many
    were new (a batch another worker saved first counts 0)."""
    if not scored:
        return 0
    now = utcnow()
    rows = [
        {
            "mention_id": mid,
            "model": sc.model,
            "revision": sc.revision,
            "label": sc.label,
            "p_negative": sc.probs.get("negative", 0.0),
            "p_neutral": sc.probs.get("neutral", 0.0),
            "p_positive": sc.probs.get("positive", 0.0),
            "confidence": sc.confidence,
            "emotions": {"probs": sc.emotions, "labels": list(sc.emotion_labels)},
            "scored_at": now,
        }
        for mid, sc in scored
    ]
    table = ScoreRow.__table__
    stmt = (
        upsert_insert(session, table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["mention_id", "model", "revision"])
        .returning(table.c.mention_id)
    )
    new_ids = {r[0] for r in session.execute(stmt)}
    if languages:
        for mid, lang in languages.items():
            session.execute(update(MentionRow).where(MentionRow.id == mid, MentionRow.lang.is_(None)).values(lang=lang))
    if not new_ids:
        return 0
    labels = {mid: sc.label for mid, sc in scored}
    emotions = {mid: sc.emotion_labels for mid, sc in scored}
    info = list(session.execute(
        select(MentionRow.id, MentionBrandRow.brand, MentionRow.created_at, MentionRow.author_followers,
               MentionRow.platform, MentionRow.lang)
        .join(MentionBrandRow, MentionBrandRow.mention_id == MentionRow.id)
        .where(MentionRow.id.in_(new_ids))
    ))
    key = scored[0][1].model_key
    add_to_rollups(session, key, ((r.brand, r.created_at, labels[r.id], r.author_followers) for r in info))
    add_to_dim_rollups(session, key, ((r.brand, r.created_at, r.author_followers,
                                       dim_values(r.platform, r.lang, emotions[r.id])) for r in info))
    return len(new_ids)


def save_scores(
    engine: Engine, scored: Sequence[tuple[int, SentimentScore]], languages: dict[int, str] | None = None
) -> int:
    with session_scope(engine) as s:
        return save_scores_in(s, scored, languages)
