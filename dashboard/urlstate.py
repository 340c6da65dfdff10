"""Filters kept in the URL query string, so a view can be shared: widgets start from the URL, and each page
writes its current filters back (replacing the previous page's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st


def get(name: str, default: str = "") -> str:
    value = st.query_params.get(name)
    return str(value) if value else default


def get_list(name: str, allowed: Sequence[str], default: Sequence[str]) -> list[str]:
    raw = st.query_params.get(name)
    if raw is None:
        return list(default)
    return [v for v in str(raw).split(",") if v in allowed]


def choice(name: str, options: Sequence[str], default: str) -> int:
    """The index of the URL's value among `options` (the default's when absent or unknown)."""
    value = get(name, default)
    return list(options).index(value) if value in options else list(options).index(default)


def write(params: Mapping[str, str | Sequence[str] | None]) -> None:
    """Put these filters (and the page) in the URL; empty ones are left out."""
    out: dict[str, str] = {}
    page = st.query_params.get("page")
    if page:
        out["page"] = str(page)
    for k, v in params.items():
        if v is None or v == "" or (not isinstance(v, str) and not v):
            continue
        out[k] = v if isinstance(v, str) else ",".join(v)
    if dict(st.query_params.to_dict()) != out:
        st.query_params.from_dict(out)
