"""A Hugging Face sequence-classification model for sentiment (`[model] sentiment_model_id`), emotions from the bundled heads.

`load_hub_scorer(cfg, emotion_from)` loads any `AutoModelForSequenceClassification` (a hub id or a local dir),
maps its `id2label` onto negative/neutral/positive, and returns a scorer whose emotions come from the bundled
scorer. It honours HF_HUB_OFFLINE (then only local files are tried) and returns None, with a warning saying
why, when the model cannot be loaded or its labels cannot be mapped, so the caller falls back to the bundled
scorer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from brandpulse.types import SENTIMENTS, SentimentScore
from sentiment.encoder import (
    CHARS_PER_TOKEN_CAP,
    _no_progress_bars,
    _pad,
    _why,
    clean_text,
    hub_offline,
    length_sorted_batches,
    resolve_device,
    select_dtype,
)
from sentiment.normalize import normalize_post
from sentiment.scorer import postprocess, texts_langs

if TYPE_CHECKING:
    from brandpulse.config import ModelConfig
    from sentiment.scorer import EmbeddingScorer

log = logging.getLogger(__name__)

_STARS = re.compile(r"^([1-5])\s*stars?$")


def map_labels(id2label: dict[int, str]) -> list[int] | None:
    """For each class index of the model, the index into SENTIMENTS it counts towards; None if unmappable.

    Understood: names containing neg/neu/pos (any case, e.g. "Negative", "NEU", "LABEL_NEGATIVE"),
    "1 star" … "5 stars" (1–2 negative, 3 neutral, 4–5 positive), and bare LABEL_0..LABEL_2 of a
    3-class model (read as negative, neutral, positive — the TweetEval convention) or LABEL_0/LABEL_1 of a
    2-class model (negative, positive).
    """
    n = len(id2label)
    if n < 2:
        return None
    names = [str(id2label[i]).strip().lower() for i in range(n)]
    out: list[int] = []
    for name in names:
        star = _STARS.match(name)
        if star:
            k = int(star.group(1))
            out.append(0 if k <= 2 else 1 if k == 3 else 2)
        elif "neg" in name:
            out.append(0)
        elif "neu" in name or name in ("none", "objective"):
            out.append(1)
        elif "pos" in name:
            out.append(2)
        else:
            out = []
            break
    if out and {0, 2} <= set(out):
        return out
    generic = [re.fullmatch(r"label_(\d+)", x) for x in names]
    if all(generic) and sorted(int(m.group(1)) for m in generic if m) == list(range(n)) and n in (2, 3):
        log.info("sentiment model labels are %s; reading them as %s", names, "neg/neu/pos" if n == 3 else "neg/pos")
        return [0, 1, 2] if n == 3 else [0, 2]
    return None


class HubScorer:
    """Sentiment from a sequence-classification model, emotions from the bundled embedding scorer."""

    def __init__(self, model_id: str, tokenizer: Any, model: Any, mapping: list[int], emotion_from: EmbeddingScorer | None,
                 *, device: str = "cpu", uncertain_threshold: float = 0.45, batch_size: int = 32,
                 max_length: int = 128, batch_tokens: int | None = None) -> None:
        self.model_id = model_id
        self.tokenizer = tokenizer
        self.model = model
        self.mapping = np.asarray(mapping)
        self.emotion_from = emotion_from
        self.device = device
        self.uncertain_threshold = uncertain_threshold
        self.batch_size = batch_size
        self.max_length = max_length
        #: On CUDA: padded tokens per batch (`batch_size` is then the most rows); None: `batch_size` rows.
        self.batch_tokens = batch_tokens
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        commit = getattr(model.config, "_commit_hash", None)
        self.name = model_id.rstrip("/").split("/")[-1] if Path(model_id).is_dir() else model_id
        emo = f"+emotion:{emotion_from.revision}" if emotion_from is not None else ""
        self.revision = f"{commit or 'local'}{emo}"

    def sentiment_probs(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 3) probabilities over SENTIMENTS; batched, sorted by length, padded per batch."""
        import torch

        prepared = [clean_text(normalize_post(clean_text(t, self.max_length * CHARS_PER_TOKEN_CAP)),
                               self.max_length * CHARS_PER_TOKEN_CAP) for t in texts]
        enc = self.tokenizer(prepared, truncation=True, max_length=self.max_length, padding=False,
                             return_attention_mask=False, return_token_type_ids=False)
        ids = enc["input_ids"]
        out = np.zeros((len(prepared), len(SENTIMENTS)), dtype=np.float64)
        for rows in length_sorted_batches(ids, self.batch_size, self.batch_tokens):
            input_ids, mask = _pad([list(ids[i]) for i in rows], self.pad_id)
            with torch.inference_mode():
                logits = self.model(input_ids=torch.from_numpy(input_ids).to(self.device),
                                    attention_mask=torch.from_numpy(mask).to(self.device)).logits.float()
                p = torch.softmax(logits, dim=-1).cpu().numpy().astype(np.float64)
            agg = np.zeros((len(rows), len(SENTIMENTS)))
            for k, target in enumerate(self.mapping):
                agg[:, target] += p[:, k]
            out[rows] = agg / agg.sum(axis=1, keepdims=True)
        return out

    def score(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[SentimentScore]:
        if not texts:
            return []
        probs = self.sentiment_probs(texts)
        if self.emotion_from is not None:
            heads = self.emotion_from.heads
            h = heads.emotion
            langs = texts_langs(heads, texts, langs)
            emo, names = h.probs(self.emotion_from.embed(texts), texts, langs), h.emotions
            thr = h.thresholds_for(langs, len(texts))
        else:
            emo, names, thr = np.zeros((len(texts), 0)), (), np.zeros(0)
        return postprocess(probs, SENTIMENTS, emo, names, thr, self.uncertain_threshold, self.name, self.revision)


def load_hub_scorer(cfg: ModelConfig, emotion_from: EmbeddingScorer | None) -> HubScorer | None:
    """The scorer for `cfg.sentiment_model_id`, or None (with a warning) when it cannot be used."""
    wanted = (cfg.sentiment_model_id or "").strip()
    if not wanted:
        return None
    local = Path(wanted).expanduser()
    source = str(local) if local.is_dir() else wanted
    offline = hub_offline()
    local_only = local.is_dir() or offline
    try:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        device = resolve_device(cfg.device)
        with _no_progress_bars():
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
            model = AutoModelForSequenceClassification.from_pretrained(source, local_files_only=local_only,
                                                                       dtype=torch.float32)
        # on CUDA in bf16/fp16 (`[model] cuda_dtype`); on CPU in fp32, as before
        dtype = getattr(torch, select_dtype(device, "float32", cfg.cuda_dtype))
        model.to(device=device, dtype=dtype).eval()
    except Exception as exc:  # transformers raises OSError, ValueError, HTTP errors, …
        why = " (HF_HUB_OFFLINE is set, so only local files were tried)" if offline and not local.is_dir() else ""
        log.warning("sentiment model %r could not be loaded%s: %s; using the bundled model instead", wanted, why, _why(exc))
        return None
    id2label = {int(k): v for k, v in (getattr(model.config, "id2label", None) or {}).items()}
    mapping = map_labels(id2label)
    if mapping is None:
        log.warning("sentiment model %r has labels %s that cannot be mapped to negative/neutral/positive; "
                    "using the bundled model instead", wanted, sorted(id2label.values()))
        return None
    on_cuda = device != "cpu"
    return HubScorer(source, tokenizer, model, mapping, emotion_from, device=device,
                     uncertain_threshold=cfg.uncertain_threshold,
                     batch_size=cfg.cuda_max_batch if on_cuda else cfg.batch_size, max_length=cfg.max_length,
                     batch_tokens=cfg.cuda_batch_tokens if on_cuda else None)
