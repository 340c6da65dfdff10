"""Training data: the registered labelled CSVs (`DATA_SETS`), reading them, and mapping labels across tasks."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from brandpulse.types import EMOTIONS, SENTIMENTS


@dataclass(frozen=True)
class DataSet:
    """One labelled CSV in the shared data dir and what it may be used for."""

    name: str
    path: str
    task: str  # "sentiment" | "emotion"
    license: str
    #: Emotions the set annotates (an emotion missing here says nothing about a row); None = all six.
    annotated: tuple[str, ...] | None = None
    lang: str | None = None


DATA_SETS: dict[str, DataSet] = {
    d.name: d
    for d in [
        DataSet("tweeteval_sentiment/validation", "tweeteval_sentiment/validation.csv", "sentiment",
                "unknown (TweetEval; Twitter ToS)", lang="en"),
        DataSet("rusentitweet/train", "rusentitweet/train.csv", "sentiment", "none stated (RuSentiTweet)", lang="ru"),
        DataSet("umsab/validation", "umsab/validation.csv", "sentiment", "mixed per source (UMSAB; code Apache-2.0)"),
        DataSet("sentirueval/train2015_banks", "sentirueval/train2015_banks.csv", "sentiment",
                "none stated (SentiRuEval-2016)", lang="ru"),
        DataSet("sentirueval/train2015_telecom", "sentirueval/train2015_telecom.csv", "sentiment",
                "none stated (SentiRuEval-2016)", lang="ru"),
        DataSet("sentirueval/test2015_banks", "sentirueval/test2015_banks.csv", "sentiment",
                "none stated (SentiRuEval-2016)", lang="ru"),
        DataSet("sentirueval/test2015_telecom", "sentirueval/test2015_telecom.csv", "sentiment",
                "none stated (SentiRuEval-2016)", lang="ru"),
        *[
            DataSet(f"brighter/{split}_{lg}", f"brighter/{split}_{lg}.csv", "emotion", "CC BY 4.0 (BRIGHTER / SemEval-2025 T11)",
                    annotated=tuple(e for e in EMOTIONS if not (lg == "en" and e == "disgust")), lang=lg)
            for split in ("train", "dev")
            for lg in ("en", "ru", "uk")
        ],
        DataSet("cedr/train", "cedr/train.csv", "emotion", "Apache-2.0 (CEDR)",
                annotated=tuple(e for e in EMOTIONS if e != "disgust"), lang="ru"),
        DataSet("goemotions/train_sample10k", "goemotions/train_sample10k.csv", "emotion", "Apache-2.0 (GoEmotions)", lang="en"),
        DataSet("goemotions/dev", "goemotions/dev.csv", "emotion", "Apache-2.0 (GoEmotions)", lang="en"),
        DataSet("tweeteval_emotion/train", "tweeteval_emotion/train.csv", "emotion", "unknown (TweetEval; Twitter ToS)",
                annotated=("anger", "joy", "sadness"), lang="en"),
        DataSet("tweeteval_emotion/validation", "tweeteval_emotion/validation.csv", "emotion", "unknown (TweetEval; Twitter ToS)",
                annotated=("anger", "joy", "sadness"), lang="en"),
    ]
}

#: GoEmotions' official sentiment grouping of its 28 labels (google-research goemotions/data/sentiment_mapping.json).
GOEMOTIONS_SENTIMENT = {
    "positive": {"amusement", "excitement", "joy", "love", "desire", "optimism", "caring", "pride", "admiration",
                 "gratitude", "relief", "approval"},
    "negative": {"fear", "nervousness", "remorse", "embarrassment", "disappointment", "sadness", "grief", "disgust",
                 "anger", "annoyance", "disapproval"},
    "ambiguous": {"realization", "surprise", "curiosity", "confusion"},
}


@dataclass
class Rows:
    """The rows of one data file: texts, langs and labels (sentiment str, or an (n, 6) bool emotion matrix)."""

    dataset: DataSet
    path: Path
    texts: list[str]
    langs: list[str]
    sentiment: list[str] = field(default_factory=list)
    emotion: np.ndarray | None = None  # (n, len(EMOTIONS)) bool
    native: list[str] = field(default_factory=list)  # GoEmotions' native labels, ";"-joined

    def __len__(self) -> int:
        return len(self.texts)


def read_rows(data_dir: Path, name: str) -> Rows:
    """Read one registered data set (see DATA_SETS)."""
    ds = DATA_SETS[name]
    path = Path(data_dir) / ds.path
    texts: list[str] = []
    langs: list[str] = []
    sent: list[str] = []
    emo: list[list[bool]] = []
    native: list[str] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            texts.append(row.get("text") or "")
            langs.append((row.get("lang") or ds.lang or "").strip())
            native.append(row.get("native_labels") or "")
            if ds.task == "sentiment":
                sent.append((row.get("label") or "").strip().lower())
            else:
                parts = {p.strip().lower() for p in (row.get("labels") or "").split(";")}
                emo.append([e in parts for e in EMOTIONS])
    rows = Rows(ds, path, texts, langs, sent, np.array(emo, dtype=bool).reshape(-1, len(EMOTIONS)) if emo else None, native)
    if ds.task == "sentiment" and set(sent) - set(SENTIMENTS):
        raise ValueError(f"{path}: unexpected sentiment labels {sorted(set(sent) - set(SENTIMENTS))}")
    return rows


def annotated_mask(ds: DataSet) -> np.ndarray:
    """(6,) bool: which of EMOTIONS the set annotates."""
    have = set(ds.annotated) if ds.annotated is not None else set(EMOTIONS)
    return np.array([e in have for e in EMOTIONS], dtype=bool)




def emotion_to_sentiment(Y: np.ndarray) -> list[str | None]:
    """The Ukrainian-proxy mapping of emotion rows to sentiment (see TrainPlan.sentiment_from_emotion)."""
    joy = EMOTIONS.index("joy")
    neg = [EMOTIONS.index(e) for e in ("anger", "disgust", "fear", "sadness")]
    out: list[str | None] = []
    for row in Y:
        j, n = bool(row[joy]), bool(row[neg].any())
        if j and n:
            out.append(None)
        elif j:
            out.append("positive")
        elif n:
            out.append("negative")
        elif not row.any():
            out.append("neutral")
        else:
            out.append(None)  # surprise alone: no polarity
    return out


def emotion_rows_as_sentiment(rows: Rows) -> tuple[list[int], np.ndarray]:
    """The rows `emotion_to_sentiment` gives a polarity, and those polarities as SENTIMENTS indices."""
    assert rows.emotion is not None
    mapped = emotion_to_sentiment(rows.emotion)
    keep = [i for i, m in enumerate(mapped) if m is not None]
    return keep, np.array([SENTIMENTS.index(str(mapped[i])) for i in keep], dtype=int)


def goemotions_sentiment(native: Sequence[str], ambiguous: str | None = "neutral") -> list[str | None]:
    """GoEmotions' official positive/negative/ambiguous grouping; `neutral` → neutral, mixed pos+neg → None."""
    out: list[str | None] = []
    for nat in native:
        labs = {x.strip() for x in nat.split(";") if x.strip()}
        pos = bool(labs & GOEMOTIONS_SENTIMENT["positive"])
        neg = bool(labs & GOEMOTIONS_SENTIMENT["negative"])
        if pos and neg:
            out.append(None)
        elif pos or neg:
            out.append("positive" if pos else "negative")
        elif labs & GOEMOTIONS_SENTIMENT["ambiguous"]:
            out.append(ambiguous)
        else:
            out.append("neutral" if labs == {"neutral"} else None)
    return out

