"""Re-scoring a time range on a Ray cluster (`brandpulse score --engine ray`): Ray Data `map_batches` over model
actors, one GPU each when the cluster has GPUs.

The driver never holds the range: it splits the id span of the mentions still unscored by the model into
windows of `read_batch` ids; Ray tasks read each window from the store (`pending_in_window`), the actors score
the rows in `batch_size` batches, and the driver saves each scored batch as it streams back through
`save_scores` (scores inserted once, exactly the new ones added to the rollups) — so the rollups stay exact
even when a scoring worker or a second backfill scores some of the same mentions meanwhile.

Needs the `ray` extra: ``pip install 'brandpulse[ray]'``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from brandpulse.errors import ConfigError, ModelError
from brandpulse.model_key import ModelKey
from brandpulse.store.engine import get_engine, make_engine
from brandpulse.store.scores import pending_in_window, pending_span, save_scores
from brandpulse.types import SentimentScore

if TYPE_CHECKING:
    from brandpulse.config import ModelConfig

log = logging.getLogger(__name__)

#: Ids per store read (a window holds at most this many mentions).
READ_BATCH = 4096
#: Texts per actor call (the encoder sorts each call's texts by length before batching).
SCORE_BATCH = 512


@dataclass(frozen=True)
class BackfillResult:
    model: str
    scored: int
    pending: int
    seconds: float
    actors: int
    gpus_per_actor: float
    #: Mentions saved after the first batch came back, and the seconds they took: the rate once the actors
    #: have loaded the model (`rate` includes starting them).
    after_first: int = 0
    after_first_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.scored / max(self.seconds, 1e-9)

    @property
    def steady_rate(self) -> float | None:
        return self.after_first / self.after_first_s if self.after_first and self.after_first_s > 0 else None

    def as_dict(self) -> dict[str, object]:
        return {"engine": "ray", "model": self.model, "scored": self.scored, "pending": self.pending,
                "seconds": round(self.seconds, 2), "rate": round(self.rate, 2),
                "steady_rate": None if self.steady_rate is None else round(self.steady_rate, 2), "actors": self.actors,
                "gpus_per_actor": self.gpus_per_actor}


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--engine ray needs Ray, which is not installed",
                          hint="Install the extra: pip install 'brandpulse[ray]'") from None
    return ray


def _read_window(row: dict[str, Any], url: str, key: str, start: datetime | None,
                 end: datetime | None) -> list[dict[str, Any]]:
    """A Ray task: one id window's unscored mentions, read from the store."""
    pending = pending_in_window(get_engine(url), ModelKey.parse(key), int(row["lo"]), int(row["hi"]), start, end)
    return [{"id": p.id, "text": p.text, "lang": p.lang or ""} for p in pending]


class ScoreActor:
    """A Ray actor holding one loaded scorer; called with batches of {id, text, lang} columns."""

    def __init__(self, cfg: ModelConfig) -> None:
        from sentiment.loading import load_scorer

        self.scorer = load_scorer(cfg)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from sentiment.langid import detect_many

        texts = [str(t) for t in batch["text"]]
        langs: list[str | None] = [str(x) or None for x in batch["lang"]]
        missing = [i for i, x in enumerate(langs) if x is None]
        detected = [""] * len(texts)
        for i, lang in zip(missing, detect_many([texts[i] for i in missing]), strict=True):
            langs[i] = detected[i] = lang
        scores = self.scorer.score(texts, langs)
        return {
            "id": np.asarray(batch["id"], dtype=np.int64),
            "detected_lang": np.array(detected, dtype=object),
            "score": np.array([json.dumps(_score_dict(s)) for s in scores], dtype=object),
        }


def _score_dict(s: SentimentScore) -> dict[str, Any]:
    return {"label": s.label, "probs": s.probs, "confidence": s.confidence, "emotions": s.emotions, "model": s.model,
            "revision": s.revision, "emotion_labels": list(s.emotion_labels)}


def _score_of(raw: str) -> SentimentScore:
    d = json.loads(raw)
    return SentimentScore(d["label"], d["probs"], d["confidence"], d["emotions"], d["model"], d["revision"],
                          tuple(d["emotion_labels"]))


def _windows(lo: int, hi: int, size: int) -> Iterator[dict[str, int]]:
    for a in range(lo, hi + 1, size):
        yield {"lo": a, "hi": min(a + size, hi + 1)}


def model_key_on_cluster(cfg: ModelConfig) -> ModelKey:
    """The key of the model `cfg` loads, found by loading it in a Ray task (the driver needs no model files)."""
    ray = _ray()

    def describe(c: ModelConfig) -> str:
        from sentiment.loading import load_scorer

        return str(ModelKey.of_scorer(load_scorer(c)))

    return ModelKey.parse(ray.get(ray.remote(describe).remote(cfg)))


def connect(address: str | None) -> None:
    """Join the Ray cluster at `address` (None: the one `ray.init()` finds, or a new local one); an already
    initialised Ray is used as it is."""
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)


def backfill_with_ray(
    database_url: str,
    cfg: ModelConfig,
    key: ModelKey,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    address: str | None = None,
    actors: int | None = None,
    read_batch: int = READ_BATCH,
    batch_size: int = SCORE_BATCH,
    on_progress: Callable[[int, int], None] | None = None,
) -> BackfillResult:
    """Score every mention created in [start, end) that model `key` (the model `cfg` loads) has not scored.

    Connects as `connect(address)` does. `actors`: model actors (default: one per GPU, else one per two CPUs,
    at least one). Returns how many scores were new.
    """
    ray = _ray()
    connect(address)
    engine = make_engine(database_url)
    try:
        lo, hi, total = pending_span(engine, key, start, end)
        if on_progress:
            on_progress(0, total)
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        n_actors = actors or (gpus or max(1, int(resources.get("CPU", 1)) // 2))
        gpus_per_actor = 1.0 if gpus else 0.0
        done = first = 0
        t0 = time.perf_counter()
        t_first = t0
        if total:
            windows = list(_windows(lo, hi, read_batch))
            ds = (
                ray.data.from_items(windows, override_num_blocks=max(1, min(len(windows), 4 * n_actors)))
                .flat_map(_read_window, fn_args=(database_url, str(key), start, end))
                .map_batches(ScoreActor, fn_constructor_args=(cfg,), batch_size=batch_size, batch_format="numpy",
                             compute=ray.data.ActorPoolStrategy(size=n_actors), num_gpus=gpus_per_actor, num_cpus=1)
            )
            for batch in ds.iter_batches(batch_size=batch_size, batch_format="numpy"):
                pairs = [(int(i), _score_of(raw)) for i, raw in zip(batch["id"], batch["score"], strict=True)]
                wrong = {s.model_key for _, s in pairs} - {key}
                if wrong:
                    raise ModelError(f"a Ray actor scored with {', '.join(map(str, wrong))}, not {key}",
                                     hint="Give every node of the cluster the same model files and settings.")
                langs = {int(i): str(x) for i, x in zip(batch["id"], batch["detected_lang"], strict=True) if x}
                done += save_scores(engine, pairs, langs)
                if not first:
                    first, t_first = done, time.perf_counter()
                if on_progress:
                    on_progress(done, max(total, done))
        t_end = time.perf_counter()
        return BackfillResult(str(key), done, total, t_end - t0, n_actors, gpus_per_actor, done - first,
                              t_end - t_first if first else 0.0)
    finally:
        engine.dispose()


def parse_day(value: str | None, option: str) -> datetime | None:
    """A --from/--to value: YYYY-MM-DD or an ISO 8601 time (UTC when no offset is given)."""
    if value is None:
        return None
    from datetime import UTC

    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{option} must be a date (2026-11-02) or an ISO time (2026-11-02T08:00), got {value!r}",
                          hint="") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)
