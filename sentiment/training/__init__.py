"""`brandpulse model train`: the heads (and optionally an encoder LoRA adapter), one step per module.

- `data`: the registered data sets and reading them; `embedding`: embedding them (cached);
- `fitting`: estimators and measures; `sentiment_head`, `emotion_head`, `ngram`: the three models;
- `blend`: n-gram blend weights and emotion thresholds; `writing`: heads, version and heads.json;
- `adapter`: the LoRA adapter; `pipeline`: the steps in order (`train`, `train_heads`).
"""

from sentiment.training.adapter import ADAPTER_FILE, AdapterPlan, adapter_holdout, read_adapter_meta, train_adapter
from sentiment.training.data import DATA_SETS, emotion_to_sentiment, goemotions_sentiment, read_rows
from sentiment.training.embedding import cached_embeddings
from sentiment.training.fitting import THRESHOLD_GRID, calibrate, ece, fit_temperature, softmax, tune_thresholds
from sentiment.training.pipeline import TrainResult, train, train_heads
from sentiment.training.plan import Progress, TrainPlan

__all__ = [
    "ADAPTER_FILE", "DATA_SETS", "THRESHOLD_GRID", "AdapterPlan", "Progress", "TrainPlan", "TrainResult",
    "adapter_holdout", "cached_embeddings", "calibrate", "ece", "emotion_to_sentiment", "fit_temperature",
    "goemotions_sentiment", "read_adapter_meta", "read_rows", "softmax", "train", "train_adapter", "train_heads",
    "tune_thresholds",
]
