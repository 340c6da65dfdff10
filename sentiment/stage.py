"""The scoring stage: claim unscored mentions from the store, score them in batches, write scores + rollups.

Several stages (threads, processes, machines) can score one store at once, SQLite included: each chunk is
leased to one worker first (`brandpulse.store.scores.claim_pending`), so each mention is scored once and the
counts the workers report add up to the total.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Engine

from brandpulse.model_key import ModelKey
from brandpulse.store.engine import session_scope
from brandpulse.store.scores import (
    DEFAULT_LEASE_S,
    claim_pending,
    count_pending,
    release_claims,
    release_claims_in,
    release_dead_claims,
    save_scores_in,
    worker_id,
)
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
    lease_s: float = DEFAULT_LEASE_S,
) -> int:
    """Score every mention this model has not scored yet; returns how many this call scored.

    Each chunk is claimed (a lease, see `claim_pending`), scored, and saved (scores, rollup increments,
    detected languages, claims dropped) in one transaction, so a killed process loses at most the chunk in
    flight (its lease is taken over) and never double-counts a rollup, and parallel workers never score the
    same mention.
    """
    key = ModelKey.of_scorer(scorer)
    worker = worker_id()
    release_dead_claims(engine)
    total = count_pending(engine, key)
    if limit is not None:
        total = min(total, limit)
    done = 0
    if on_progress:
        on_progress(0, total)
    while limit is None or done < limit:
        take = chunk if limit is None else min(chunk, limit - done)
        pending = claim_pending(engine, key, worker, take, lease_s)
        if not pending and release_dead_claims(engine):  # a worker of this host died holding a chunk: take it over
            pending = claim_pending(engine, key, worker, take, lease_s)
        if not pending:
            break
        ids = [p.id for p in pending]
        try:
            missing = [p for p in pending if not p.lang]
            langs = dict(zip([p.id for p in missing], detect_many([p.text for p in missing]), strict=True))
            scores = scorer.score([p.text for p in pending], [p.lang or langs.get(p.id) for p in pending])
        except BaseException:
            release_claims(engine, key, worker, ids)  # give the chunk back at once (a kill leaves it to the lease)
            raise
        with session_scope(engine) as session:
            done += save_scores_in(session, list(zip(ids, scores, strict=True)), langs)
            release_claims_in(session, key, worker, ids)
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
    finish_run(engine, run_id, counts={"scored": n, "model": str(ModelKey.of_scorer(scorer))})
    return n
