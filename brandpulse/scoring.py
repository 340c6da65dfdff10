"""The scoring stage: read unscored mentions from the store, score them in batches, write scores + rollups."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Engine

from brandpulse.store.engine import session_scope
from brandpulse.store.scores import claim_pending_in, count_pending, save_scores_in
from sentiment.langid import detect_many
from sentiment.scorer import Scorer

log = logging.getLogger(__name__)

#: Mentions claimed and scored per transaction. Large on purpose: the encoder sorts each call's texts by length
#: before batching, and a larger call pads less (`brandpulse bench score`, 2 cores: 128 → ~145 texts/s,
#: 256 → ~150, 512 → ~190, 1024 → ~200). A killed process loses at most this chunk's few seconds of work.
SCORE_CHUNK = 1024


def score_pending(
    engine: Engine,
    scorer: Scorer,
    *,
    chunk: int = SCORE_CHUNK,
    limit: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Score every mention this model has not scored yet; returns how many were scored.

    Each chunk is claimed, scored and saved (scores, rollup increments, detected languages) in one
    transaction, so a killed process loses at most the chunk in flight and never double-counts a
    rollup, and on PostgreSQL parallel workers never score the same chunk (`FOR UPDATE SKIP LOCKED`).
    """
    total = count_pending(engine, scorer.name, scorer.revision)
    if limit is not None:
        total = min(total, limit)
    done = 0
    if on_progress:
        on_progress(0, total)
    while limit is None or done < limit:
        take = chunk if limit is None else min(chunk, limit - done)
        with session_scope(engine) as session:
            pending = claim_pending_in(session, scorer.name, scorer.revision, take)
            if not pending:
                break
            missing = [p for p in pending if not p.lang]
            langs = dict(zip([p.id for p in missing], detect_many([p.text for p in missing]), strict=True))
            scores = scorer.score([p.text for p in pending], [p.lang or langs.get(p.id) for p in pending])
            save_scores_in(session, list(zip([p.id for p in pending], scores, strict=True)), langs)
        done += len(pending)
        if on_progress:
            on_progress(done, max(total, done))
    return done


def score_and_record(
    engine: Engine, scorer: Scorer, *, limit: int | None = None, on_progress: Callable[[int, int], None] | None = None
) -> int:
    """`score_pending`, recorded as a "score" run for `brandpulse status`."""
    from brandpulse.store.cursors import finish_run, start_run

    run_id = start_run(engine, "score")
    try:
        n = score_pending(engine, scorer, limit=limit, on_progress=on_progress)
    except Exception as exc:
        finish_run(engine, run_id, error=f"{exc.__class__.__name__}: {exc}")
        raise
    finish_run(engine, run_id, counts={"scored": n, "model": f"{scorer.name}@{scorer.revision}"})
    return n
