"""Scores: finding unscored mentions and saving a batch of scores with their rollups, atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, select, update
from sqlalchemy.orm import Session

from brandpulse.store.dialect import upsert_insert
from brandpulse.store.engine import session_scope
from brandpulse.store.rollups import add_to_rollups
from brandpulse.store.schema import MentionBrandRow, MentionRow, ScoreRow
from brandpulse.types import SentimentScore, utcnow


@dataclass(frozen=True)
class PendingMention:
    id: int
    text: str
    lang: str | None


def model_key(model: str, revision: str) -> str:
    return f"{model}@{revision}"


def _pending_query(model: str, revision: str, limit: int) -> Any:
    return (
        select(MentionRow.id, MentionRow.text, MentionRow.lang)
        .outerjoin(
            ScoreRow,
            and_(ScoreRow.mention_id == MentionRow.id, ScoreRow.model == model, ScoreRow.revision == revision),
        )
        .where(ScoreRow.id.is_(None))
        .order_by(MentionRow.id)
        .limit(limit)
    )


def pending_mentions(engine: Engine, model: str, revision: str, limit: int) -> list[PendingMention]:
    """Mentions with no score from this model revision, oldest first."""
    with session_scope(engine) as s:
        return [PendingMention(r.id, r.text, r.lang) for r in s.execute(_pending_query(model, revision, limit))]


def claim_pending_in(session: Session, model: str, revision: str, limit: int) -> list[PendingMention]:
    """Like `pending_mentions`, inside the caller's transaction, locking the rows it returns.

    On PostgreSQL the rows are claimed with `FOR UPDATE SKIP LOCKED`, so several scoring workers
    against one database each take a different batch; the locks go with the transaction that
    saves the scores. SQLite has one writer at a time and ignores the clause.
    """
    q = _pending_query(model, revision, limit)
    if session.get_bind().dialect.name != "postgresql":
        return [PendingMention(r.id, r.text, r.lang) for r in session.execute(q)]
    q = q.with_for_update(of=MentionRow, skip_locked=True)
    while True:
        claimed = [PendingMention(r.id, r.text, r.lang) for r in session.execute(q)]
        if not claimed:
            return []
        # The claim's snapshot predates its locks: a row another worker scored and committed
        # between the two is unlocked again and looks unscored. A fresh statement (READ
        # COMMITTED) sees that worker's scores, so drop those rows; retry if none are left.
        done = set(
            session.scalars(
                select(ScoreRow.mention_id).where(
                    ScoreRow.mention_id.in_([c.id for c in claimed]),
                    ScoreRow.model == model,
                    ScoreRow.revision == revision,
                )
            )
        )
        fresh = [c for c in claimed if c.id not in done]
        if fresh:
            return fresh


def count_pending(engine: Engine, model: str, revision: str) -> int:
    q = (
        select(func.count())
        .select_from(MentionRow)
        .outerjoin(
            ScoreRow,
            and_(ScoreRow.mention_id == MentionRow.id, ScoreRow.model == model, ScoreRow.revision == revision),
        )
        .where(ScoreRow.id.is_(None))
    )
    with session_scope(engine) as s:
        return int(s.scalar(q) or 0)


def save_scores_in(
    session: Session,
    scored: Sequence[tuple[int, SentimentScore]],
    languages: dict[int, str] | None = None,
) -> int:
    """Insert scores (ignoring ones already there) and add exactly the new ones to the rollups."""
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
    first = scored[0][1]
    labels = {mid: sc.label for mid, sc in scored}
    info = session.execute(
        select(MentionRow.id, MentionBrandRow.brand, MentionRow.created_at, MentionRow.author_followers)
        .join(MentionBrandRow, MentionBrandRow.mention_id == MentionRow.id)
        .where(MentionRow.id.in_(new_ids))
    )
    add_to_rollups(
        session,
        model_key(first.model, first.revision),
        ((r.brand, r.created_at, labels[r.id], r.author_followers) for r in info),
    )
    return len(new_ids)


def save_scores(
    engine: Engine, scored: Sequence[tuple[int, SentimentScore]], languages: dict[int, str] | None = None
) -> int:
    with session_scope(engine) as s:
        return save_scores_in(s, scored, languages)
