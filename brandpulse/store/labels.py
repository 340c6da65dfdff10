"""Human labels: corrections made in the dashboard, stored apart from model scores."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, select

from brandpulse.errors import InputError
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import HumanLabelRow, MentionRow
from brandpulse.types import EMOTIONS, SENTIMENTS, utcnow


def save_human_label(
    engine: Engine, mention_id: int, *, sentiment: str | None = None, emotions: Iterable[str] | None = None,
    labeled_by: str | None = None,
) -> None:
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise InputError(f"sentiment must be one of {', '.join(SENTIMENTS)}, got {sentiment!r}")
    emo = sorted(set(emotions)) if emotions is not None else None
    if emo is not None and set(emo) - set(EMOTIONS):
        raise InputError(f"unknown emotion(s): {', '.join(sorted(set(emo) - set(EMOTIONS)))}")
    with session_scope(engine) as s:
        row = s.scalars(select(HumanLabelRow).where(HumanLabelRow.mention_id == mention_id)).first()
        if row is None:
            row = HumanLabelRow(mention_id=mention_id, labeled_at=utcnow())
            s.add(row)
        if sentiment is not None:
            row.sentiment = sentiment
        if emo is not None:
            row.emotions = ";".join(emo) or "neutral"
        row.labeled_by = labeled_by
        row.labeled_at = utcnow()


def human_labels(engine: Engine, task: str) -> list[tuple[str, str | None, str]]:
    """(text, lang, label) of every mention a person labelled for `task` ("sentiment": the label; "emotion":
    the `;`-joined emotions, "neutral" = none)."""
    col = HumanLabelRow.sentiment if task == "sentiment" else HumanLabelRow.emotions
    q = select(MentionRow.text, MentionRow.lang, col).join(MentionRow, MentionRow.id == HumanLabelRow.mention_id)
    q = q.where(col.is_not(None)).order_by(HumanLabelRow.id)
    with session_scope(engine) as s:
        return [(text, lang, str(lab)) for text, lang, lab in s.execute(q)]
