"""The Overview's period: presets (24 h, 7 d, 30 d) or a custom date range, in the configured time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PRESETS: dict[str, timedelta] = {"24 h": timedelta(hours=24), "7 d": timedelta(days=7), "30 d": timedelta(days=30)}
CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    #: True when the store's newest mention is older than the period would start, so the period ends there instead
    anchored: bool = False

    @property
    def length(self) -> timedelta:
        return self.until - self.since

    @property
    def freq(self) -> str:
        """Chart buckets: hours up to a week, days beyond."""
        return "h" if self.length <= timedelta(days=7) else "D"


def _ceil_hour(ts: datetime) -> datetime:
    floor = ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return floor if floor == ts else floor + timedelta(hours=1)


def resolve(preset: str, custom: tuple[date, date] | None, tz: str, newest_hour: datetime | None,
            now: datetime | None = None) -> Period:
    """The period to show. A preset ends now (or, when nothing arrived in it, at the newest stored hour);
    a custom range covers whole days in `tz`."""
    if preset == CUSTOM and custom:
        zone = ZoneInfo(tz)
        start, end = custom
        return Period(datetime.combine(start, time(), zone).astimezone(UTC),
                      datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC))
    length = PRESETS.get(preset, PRESETS["7 d"])
    until = _ceil_hour(now or datetime.now(UTC))
    if newest_hour is not None and newest_hour + timedelta(hours=1) <= until - length:
        until = newest_hour + timedelta(hours=1)
        return Period(until - length, until, anchored=True)
    return Period(until - length, until)
