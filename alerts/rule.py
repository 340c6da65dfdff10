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

Per-brand options: every rule's table takes `brands.<brand>` sub-tables whose keys override the
rule's options for that brand (`[alerts.rules.negativity_spike.brands.Nimbus] min_negative = 8`);
`for_brand(brand)` is the rule with those overrides applied, and the detector runs that one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

#: Severities, lowest first; delivery routes on them.
Severity = Literal["notice", "warning", "critical"]
SEVERITIES: tuple[str, ...] = ("notice", "warning", "critical")
#: Severities stored before issue 12 and what they mean now.
LEGACY_SEVERITIES: dict[str, str] = {"low": "notice", "medium": "warning", "high": "critical"}


def severity_rank(severity: str) -> int:
    """Position of a severity (legacy names included) in SEVERITIES; unknown names rank lowest."""
    s = LEGACY_SEVERITIES.get(severity, severity)
    return SEVERITIES.index(s) if s in SEVERITIES else -1


class RuleConfig(BaseModel):
    """Base of every rule's options: unknown keys are errors; `enabled` switches the rule on or off;
    `brands` holds per-brand overrides of any other option (validated when the config is read)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    brands: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _brand_overrides_are_valid(self) -> RuleConfig:
        for brand, options in self.brands.items():
            if "brands" in options:
                raise ValueError(f"brands.{brand}: per-brand options cannot nest another `brands` table")
            try:
                self.for_brand(brand)
            except ValidationError as exc:
                err = exc.errors()[0]
                key = ".".join(str(p) for p in err["loc"])
                msg = "unknown key (check the spelling)" if err["type"] == "extra_forbidden" else err["msg"]
                raise ValueError(f"brands.{brand}.{key}: {msg}") from None
        return self

    def for_brand(self, brand: str) -> RuleConfig:
        """These options with `brands.<brand>` applied (self when the brand has no overrides)."""
        options = self.brands.get(brand)
        if not options:
            return self
        merged = {**self.model_dump(exclude={"brands"}, exclude_unset=True), **options}
        return type(self).model_validate(merged)


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

    def own_history_hours(self) -> int:
        """Hours of rollups before the evaluated range that `find` needs with these options."""
        return self.baseline_hours() + 1

    def history_hours(self) -> int:
        """Hours of rollups before the evaluated range that `find` needs, for any brand's options."""
        return max([self.own_history_hours()] + [self.for_brand(b).own_history_hours() for b in self.config.brands])

    def for_brand(self, brand: str) -> AlertRule[C]:
        """This rule with the brand's overrides (`[alerts.rules.<name>.brands.<brand>]`) applied."""
        options = self.config.for_brand(brand)
        if options is self.config:
            return self
        return type(self)(options)  # type: ignore[arg-type]

    @abstractmethod
    def find(self, brand: str, hourly: pd.DataFrame, since: datetime | None = None,
             until: datetime | None = None) -> list[CandidateAlert]:
        """Candidate alerts in hours [since, until) of one brand's dense hourly frame (alerts.hourly)."""

    @abstractmethod
    def explain(self, alert: AlertLike) -> str:
        """One line saying why the alert fired, from its metrics."""


def alerts_from_runs(rule: str, brand: str, frame: pd.DataFrame, severity: str,
                     merge: Callable[[CandidateAlert, Any], None]) -> list[CandidateAlert]:
    """One candidate per run of consecutive firing hours of `frame`, each hour's row folded in by `merge`."""
    found = []
    for run in consecutive_runs(frame):
        alert = CandidateAlert(rule=rule, brand=brand, start=run[0].hour.to_pydatetime(),
                               end=run[-1].hour.to_pydatetime() + timedelta(hours=1), severity=severity)
        for row in run:
            alert.hours.append(row.hour.to_pydatetime())
            merge(alert, row)
        found.append(alert)
    return found


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
        if run and last is not None and hour - last != timedelta(hours=1):
            yield run
            run = []
        run.append(row)
        last = hour
    if run:
        yield run
