"""`brandpulse eval`: the configured model's accuracy on a labelled CSV.

Sentiment files: columns `text`, `label` (negative/neutral/positive), optional `lang`.
Emotion files: `text`, `labels` (`;`-joined anger/disgust/fear/joy/sadness/surprise, `neutral` = none),
optional `lang`. Other columns are ignored.

Emotion macro-F1 is SemEval-2025 Task 11 track A's: the mean of per-emotion binary F1 over the
emotions the file marks at least once.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score
from sqlalchemy import Engine

from brandpulse.errors import InputFileError
from brandpulse.store.labels import human_labels
from brandpulse.types import EMOTIONS, SENTIMENTS


@dataclass
class EvalSet:
    texts: list[str]
    labels: list[str] | list[frozenset[str]]
    langs: list[str]


def human_eval_set(engine: Engine, task: str) -> EvalSet:
    """The corrections people made in the dashboard, as an evaluation set for `task`."""
    rows = human_labels(engine, task)
    texts = [text for text, _, _ in rows]
    langs = [lang or "all" for _, lang, _ in rows]
    if task == "sentiment":
        return EvalSet(texts, [lab for _, _, lab in rows], langs)
    return EvalSet(texts, [frozenset(p for p in lab.split(";") if p and p != "neutral") for _, _, lab in rows], langs)


def read_eval_file(path: Path, task: str) -> EvalSet:
    if not path.is_file():
        raise InputFileError(f"{path} does not exist")
    col = "label" if task == "sentiment" else "labels"
    texts: list[str] = []
    labels: list[Any] = []
    langs: list[str] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = set(reader.fieldnames or [])
        if not {"text", col} <= fields:
            found = ", ".join(sorted(fields))
            raise InputFileError(f"{path}: a {task} file needs columns text and {col} (found: {found})")
        for lineno, row in enumerate(reader, start=2):
            raw = (row.get(col) or "").strip().lower()
            if task == "sentiment":
                if raw not in SENTIMENTS:
                    raise InputFileError(f"{path}:{lineno}: label {raw!r} is not one of {', '.join(SENTIMENTS)}")
                labels.append(raw)
            else:
                parts = {p.strip() for p in raw.split(";") if p.strip()} - {"neutral"}
                unknown = parts - set(EMOTIONS)
                if unknown:
                    raise InputFileError(f"{path}:{lineno}: unknown emotion(s) {', '.join(sorted(unknown))}")
                labels.append(frozenset(parts))
            texts.append(row["text"] or "")
            langs.append((row.get("lang") or "").strip() or "all")
    if not texts:
        raise InputFileError(f"{path} has no rows")
    return EvalSet(texts, labels, langs)


def sentiment_metrics(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, Any]:
    labels = list(SENTIMENTS)
    return {
        "n": len(y_true),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4),
        "macro_recall": round(float(recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4),
        "confusion": {"labels": labels, "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()},
    }


def emotion_metrics(y_true: Sequence[frozenset[str]], y_pred: Sequence[frozenset[str]]) -> dict[str, Any]:
    present = [e for e in EMOTIONS if any(e in t for t in y_true)]
    per: dict[str, float] = {}
    for e in present:
        t = np.array([e in s for s in y_true])
        p = np.array([e in s for s in y_pred])
        per[e] = round(float(f1_score(t, p, zero_division=0)), 4)
    exact = float(np.mean([a == b for a, b in zip(y_true, y_pred, strict=True)]))
    macro_f1 = round(float(np.mean(list(per.values()))), 4) if per else 0.0
    recalls = []
    for e in present:
        t = np.array([e in s for s in y_true])
        p = np.array([e in s for s in y_pred])
        recalls.append(float(recall_score(t, p, zero_division=0)))
    return {
        "n": len(y_true),
        "accuracy": round(exact, 4),
        "macro_f1": macro_f1,
        "macro_recall": round(float(np.mean(recalls)), 4) if recalls else 0.0,
        "per_emotion_f1": per,
    }


def metrics_by_language(task: str, data: EvalSet, predicted: Sequence[Any]) -> dict[str, Any]:
    def fn(y: Sequence[Any], p: Sequence[Any]) -> dict[str, Any]:
        return sentiment_metrics(y, p) if task == "sentiment" else emotion_metrics(y, p)

    out = fn(data.labels, predicted)
    per: dict[str, Any] = {}
    for lang in sorted(set(data.langs)):
        idx = [i for i, lg in enumerate(data.langs) if lg == lang]
        sub = fn([data.labels[i] for i in idx], [predicted[i] for i in idx])
        sub.pop("confusion", None)
        per[lang] = sub
    out["per_language"] = per
    return out
