"""Planning encoder batches: texts sorted by length, cut into batches by a token budget.

A batch is padded to its longest text, so it costs about ``rows × longest`` token positions. Sorting by length
(longest first) keeps the padding small; a token budget lets a GPU take many short texts in one batch and fewer
long ones, instead of a fixed number of rows whatever their length. Pure functions: no torch, no model.
"""

from __future__ import annotations

from collections.abc import Sequence


def plan_batches(lengths: Sequence[int], max_tokens: int | None, max_batch: int) -> list[list[int]]:
    """Row indices in batches, longest texts first: each index exactly once, at most `max_batch` rows per batch and,
    when `max_tokens` is set, at most `max_tokens` padded token positions (rows × the batch's longest length) —
    except a single text longer than the budget, which gets a batch of its own.

    Texts of equal length keep their input order. With `max_tokens=None` this is plain length-sorted batches of
    `max_batch` rows. Callers write each batch's results back at its indices, so results come out in input order.
    """
    max_batch = max(1, int(max_batch))
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    if max_tokens is None:
        return [order[start : start + max_batch] for start in range(0, len(order), max_batch)]
    batches: list[list[int]] = []
    start = 0
    while start < len(order):
        longest = max(1, int(lengths[order[start]]))  # sorted: the batch's first row is its longest
        rows = max(1, min(max_batch, int(max_tokens) // longest))
        batches.append(order[start : start + rows])
        start += rows
    return batches


def padded_tokens(lengths: Sequence[int], batch: Sequence[int]) -> int:
    """Token positions a batch takes once padded to its longest text."""
    return len(batch) * max((max(1, int(lengths[i])) for i in batch), default=0)
