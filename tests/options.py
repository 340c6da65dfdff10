"""Test helper: build a collector's Options model from the keyword arguments a test passes."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def pop_options(model: type[M], kw: dict[str, Any], *, keep: tuple[str, ...] = (), **defaults: Any) -> M:
    """`model` built from the keys of `kw` it declares (removed from `kw`, except those in `keep`), over `defaults`."""
    values = {**defaults, **{k: kw.pop(k) for k in list(kw) if k in model.model_fields and k not in keep}}
    return model(**values)
