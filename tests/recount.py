"""What the crash and concurrency tests check of a store after the fact: each mention stored once and scored once,
and the hourly rollups equal to a recount from the mentions, their brand links and their scores."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from brandpulse.store.rollups import hour_of
from brandpulse.store.schema import MentionBrandRow, MentionRow, RollupRow, ScoreRow


def assert_once_and_rolled_up(s: Session, n: int) -> None:
    assert s.scalar(select(func.count()).select_from(MentionRow)) == n
    assert s.scalar(select(func.count(func.distinct(MentionRow.native_id)))) == n
    assert s.scalar(select(func.count()).select_from(ScoreRow)) == n
    assert s.scalar(select(func.count(func.distinct(ScoreRow.mention_id)))) == n
    rolled = {(r.brand, hour_of(r.hour), r.sentiment): r.count for r in s.scalars(select(RollupRow)) if r.count}
    recount: dict[tuple[str, Any, str], int] = {}
    for brand, created, label in s.execute(
        select(MentionBrandRow.brand, MentionRow.created_at, ScoreRow.label)
        .join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
        .join(ScoreRow, ScoreRow.mention_id == MentionRow.id)
    ):
        key = (brand, hour_of(created), label)
        recount[key] = recount.get(key, 0) + 1
    assert rolled == recount
