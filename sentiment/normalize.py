"""Text normalisation a social post needs before the model sees it (handles, links; emoji kept)."""

from __future__ import annotations

import re

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@[\w.]{1,64}")
_WS = re.compile(r"\s+")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_post(text: str, max_chars: int = 2000) -> str:
    """`@someone` → `@user`, links → `http`, control characters dropped, whitespace collapsed.

    Emoji and hashtags are kept: they carry sentiment. Long texts are cut (the model reads
    at most a few hundred tokens anyway), so a 1 MB post cannot stall a batch.
    """
    text = _CTRL.sub(" ", text[: max_chars * 2])
    text = _URL.sub("http", text)
    text = _HANDLE.sub("@user", text)
    return _WS.sub(" ", text).strip()[:max_chars]


def strip_for_langid(text: str) -> str:
    """Text without links, handles and hashtags marks (they are not language); lone surrogates replaced."""
    text = text[:4000]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    return _WS.sub(" ", text.replace("#", " ")).strip()
