"""The alert rule interface: what every rule (built-in or plugin) implements.

A rule is one module holding an `AlertRule` subclass and registered under the entry-point
group `brandpulse.alert_rules` (see alerts/registry.py). It gets a brand's dense hourly
frame (alerts/hourly.py) and returns candidate alerts; the shared windowing
(alerts/detect.py), evidence (alerts/evidence.py) and storage (brandpulse.store.alerts)
do the rest, so a rule never touches the store.

Contract:
- `name`: the rule's registry name, also stored on each alert and used as its config table
  `[alerts.rules.<name>]`.
- `Config`: a pydantic model of the rule's options with defaults; `enabled` says whether the
  rule runs when the config does not mention it.
- `baseline_hours()`: the trailing hours an hour is compared with; `find` sees that many (+1)
  hours before the evaluated range.
- `find(brand, hourly, since, until)`: candidate alerts for hours in [since, until).
- `explain(alert)`: the one-line "why it fired", from the alert's metrics.
- `evidence_label`: the sentiment whose posts are the evidence ("negative"), or None for any.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict

#: Severities, lowest first (issue 12 may add levels; delivery routes on them).
Severity = Literal["medium", "high"]
SEVERITIES: tuple[str, ...] = ("medium", "high")


class RuleConfig(BaseModel):
    """Base of every rule's options: unknown keys are errors; `enabled` switches the rule on or off."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True


@dataclass
class CandidateAlert:
    """An alert a rule found: one brand, consecutive firing hours [start, end)."""

    rule: str
    brand: str
    start: datetime
    end: datetime  # exclusive
    severity: str
    metrics: dict[str, float] = field(default_factory=dict)
    hours: list[datetime] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The backtest's JSON object (DESIGN.md: brand, start, end, severity, metrics; plus rule)."""
        return {"rule": self.rule, "brand": self.brand, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "severity": self.severity, "metrics": self.metrics}


class AlertLike(Protocol):
    """What `explain` reads: a candidate or a stored alert."""

    @property
    def brand(self) -> str: ...

    @property
    def metrics(self) -> dict[str, Any]: ...


C = TypeVar("C", bound=RuleConfig)


class AlertRule(ABC, Generic[C]):
    name: ClassVar[str]
    Config: ClassVar[type[RuleConfig]]
    evidence_label: ClassVar[str | None] = None

    def __init__(self, config: C | None = None) -> None:
        self.config: C = config if config is not None else self.Config()  # type: ignore[assignment]

    @abstractmethod
    def baseline_hours(self) -> int:
        """The trailing hours each hour is compared with (evidence compares a window's terms with them too)."""

    def history_hours(self) -> int:
        """Hours of rollups before the evaluated range that `find` needs."""
        return self.baseline_hours() + 1

    @abstractmethod
    def find(self, brand: str, hourly: pd.DataFrame, since: datetime | None = None,
             until: datetime | None = None) -> list[CandidateAlert]:
        """Candidate alerts in hours [since, until) of one brand's dense hourly frame (alerts.hourly)."""

    @abstractmethod
    def explain(self, alert: AlertLike) -> str:
        """One line saying why the alert fired, from its metrics."""


def consecutive_runs(frame: pd.DataFrame) -> Iterator[list[Any]]:
    """Rows of `frame` (sorted by hour, with a boolean `fires` column) grouped into runs of consecutive firing hours."""
    run: list[Any] = []
    last: datetime | None = None
    for row in frame.itertuples(index=False):
        hour = row.hour.to_pydatetime()
        if not row.fires:
            if run:
                yield run
            run, last = [], None
            continue
        if run and last is not None and hour != last + timedelta(hours=1):
            yield run
            run = []
        run.append(row)
        last = hour
    if run:
        yield run
