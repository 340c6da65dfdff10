"""The model key: which model (name + revision) made a score, written "name@revision" in rollups and runs.

Core module: imports nothing else of brandpulse, so the store, every stage and the CLI can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Named(Protocol):
    """Anything that carries a model name and revision (a scorer, an encoder)."""

    @property
    def name(self) -> str: ...

    @property
    def revision(self) -> str: ...


@dataclass(frozen=True)
class ModelKey:
    """A scoring model's name and revision; `str(key)` is "name@revision" (the rollups' `model_key` column)."""

    name: str
    revision: str

    def __post_init__(self) -> None:
        if not self.name or not self.revision:
            raise ValueError(f"a model key needs a name and a revision, got {self.name!r} and {self.revision!r}")

    def __str__(self) -> str:
        return f"{self.name}@{self.revision}"

    @classmethod
    def parse(cls, text: str) -> ModelKey:
        """"name@revision" → ModelKey; the last "@" separates them (a name may hold one, a revision never does)."""
        name, sep, revision = str(text).rpartition("@")
        if not sep or not name or not revision:
            raise ValueError(f"not a model key (expected NAME@REVISION): {text!r}")
        return cls(name, revision)

    @classmethod
    def of(cls, value: ModelKey | str) -> ModelKey:
        """`value` itself when it is a ModelKey, else `parse(value)`."""
        return value if isinstance(value, ModelKey) else cls.parse(value)

    @classmethod
    def of_scorer(cls, scorer: Named) -> ModelKey:
        """The key of anything with `name` and `revision` (a scorer, an encoder)."""
        return cls(scorer.name, scorer.revision)
