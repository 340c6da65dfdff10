"""Near-duplicate grouping for copy-paste campaigns and retweet storms.

Every item is reduced to a normalised text (NFKC, case-folded, a leading "RT @x:" removed, URLs,
@handles, numbers and punctuation stripped, whitespace collapsed). An item whose normalised text is
near-identical to an earlier one — rapidfuzz `fuzz.ratio` ≥ `threshold`, or, for longer texts of
similar length, `fuzz.token_set_ratio` ≥ `token_set_threshold` — joins that item's group; the group id
is the id of the group's first item.

It is built for streams: candidates come from MinHash-LSH buckets over character shingles
(`bands` × `rows` of a `num_perm` signature), so each new item is compared with a handful of
candidates, not with everything seen; an exact repeat of a normalised text is found by hash alone.
Memory is bounded: the window keeps the last `max_items` items and, when items carry a time, drops
those older than `max_age` before the newest one.

    index = NearDupIndex()
    index.add("1", "Brand X stole my data! https://t.co/a")   # None: first of its kind
    index.add("2", "RT @bob: Brand X stole my data!!")         # "1"
    group_near_duplicates([("1", "…"), ("2", "…")])           # {"1": "1", "2": "1"}
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from rapidfuzz import fuzz

_RT = re.compile(r"^(?:\s*rt\s*@[\w.]+\s*:?\s*)+")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_HANDLE = re.compile(r"(?<![\w@])@[\w.]+")
_NUMBER = re.compile(r"\d+")
_NON_WORD = re.compile(r"[^\w\s]|_")
_MASK32 = np.uint64(0xFFFFFFFF)


def normalize_text(text: str) -> str:
    """Lowercased, RT prefix / URLs / @handles / numbers / punctuation stripped, whitespace collapsed."""
    t = unicodedata.normalize("NFKC", text or "").casefold()
    t = _RT.sub("", t)
    t = _URL.sub(" ", t)
    t = _HANDLE.sub(" ", t)
    t = _NUMBER.sub(" ", t)
    t = _NON_WORD.sub(" ", t)
    return " ".join(t.split())


def _shingle_hashes(norm: str, k: int) -> np.ndarray:
    """32-bit hashes of the character k-grams of `norm` (the whole text when shorter than k)."""
    codes = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < k:
        codes = np.concatenate([codes, np.zeros(k - len(codes), dtype=np.uint64)])
    n = len(codes) - k + 1
    h = np.zeros(n, dtype=np.uint64)
    for i in range(k):  # polynomial rolling hash, vectorised over positions
        h = (h * np.uint64(0x01000193) + codes[i : i + n]) & _MASK32
    h ^= h >> np.uint64(16)  # murmur3 fmix32 to spread the bits
    h = (h * np.uint64(0x85EBCA6B)) & _MASK32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _MASK32
    h ^= h >> np.uint64(16)
    return h


@dataclass
class _Entry:
    item_id: str
    norm: str
    group: str
    at: datetime | None
    band_keys: tuple[int, ...]
    exact_key: int


class NearDupIndex:
    """Incremental near-duplicate grouping over a bounded window of recent items."""

    def __init__(
        self,
        *,
        threshold: float = 90.0,
        token_set_threshold: float = 95.0,
        long_text_tokens: int = 8,
        min_chars: int = 12,
        shingle: int = 4,
        num_perm: int = 64,
        bands: int = 16,
        max_items: int = 50_000,
        max_age: timedelta | None = timedelta(days=7),
        max_bucket: int = 500,
        max_checks: int = 32,
        seed: int = 1,
    ) -> None:
        if num_perm % bands or not 0 < bands <= 256:
            raise ValueError("num_perm must be a multiple of bands, and bands at most 256")
        self.threshold = threshold
        self.token_set_threshold = token_set_threshold
        self.long_text_tokens = long_text_tokens
        self.min_chars = min_chars
        self.shingle = shingle
        self.bands = bands
        self.rows = num_perm // bands
        self.max_items = max_items
        self.max_age = max_age
        self.max_bucket = max_bucket
        self.max_checks = max_checks
        rng = np.random.default_rng(seed)
        # multiply-shift hashing: (a·x + b) mod 2^64 (numpy arrays wrap silently), top 32 bits
        self._a = (rng.integers(0, 1 << 63, size=num_perm, dtype=np.uint64) | np.uint64(1))[:, None]
        self._b = rng.integers(0, 1 << 63, size=num_perm, dtype=np.uint64)[:, None]
        self._band_mult = rng.integers(0, 1 << 63, size=self.rows, dtype=np.uint64) | np.uint64(1)
        self._band_ids = np.arange(bands, dtype=np.uint64)
        self._entries: dict[str, _Entry] = {}
        self._order: deque[str] = deque()
        self._buckets: dict[int, dict[str, None]] = {}
        self._exact: dict[int, str] = {}
        self._members: Counter[str] = Counter()
        self._authors: dict[str, set[str]] = {}
        self._newest: datetime | None = None
        #: candidate texts compared so far (a measure of the work done; grows ~linearly with items)
        self.comparisons = 0

    def __len__(self) -> int:
        return len(self._entries)

    # -- public API ------------------------------------------------------------
    def add(self, item_id: str, text: str, *, author: str | None = None, at: datetime | None = None) -> str | None:
        """Index an item; return the id of the earlier item whose group it joins, or None if it starts one.

        Adding an id that is still in the window again returns the same answer as the first time.
        Texts shorter than `min_chars` once normalised are never grouped (None) and not indexed.
        """
        item_id = str(item_id)
        if item_id in self._entries:
            group = self._entries[item_id].group
            return None if group == item_id else group
        norm = normalize_text(text)
        if len(norm) < self.min_chars:
            return None
        self._evict(at)
        exact_key = hash(norm)
        rep = self._exact.get(exact_key)
        if rep is not None and self._entries[rep].norm == norm:
            group = self._entries[rep].group
            entry = _Entry(item_id, norm, group, at, self._entries[rep].band_keys, exact_key)
            self._move_representative(rep, entry)
        else:
            band_keys = self._band_keys(norm)
            group = self._find_group(norm, band_keys) or item_id
            entry = _Entry(item_id, norm, group, at, band_keys, exact_key)
            self._index(entry)
        self._entries[item_id] = entry
        self._order.append(item_id)
        self._members[group] += 1
        if author:
            authors = self._authors.setdefault(group, set())
            if len(authors) < 100_000:
                authors.add(author)
        return None if group == item_id else group

    def group_of(self, item_id: str) -> str | None:
        """The group id of an item still in the window (its own id when it started the group)."""
        entry = self._entries.get(str(item_id))
        return entry.group if entry else None

    def group_size(self, group_id: str) -> int:
        """How many items of the group are still in the window."""
        return self._members.get(group_id, 0)

    def group_authors(self, group_id: str) -> int:
        """How many distinct authors posted into the group (items still in the window)."""
        return len(self._authors.get(group_id, ()))

    # -- similarity ---------------------------------------------------------------
    def _similar(self, a: str, b: str) -> bool:
        self.comparisons += 1
        if fuzz.ratio(a, b, score_cutoff=self.threshold):
            return True
        ta, tb = a.count(" ") + 1, b.count(" ") + 1
        if min(ta, tb) < self.long_text_tokens or min(len(a), len(b)) < 0.75 * max(len(a), len(b)):
            return False
        return bool(fuzz.token_set_ratio(a, b, score_cutoff=self.token_set_threshold))

    def _band_keys(self, norm: str) -> tuple[int, ...]:
        """MinHash signature of the shingles, folded into one bucket key per band (band id in the low bits)."""
        hashes = _shingle_hashes(norm, self.shingle)[None, :]
        signature = ((self._a * hashes + self._b) >> np.uint64(32)).min(axis=1)
        folded = (signature.reshape(self.bands, self.rows) * self._band_mult).sum(axis=1)
        keys = ((folded >> np.uint64(8)) << np.uint64(8)) | self._band_ids
        return tuple(keys.tolist())

    def _find_group(self, norm: str, band_keys: tuple[int, ...]) -> str | None:
        shared: Counter[str] = Counter()
        for key in band_keys:
            bucket = self._buckets.get(key)
            if bucket:
                shared.update(bucket.keys())
        checks = 0
        per_group: Counter[str] = Counter()
        for cand, _ in shared.most_common():
            entry = self._entries[cand]
            if per_group[entry.group] >= 3:
                continue
            per_group[entry.group] += 1
            if self._similar(norm, entry.norm):
                return entry.group
            checks += 1
            if checks >= self.max_checks:
                break
        return None

    # -- window bookkeeping ---------------------------------------------------------
    def _index(self, entry: _Entry) -> None:
        self._exact[entry.exact_key] = entry.item_id
        for key in entry.band_keys:
            bucket = self._buckets.setdefault(key, {})
            bucket[entry.item_id] = None
            if len(bucket) > self.max_bucket:
                del bucket[next(iter(bucket))]

    def _unindex(self, entry: _Entry) -> None:
        if self._exact.get(entry.exact_key) == entry.item_id:
            del self._exact[entry.exact_key]
        for key in entry.band_keys:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.pop(entry.item_id, None)
                if not bucket:
                    del self._buckets[key]

    def _move_representative(self, old_id: str, new: _Entry) -> None:
        """An exact repeat becomes the text's representative, so a long storm outlives its first post."""
        self._unindex(self._entries[old_id])
        self._index(new)

    def _evict(self, at: datetime | None) -> None:
        if at is not None and (self._newest is None or at > self._newest):
            self._newest = at
        cutoff = self._newest - self.max_age if self._newest is not None and self.max_age is not None else None
        while self._order:
            oldest = self._entries[self._order[0]]
            too_many = len(self._order) >= self.max_items
            too_old = cutoff is not None and oldest.at is not None and oldest.at < cutoff
            if not (too_many or too_old):
                break
            self._order.popleft()
            self._drop(oldest)

    def _drop(self, entry: _Entry) -> None:
        del self._entries[entry.item_id]
        self._unindex(entry)
        self._members[entry.group] -= 1
        if self._members[entry.group] <= 0:
            del self._members[entry.group]
            self._authors.pop(entry.group, None)


def group_near_duplicates(
    items: Iterable[tuple[str, str] | tuple[str, str, str | None]], **options: Any
) -> dict[str, str]:
    """Map every item id to its group id (the id of the group's first item; its own id when alone).

    `items` are (id, text) or (id, text, author) tuples in arrival order; `options` go to NearDupIndex.
    """
    index = NearDupIndex(**options)
    groups: dict[str, str] = {}
    for item in items:
        item_id, text = str(item[0]), item[1]
        author = item[2] if len(item) > 2 else None
        if item_id in groups:
            continue
        group = index.add(item_id, text, author=author)
        groups[item_id] = group or item_id
    return groups
