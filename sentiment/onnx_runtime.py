"""ONNX Runtime for the encoder (`[model] runtime = "onnx"`): int8 weights, faster on a CPU.

The loaded torch encoder (adapter merged in) is exported once with its pooling and normalisation
(`torch.onnx.export`), its MatMul weights quantized to int8 per channel (`onnxruntime.quantization`,
dynamic activations), and cached under `<cache>/onnx/`. Tokenization, length-sorting and batching are
the torch encoder's own (`Encoder.embed`); only the forward pass runs in ONNX Runtime.

Scores made this way carry `+onnx-int8` in the model revision, so they are never mixed with the torch
path's scores of the same mention (switching runtime re-scores history, like any other model change).
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from brandpulse.errors import ModelError
from sentiment.encoder import Encoder, _pad, mean_pool

log = logging.getLogger(__name__)

#: Bump when the export recipe changes (invalidates cached files).
EXPORT_FORMAT = "2"
#: Per model: MatMuls kept in fp32 (node-name fragments). For multilingual-e5-small a per-layer sweep on
#: the demo texts found layer 4 and layer 0's FFN output carry the activation outliers that int8 loses:
#: all int8, embedding cosine to fp32 0.991 (labels agree 88.5%); these kept fp32, 0.996 (96%).
KEEP_FP32: dict[str, tuple[str, ...]] = {
    "multilingual-e5-small": ("encoder/layer.4/", "encoder/layer.0/output/dense/"),
}
RUNTIMES = ("torch", "onnx", "onnx-fp32")


def onnx_cache_dir(cache_dir: Path | str | None = None) -> Path:
    from sentiment.convert import default_cache_dir

    return (Path(cache_dir).expanduser() if cache_dir else default_cache_dir()) / "onnx"


def export_key(encoder: Encoder, quantize: bool) -> str:
    h = hashlib.sha256()
    for part in (EXPORT_FORMAT, encoder.name, encoder.revision, encoder.source, str(quantize)):
        h.update(b"\0" + str(part).encode("utf-8"))
    return h.hexdigest()[:16]


def export_encoder(encoder: Encoder, target: Path, *, quantize: bool = True) -> Path:
    """Write the encoder (mean pooling + L2 norm included) as ONNX to `target`, int8 when `quantize`."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state.float()
            return torch.nn.functional.normalize(mean_pool(hidden, attention_mask), p=2.0, dim=1)

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.stem}.tmp-{os.getpid()}.onnx")
    fp32 = target.with_name(f"{target.stem}.fp32-{os.getpid()}.onnx") if quantize else tmp
    model = encoder.model
    dtype = next(model.parameters()).dtype
    model.to(dtype=torch.float32)
    try:
        ids = torch.ones((2, 8), dtype=torch.long)
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(model).eval(), (ids, torch.ones_like(ids)), str(fp32),
                input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                              "embedding": {0: "batch"}},
                opset_version=17, dynamo=False,
            )
        if quantize:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            keep = KEEP_FP32.get(encoder.name, ())
            names = [n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node if n.op_type == "MatMul"]
            # MatMul only: the word-embedding table stays fp32 (quantizing it costs accuracy, saves no time)
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"],
                             nodes_to_exclude=[n for n in names if any(k in n for k in keep)])
        os.replace(tmp, target)
    except Exception as exc:
        raise ModelError(f"could not export the encoder to ONNX ({type(exc).__name__}: {exc})",
                         hint='Set [model] runtime = "torch".') from None
    finally:
        model.to(dtype=dtype)
        for leftover in {tmp, fp32}:
            leftover.unlink(missing_ok=True)
    return target


class OnnxEncoder(Encoder):
    """`Encoder` whose forward pass runs in ONNX Runtime (int8 MatMuls by default) on the CPU."""

    def __init__(self, model: str | Path, *, quantize: bool = True, cache_dir: Path | str | None = None,
                 **options: Any) -> None:
        options["device"] = "cpu"
        options["cpu_dtype"] = "float32"
        options["workers"] = 1  # ONNX Runtime runs one batch on all its threads
        super().__init__(model, **options)
        import onnxruntime as ort

        self.quantize = quantize
        path = onnx_cache_dir(cache_dir) / f"{export_key(self, quantize)}.onnx"
        if not path.is_file():
            log.info("exporting %s to ONNX (%s) at %s", self.name, "int8" if quantize else "fp32", path)
            export_encoder(self, path, quantize=quantize)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        import torch

        so.intra_op_num_threads = int(torch.get_num_threads())
        so.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a damaged cache file: export again once
            log.warning("cached ONNX model %s could not be loaded (%s); exporting again", path, exc)
            export_encoder(self, path, quantize=quantize)
            self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.onnx_path = path
        self.dtype = "int8" if quantize else "float32"
        self._revision += "+onnx-int8" if quantize else "+onnx"
        self.model = None  # the torch weights are not needed any more

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        input_ids, mask = _pad(batch, self.pad_id)
        out = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})  # _pad gives int64
        return np.asarray(out[0], dtype=np.float32)
