"""Loading the configured model: the encoder `[model] encoder` names (torch or ONNX Runtime) and the scorer.

Kept apart from `sentiment.encoder`, `sentiment.onnx_runtime`, `sentiment.scorer` and `sentiment.hub` so that
each of those imports only what it builds on (the ONNX encoder and the hub scorer build on the others; this
module picks between them).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brandpulse.errors import ModelError
from sentiment.convert import MODEL_NAME, install_default_model
from sentiment.encoder import BUNDLED, Encoder, _why, hub_offline
from sentiment.heads_io import HEADS_DIR, load_heads
from sentiment.scorer import EmbeddingScorer, Scorer, heads_adapter

if TYPE_CHECKING:
    from brandpulse.config import ModelConfig

log = logging.getLogger(__name__)



def load_bundled_encoder(cache_dir: Path | str | None = None, **options: Any) -> Encoder:
    """The bundled multilingual-e5-small (converted on first use), loaded with no network."""
    model_dir = install_default_model(Path(cache_dir).expanduser() if cache_dir else None)
    return _encoder_class(options, cache_dir)(model_dir, local_files_only=True, name=options.pop("name", MODEL_NAME),
                                              **options)


def _encoder_class(options: dict[str, Any], cache_dir: Path | str | None) -> Any:
    """`Encoder`, or the ONNX Runtime one when options["runtime"] (popped) asks for it."""
    runtime = str(options.pop("runtime", "torch") or "torch")
    if runtime == "torch":
        return Encoder
    from functools import partial

    from sentiment.onnx_runtime import OnnxEncoder

    return partial(OnnxEncoder, quantize=runtime == "onnx", cache_dir=cache_dir)


def load_encoder(model_cfg: ModelConfig, adapter: Path | str | None = None) -> Encoder:
    """The encoder `[model] encoder` names: "bundled", a Hugging Face id, or a local dir.

    A hub id is fetched only when HF_HUB_OFFLINE is not set. If it cannot be loaded, the bundled model
    is used instead and a warning says why.
    """
    options: dict[str, Any] = {
        "device": model_cfg.device,
        "threads": model_cfg.threads,
        "max_length": model_cfg.max_length,
        "batch_size": model_cfg.batch_size,
        "cpu_dtype": getattr(model_cfg, "cpu_dtype", "float32"),
        "cuda_dtype": getattr(model_cfg, "cuda_dtype", "auto"),
        "cuda_batch_tokens": getattr(model_cfg, "cuda_batch_tokens", 32_768),
        "cuda_max_batch": getattr(model_cfg, "cuda_max_batch", 1_024),
        "workers": getattr(model_cfg, "cpu_workers", 1),
        "adapter": adapter,
        "runtime": getattr(model_cfg, "runtime", "torch"),
    }
    wanted = (model_cfg.encoder or BUNDLED).strip()
    if wanted.lower() == BUNDLED:
        return load_bundled_encoder(model_cfg.cache_dir, **options)
    local = Path(wanted).expanduser()
    try:
        source = str(local) if local.is_dir() else wanted
        opts = dict(options)
        return _encoder_class(opts, model_cfg.cache_dir)(source, local_files_only=local.is_dir() or hub_offline(),
                                                          **opts)
    except ModelError as exc:
        offline = " (HF_HUB_OFFLINE is set, so only local files were tried)" if hub_offline() else ""
        log.warning(
            "encoder %r could not be loaded%s: %s; falling back to the bundled %s",
            wanted,
            offline,
            _why(exc.__cause__ or exc),
            MODEL_NAME,
        )
        return load_bundled_encoder(model_cfg.cache_dir, **options)


def load_scorer(cfg: ModelConfig) -> Scorer:
    """The configured scorer: a hub sentiment model when set and loadable, else the bundled one."""
    heads_dir = Path(cfg.heads_dir).expanduser() if cfg.heads_dir else HEADS_DIR
    heads = load_heads(heads_dir)
    encoder = load_encoder(cfg, adapter=heads_adapter(heads, heads_dir))
    bundled = EmbeddingScorer(
        encoder, heads, uncertain_threshold=cfg.uncertain_threshold, batch_size=cfg.batch_size,
        max_length=cfg.max_length,
    )
    if cfg.sentiment_model_id:
        from sentiment.hub import load_hub_scorer

        hub = load_hub_scorer(cfg, emotion_from=bundled)
        if hub is not None:
            return hub
    return bundled
