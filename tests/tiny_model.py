"""Tiny BERT models saved to a directory (a word-level tokenizer and a few random layers): the real loading,
tokenizing and forward paths of `transformers`, in milliseconds and with no network."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

WORDS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "great", "awful", "the", "service", "is", "ok")


def _tokenizer(words: Sequence[str]) -> object:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", model_max_length=64)


def tiny_bert_dir(path: Path, words: Sequence[str] = WORDS, *, intermediate_size: int = 64, pooler: bool = True,
                  id2label: dict[int, str] | None = None, seed: int = 0) -> Path:
    """Save a 2-layer, 32-wide BERT and its tokenizer to `path`: an encoder (`BertModel`), or a sequence
    classifier with `id2label`'s classes when given."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    labels = {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}} if id2label else {}
    cfg = BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=intermediate_size, max_position_embeddings=64, **labels)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(cfg) if id2label else BertModel(cfg, add_pooling_layer=pooler)
    model.save_pretrained(path)
    _tokenizer(words).save_pretrained(path)  # type: ignore[attr-defined]
    return path
