"""Eval metrics match scikit-learn / the SemEval-2025 Task 11 definition on small files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score, recall_score

from brandpulse.errors import InputFileError
from sentiment.evaluate import emotion_metrics, metrics_by_language, read_eval_file, sentiment_metrics


def test_sentiment_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    labels = ["negative", "neutral", "positive"]
    y = list(rng.choice(labels, 200))
    p = [t if rng.random() < 0.7 else rng.choice(labels) for t in y]
    m = sentiment_metrics(y, p)
    assert m["macro_f1"] == round(f1_score(y, p, average="macro"), 4)
    assert m["macro_recall"] == round(recall_score(y, p, average="macro"), 4)
    assert sum(map(sum, m["confusion"]["matrix"])) == 200


def test_emotion_macro_f1_averages_only_emotions_marked_in_the_file() -> None:
    y = [frozenset({"joy"}), frozenset({"anger", "disgust"}), frozenset(), frozenset({"joy"})]
    p = [frozenset({"joy"}), frozenset({"anger"}), frozenset({"fear"}), frozenset()]
    m = emotion_metrics(y, p)
    # joy: tp1 fn1 → F1 2/3; anger: 1.0; disgust: 0.0; fear/sadness/surprise not marked → not averaged
    assert m["per_emotion_f1"] == {"anger": 1.0, "disgust": 0.0, "joy": round(2 / 3, 4)}
    assert m["macro_f1"] == round((1.0 + 0.0 + 2 / 3) / 3, 4)


def test_reading_files_and_per_language(tmp_path: Path) -> None:
    f = tmp_path / "e.csv"
    f.write_text("id,text,labels,lang\n1,a,joy;anger,en\n2,b,neutral,ru\n3,c,sadness,ru\n", encoding="utf-8")
    data = read_eval_file(f, "emotion")
    assert data.labels == [frozenset({"joy", "anger"}), frozenset(), frozenset({"sadness"})]
    out = metrics_by_language("emotion", data, [frozenset({"joy"}), frozenset(), frozenset({"sadness"})])
    assert set(out["per_language"]) == {"en", "ru"}
    assert out["per_language"]["ru"]["macro_f1"] == 1.0
    bad = tmp_path / "b.csv"
    bad.write_text("text,label\nhello,happy\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"b\.csv:2: label 'happy'"):
        read_eval_file(bad, "sentiment")
