"""LoRA adapter for the encoder (optional, slow on CPU): multi-task fine-tuning of low-rank updates of every
BERT block's linear layers, saved as `encoder_lora.npz` beside the heads."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from brandpulse.types import EMOTIONS, SENTIMENTS
from sentiment.training.data import DATA_SETS, Rows, annotated_mask, read_rows
from sentiment.training.plan import Progress

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

ADAPTER_FILE = "encoder_lora.npz"
#: Linear layers of each BERT block that get a low-rank update (attention q/k/v/out and both FFN layers).
LORA_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                "intermediate.dense", "output.dense")


@dataclass(frozen=True)
class AdapterPlan:
    """Multi-task LoRA fine-tuning of the encoder: sentiment (3-way) + emotion (6 x binary) on the pooled embedding.

    TweetEval sentiment and every dev set are never used, and `holdout` of each `sentiment_holdout` set is kept
    out, so the heads trained afterwards can still be measured on data the encoder never saw.
    """

    #: (data set, rows to sample or None for all, times repeated)
    emotion: tuple[tuple[str, int | None, int], ...] = (
        ("brighter/train_en", None, 1), ("brighter/train_ru", None, 1), ("brighter/train_uk", None, 1),
        ("cedr/train", 2500, 1), ("goemotions/train_sample10k", 2500, 1),
    )
    sentiment: tuple[tuple[str, int | None, int], ...] = (
        ("rusentitweet/train", 3500, 1), ("umsab/validation", None, 1),
        ("sentirueval/train2015_banks", 1500, 1), ("sentirueval/train2015_telecom", 1500, 1),
    )
    #: Sets of which a stratified `holdout` fraction is never shown to the adapter (for measurement).
    sentiment_holdout: tuple[str, ...] = ("rusentitweet/train",)
    holdout: float = 0.4
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    epochs: float = 2.0
    batch_size: int = 32
    lr: float = 3e-4
    head_lr: float = 3e-3
    max_length: int = 64
    #: Scale of the L2-normalised embedding inside the training heads (cosine-softmax style).
    scale: float = 20.0


def adapter_holdout(rows: Rows, plan: AdapterPlan, seed: int) -> np.ndarray:
    """Row indices of a sentiment set that the adapter never sees (stratified by label, fixed by `seed`)."""
    from sklearn.model_selection import train_test_split

    y = np.array([SENTIMENTS.index(s) for s in rows.sentiment])
    _, hold = train_test_split(np.arange(len(y)), test_size=plan.holdout, stratify=y, random_state=seed)
    return np.sort(hold)


@dataclass
class AdapterExamples:
    """The adapter's training rows: texts, sentiment index (-1 = none), emotion labels and annotation masks."""

    texts: list[str] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    emo: list[np.ndarray] = field(default_factory=list)
    emask: list[np.ndarray] = field(default_factory=list)
    used: list[dict[str, Any]] = field(default_factory=list)


def adapter_examples(data_dir: Path, plan: AdapterPlan, seed: int) -> AdapterExamples:
    """Every (sampled, repeated) row of the plan's emotion then sentiment sets, holdouts left out."""
    rng = np.random.default_rng(seed)
    ex = AdapterExamples()
    zeros = np.zeros(len(EMOTIONS), dtype=bool)
    for task, sets in (("emotion", plan.emotion), ("sentiment", plan.sentiment)):
        for name, n, repeat in sets:
            if not (Path(data_dir) / DATA_SETS[name].path).is_file():
                log.warning("data set %s is missing; the adapter is trained without it", name)
                continue
            rows = read_rows(data_dir, name)
            idx = np.arange(len(rows))
            if task == "sentiment" and name in plan.sentiment_holdout:
                idx = np.setdiff1d(idx, adapter_holdout(rows, plan, seed))
            if n is not None and n < len(idx):
                idx = np.sort(rng.choice(idx, n, replace=False))
            mask = annotated_mask(rows.dataset) if task == "emotion" else zeros
            for _ in range(repeat):
                for i in idx:
                    ex.texts.append(rows.texts[i])
                    ex.sent.append(SENTIMENTS.index(rows.sentiment[i]) if task == "sentiment" else -1)
                    ex.emo.append(rows.emotion[i] if task == "emotion" and rows.emotion is not None else zeros)
                    ex.emask.append(mask)
            ex.used.append({"name": name, "task": task, "rows": len(idx), "repeat": repeat,
                            "license": rows.dataset.license})
    if not ex.texts:
        raise ValueError(f"no adapter training data found in {data_dir}")
    return ex


def _lora_linear(base: Any, plan: AdapterPlan) -> Any:
    """`base` (an nn.Linear) plus a trainable low-rank update B @ A, scaled by alpha / rank."""
    import torch
    from torch import nn

    class LoRALinear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = base
            self.scale = plan.alpha / plan.rank
            self.A = nn.Parameter(torch.empty(plan.rank, base.in_features))
            nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
            self.B = nn.Parameter(torch.zeros(base.out_features, plan.rank))
            self.drop = nn.Dropout(plan.dropout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.base(x) + (self.drop(x) @ self.A.T @ self.B.T) * self.scale

    return LoRALinear()


def lora_model(encoder: Any, plan: AdapterPlan) -> tuple[Any, dict[str, Any]]:
    """A trainable copy of the encoder's model with every target layer wrapped; (model, {layer name: LoRA})."""
    import copy

    from torch import nn

    model = copy.deepcopy(encoder.model).float().train()
    for p in model.parameters():
        p.requires_grad_(False)
    lora: dict[str, Any] = {}
    for name, mod in list(model.named_modules()):
        if isinstance(mod, nn.Linear) and ".layer." in name and any(name.endswith(t) for t in LORA_TARGETS):
            parent, child = name.rsplit(".", 1)
            wrapped = _lora_linear(mod, plan)
            setattr(model.get_submodule(parent), child, wrapped)
            lora[name] = wrapped
    return model, lora


def batch_order(order_rng: np.random.Generator, ids: list[list[int]], batch_size: int) -> list[list[int]]:
    """One epoch's batches: similar lengths inside a batch, random order across batches."""
    perm = order_rng.permutation(len(ids))
    batches: list[list[int]] = []
    chunk = batch_size * 50
    for c in range(0, len(perm), chunk):
        part = sorted(perm[c : c + chunk].tolist(), key=lambda i: len(ids[i]))
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    order_rng.shuffle(batches)
    return batches


@dataclass
class _Targets:
    """The training targets as arrays, and the loss weights that balance them."""

    y_s: np.ndarray
    Y_e: np.ndarray
    M_e: np.ndarray
    class_w: Any
    pos_w: Any


def _targets(ex: AdapterExamples) -> _Targets:
    import torch

    y_s = np.array(ex.sent)
    Y_e = np.array(ex.emo, dtype=np.float32)
    M_e = np.array(ex.emask, dtype=np.float32)
    have = y_s[y_s >= 0]
    class_w = torch.tensor(len(have) / (3 * np.maximum(np.bincount(have, minlength=3), 1)), dtype=torch.float32)
    pos = (Y_e * M_e).sum(0)
    neg = ((1 - Y_e) * M_e).sum(0)
    pos_w = torch.tensor(np.sqrt(neg / np.maximum(pos, 1.0)), dtype=torch.float32)
    return _Targets(y_s, Y_e, M_e, class_w, pos_w)


def _batch_loss(model: Any, heads: tuple[Any, Any], encoder: Any, ids: list[list[int]], b: list[int], t: _Targets,
                plan: AdapterPlan) -> torch.Tensor:
    """Sentiment cross-entropy + masked emotion BCE of one batch, on the scaled, normalised pooled embedding."""
    import torch
    from torch import nn

    from sentiment.encoder import _pad, mean_pool

    head_s, head_e = heads
    inp, m = _pad([ids[i] for i in b], encoder.pad_id)
    mask_t = torch.from_numpy(m)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hidden = model(input_ids=torch.from_numpy(inp), attention_mask=mask_t).last_hidden_state
    e = nn.functional.normalize(mean_pool(hidden.float(), mask_t), dim=1) * plan.scale
    loss = torch.zeros(())
    sb = torch.from_numpy(t.y_s[b])
    if bool((sb >= 0).any()):
        keep = sb >= 0
        loss = loss + nn.functional.cross_entropy(head_s(e[keep]), sb[keep], weight=t.class_w)
    em = torch.from_numpy(t.M_e[b])
    if float(em.sum()) > 0:
        bce = nn.functional.binary_cross_entropy_with_logits(head_e(e), torch.from_numpy(t.Y_e[b]), pos_weight=t.pos_w,
                                                             reduction="none")
        loss = loss + (bce * em).sum() / em.sum()
    return loss


def _fit_lora(model: Any, lora: dict[str, Any], encoder: Any, ids: list[list[int]], t: _Targets, plan: AdapterPlan,
              seed: int, progress: Progress | None) -> None:
    """AdamW with linear warm-up and decay over `plan.epochs` of length-bucketed batches."""
    import torch
    from torch import nn

    heads = (nn.Linear(encoder.dim, len(SENTIMENTS)), nn.Linear(encoder.dim, len(EMOTIONS)))
    opt = torch.optim.AdamW(
        [{"params": [p for m in lora.values() for p in (m.A, m.B)], "lr": plan.lr},
         {"params": [*heads[0].parameters(), *heads[1].parameters()], "lr": plan.head_lr}],
        weight_decay=0.01,
    )
    total = max(1, int(math.ceil(len(ids) / plan.batch_size) * plan.epochs))
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / total))
    order_rng = np.random.default_rng(seed)
    step = 0
    while step < total:
        for b in batch_order(order_rng, ids, plan.batch_size):
            if step >= total:
                break
            loss = _batch_loss(model, heads, encoder, ids, b, t, plan)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress:
                progress("LoRA fine-tuning of the encoder", step, total)


def train_adapter(data_dir: Path, encoder: Any, out_file: Path, *, seed: int = 13, plan: AdapterPlan | None = None,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Fine-tune LoRA matrices on `encoder.model` (in place is avoided: a copy is trained) and save them.

    Saves `<module>.A` (r, in) and `<module>.B` (out, r; already multiplied by alpha/r) as float16 in
    `out_file`; `sentiment.encoder.apply_adapter` adds B @ A to each weight. Deterministic for a given seed
    and torch thread count. Returns the adapter's metadata (for heads.json).
    """
    import torch

    from sentiment.normalize import normalize_post

    plan = plan or AdapterPlan()
    torch.manual_seed(seed)
    model, lora = lora_model(encoder, plan)
    ex = adapter_examples(data_dir, plan, seed)
    ids = encoder._tokenize([normalize_post(t) for t in ex.texts], plan.max_length)
    _fit_lora(model, lora, encoder, ids, _targets(ex), plan, seed, progress)
    return save_adapter(lora, plan, seed, ex.used, Path(out_file))


def save_adapter(lora: dict[str, Any], plan: AdapterPlan, seed: int, used: list[dict[str, Any]],
                 out_file: Path) -> dict[str, Any]:
    """Write the LoRA matrices (float16) and their metadata to `out_file`; returns `read_adapter_meta` of it."""
    import torch

    arrays: dict[str, Any] = {}
    for name, layer in lora.items():
        arrays[f"{name}.A"] = layer.A.detach().numpy().astype(np.float16)
        arrays[f"{name}.B"] = (layer.B.detach() * layer.scale).numpy().astype(np.float16)
    meta = {
        "method": f"LoRA r={plan.rank}, alpha={plan.alpha}, on {', '.join(LORA_TARGETS)} of every layer; "
                  f"multi-task sentiment + emotion, {plan.epochs} epochs, lr {plan.lr}, max_length {plan.max_length}, "
                  "bf16 autocast on CPU",
        "data": used,
        "never_seen": ["tweeteval_sentiment/validation", "brighter/dev_*",
                       *[f"{n}: a stratified {plan.holdout:.0%} (seed {seed})" for n in plan.sentiment_holdout]],
        "holdout": {"sets": list(plan.sentiment_holdout), "fraction": plan.holdout, "seed": seed},
        "parameters": int(sum(a.size for a in arrays.values())),
        "seed": seed,
        "torch_threads": int(torch.get_num_threads()),
    }
    out_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_file, **arrays, meta=np.array(json.dumps(meta, ensure_ascii=False)))
    return read_adapter_meta(out_file)


def read_adapter_meta(path: Path) -> dict[str, Any]:
    """The metadata saved inside an adapter file, plus its file name and sha256."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
    return {"file": Path(path).name, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(), **meta}
