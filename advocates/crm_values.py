"""Values read from a CRM's API as text: what a contact field holds, whatever JSON type the API (or a hostile
record) sent."""

from __future__ import annotations

from typing import Any


def field_text(value: Any) -> str | None:
    """A string field stripped (None when empty); a number as its text; anything else (lists, objects) None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and value == value and abs(value) != float("inf"):
        return str(value)
    return None
