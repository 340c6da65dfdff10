"""What `brandpulse model train` fits on which data, and the progress callback it reports to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: (step, done, total) → None
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TrainPlan:
    """Which data shapes which head, and how. The defaults are what docs/model-results.md measured best."""

    #: Sentiment sets with a `label` column (each source is class-balanced on its own, then pooled).
    sentiment_sets: tuple[str, ...] = ("tweeteval_sentiment/validation", "rusentitweet/train", "umsab/validation")
    #: Emotion sets whose rows also become sentiment rows: joy → positive; anger/disgust/fear/sadness → negative;
    #: no emotion → neutral; joy together with a negative emotion, or surprise alone → dropped.
    sentiment_from_emotion: tuple[str, ...] = ("brighter/train_uk",)
    #: Emotion sets: per-emotion one-vs-rest logistic regression on the rows that annotate that emotion.
    emotion_sets: tuple[str, ...] = (
        "brighter/train_en", "brighter/train_ru", "brighter/train_uk", "cedr/train", "goemotions/train_sample10k",
        "goemotions/dev", "tweeteval_emotion/train", "tweeteval_emotion/validation",
    )
    #: Sample weight per emotion set (default 1.0): the big non-BRIGHTER sets help, but must not drown BRIGHTER.
    emotion_weights: tuple[tuple[str, float], ...] = (
        ("cedr/train", 0.15), ("goemotions/train_sample10k", 0.15), ("goemotions/dev", 0.15),
        ("tweeteval_emotion/train", 0.15), ("tweeteval_emotion/validation", 0.15),
    )
    #: Thresholds: "train-oof" = tuned on out-of-fold predictions for the rows of `threshold_sets` in the
    #: training data (dev stays a clean test); "dev" = tuned on `dev_sets` (more in-domain, but dev is then no test).
    threshold_source: str = "train-oof"
    threshold_sets: tuple[str, ...] = ("brighter/train_en", "brighter/train_ru", "brighter/train_uk")
    #: Also tune thresholds per language (on that language's threshold rows, F1 smoothed over ±3 grid steps):
    #: annotators and base rates differ by language; other languages keep the pooled thresholds.
    threshold_per_language: bool = True
    threshold_smooth: int = 3
    #: Held-out emotion test (per language); also mapped to sentiment for the Ukrainian/Russian proxies.
    dev_sets: tuple[str, ...] = ("brighter/dev_en", "brighter/dev_ru", "brighter/dev_uk")
    #: Character n-gram emotion model (sentiment.ngram_emotions) trained on these sets and blended into the embedding
    #: head per language, the blend weight picked from `blend_grid` on out-of-fold predictions (0 = not used).
    ngram_sets: tuple[str, ...] = ("brighter/train_en", "brighter/train_ru", "brighter/train_uk")
    ngram_C: float = 16.0
    blend_grid: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    sentiment_C: float = 1.0
    emotion_C: float = 2.0
    cv_folds: int = 5
    max_length: int = 128
    #: Data sets to leave out (e.g. to measure on one of them with `brandpulse eval`).
    exclude: tuple[str, ...] = ()

    def weight(self, name: str) -> float:
        return dict(self.emotion_weights).get(name, 1.0)
