"""Evaluating the detector on a generated replay with planted episodes at known times.

`build_replay` makes weeks of brand mentions from labelled texts (CSV `text,label,lang`, e.g. a
folder of ../shared/data): a daily rhythm, quieter weekends, a **weekly rhythm** (every Monday
09–11 UTC the brand is louder and more negative — a known routine, not a crisis) and planted
episodes of two kinds: a **share** episode (a burst of complaints: the negative share jumps) and a
**surge** episode (for a day, twice the mentions at the brand's usual negative share — a wave of
negativity that a share-only rule cannot see).

`evaluate` rolls the replay up by hour using the texts' own labels as the sentiment scores — an
oracle model — so the figures measure the detector, not the sentiment model — and runs each
configuration through the same windowing as `alerts backtest` (alerts.detect.find_alerts). Per
configuration: episodes detected, detection delay (hours from an episode's start to the end of
its first firing hour), and false alarms per week (alerts overlapping no episode), with those on
the weekly rhythm counted apart. `compare` runs the current rules and the old trailing-window
negativity_spike (the same rule with only its share signal and no seasonal baseline) in one run.

    python -m alerts.eval_stream ../shared/data/tweeteval_sentiment/validation.csv --json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alerts.detect import find_alerts
from alerts.registry import configured_rules
from alerts.rule import CandidateAlert
from brandpulse.config import AlertRuleConfig

LABELS = ("negative", "neutral", "positive")
#: The old trailing-window rule, expressed as options of today's negativity_spike.
TRAILING_ONLY = AlertRuleConfig(rules={"negativity_spike": {"volume_signal": False, "reach_signal": False,
                                                            "seasonal_weeks": 0}})


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str
    lang: str = "en"


@dataclass(frozen=True)
class Episode:
    brand: str
    kind: str  # "share" or "surge"
    start: datetime
    end: datetime


@dataclass(frozen=True)
class BrandProfile:
    name: str
    #: mentions per hour at the daily peak
    peak_rate: float
    #: usual share of negative mentions
    negative_share: float


@dataclass
class Replay:
    rows: list[dict[str, Any]]
    episodes: list[Episode]
    start: datetime
    weeks: int
    rhythm_hours: list[tuple[str, datetime]] = field(default_factory=list)

    def rollups(self) -> pd.DataFrame:
        """Hourly rollup rows (brand, hour, sentiment, count, reach) with the texts' labels as the scores."""
        df = pd.DataFrame(self.rows)
        df["hour"] = pd.to_datetime(df["created_at"], utc=True).dt.floor("h")
        out = df.groupby(["brand", "hour", "label"], as_index=False).agg(count=("id", "size"), reach=("followers", "sum"))
        return out.rename(columns={"label": "sentiment"})

    def write_csv(self, path: Path) -> None:
        """The replay in the import format (`brandpulse import`), for a run through the whole product."""
        cols = ["id", "created_at", "author", "text", "brand", "platform", "lang", "followers"]
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            for r in self.rows:
                w.writerow({**r, "created_at": r["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": "x"})


def load_labelled(path: Path, limit: int | None = None) -> list[LabelledText]:
    """Labelled texts from a CSV with `text,label[,lang]` columns (rows with another label are skipped)."""
    out: list[LabelledText] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("label") in LABELS and row.get("text"):
                out.append(LabelledText(row["text"], row["label"], row.get("lang") or "en"))
                if limit is not None and len(out) >= limit:
                    break
    return out


DEFAULT_BRANDS = (BrandProfile("Nimbus", 30.0, 0.25), BrandProfile("Vireo", 24.0, 0.55))


def _daily_shape(hour: int) -> float:
    """Relative volume by hour of day: quiet nights, a peak mid-afternoon UTC."""
    return 0.25 + 0.75 * (0.5 + 0.5 * math.cos((hour - 15) / 24 * 2 * math.pi))


def build_replay(pool: Sequence[LabelledText], *, weeks: int = 6, brands: Sequence[BrandProfile] = DEFAULT_BRANDS,
                 start: datetime = datetime(2026, 1, 5, tzinfo=UTC), episodes_per_week: float = 1.0,
                 rhythm: bool = True, seed: int = 0) -> Replay:
    """Weeks of mentions with a daily and a weekly rhythm and planted episodes (see the module docstring).
    `start` should be a Monday 00:00 UTC. Episodes alternate between the kinds and the brands, never in the
    first two weeks (the seasonal baseline's warm-up) and never on the weekly rhythm."""
    rng = np.random.default_rng(seed)
    by_label = {lab: [t for t in pool if t.label == lab] for lab in LABELS}
    if not by_label["negative"] or not (by_label["neutral"] or by_label["positive"]):
        raise ValueError("the labelled pool needs negative and non-negative texts")
    others = by_label["neutral"] + by_label["positive"]
    hours = weeks * 168
    episodes = _plant(rng, brands, start, weeks, episodes_per_week)
    rows: list[dict[str, Any]] = []
    rhythm_hours: list[tuple[str, datetime]] = []
    for b in brands:
        for h in range(hours):
            t = start + timedelta(hours=h)
            rate = b.peak_rate * _daily_shape(t.hour) * (0.8 if t.weekday() >= 5 else 1.0)
            share = b.negative_share
            if rhythm and t.weekday() == 0 and 9 <= t.hour < 12:  # Monday morning: a routine, not a crisis
                rate, share = rate * 2.5, min(0.9, share * 2.0)
                rhythm_hours.append((b.name, t))
            for ep in episodes:
                if ep.brand == b.name and ep.start <= t < ep.end:
                    if ep.kind == "surge":
                        rate *= 2.0
                    else:
                        rate, share = rate * 2.0, 0.85
            n = int(rng.poisson(rate))
            for _ in range(n):
                neg = rng.random() < share
                src = by_label["negative"] if neg else others
                text = src[int(rng.integers(len(src)))]
                rows.append({"id": f"e{len(rows)}", "created_at": t + timedelta(seconds=int(rng.integers(3600))),
                             "author": f"user{int(rng.integers(5000))}", "text": text.text, "brand": b.name,
                             "lang": text.lang, "label": text.label,
                             "followers": int(rng.lognormal(4.0, 1.8))})
    return Replay(rows, episodes, start, weeks, rhythm_hours)


def _plant(rng: np.random.Generator, brands: Sequence[BrandProfile], start: datetime, weeks: int,
           per_week: float) -> list[Episode]:
    count = round(per_week * (weeks - 2)) if weeks > 2 else 0
    episodes: list[Episode] = []
    for i in range(count):
        kind = "surge" if i % 2 == 0 else "share"
        brand = brands[(i // 2) % len(brands)].name if i % 2 == 0 else brands[(i // 2 + 1) % len(brands)].name
        week = 2 + int(i * (weeks - 2) / count)
        # Tuesday..Saturday, daytime; a surge lasts a day, a share episode 4 hours
        day = 1 + int(rng.integers(5))
        hour = 8 + int(rng.integers(8))
        s = start + timedelta(weeks=week, days=day, hours=hour)
        episodes.append(Episode(brand, kind, s, s + timedelta(hours=24 if kind == "surge" else 4)))
    return episodes


@dataclass
class EvalResult:
    name: str
    episodes: int
    detected: int
    detected_by_kind: dict[str, int]
    delays_h: list[float]
    median_delay_h: float | None
    false_alarms: int
    false_alarms_on_weekly_rhythm: int
    weeks: float
    false_alarms_per_week: float
    #: detection delays (hours) per episode kind
    delays_by_kind: dict[str, list[float]] = field(default_factory=dict)


def score(name: str, replay: Replay, alerts: Sequence[CandidateAlert], warmup_weeks: int = 2) -> EvalResult:
    """Detection and false-alarm figures of one configuration's alerts on a replay."""
    since = replay.start + timedelta(weeks=warmup_weeks)
    grace = timedelta(hours=6)
    delays: list[float] = []
    by_kind: dict[str, int] = {}
    delays_by_kind: dict[str, list[float]] = {}
    for ep in replay.episodes:
        hits = [a for a in alerts if a.brand == ep.brand and a.end > ep.start and a.start < ep.end + grace]
        if hits:
            first = min(a.start for a in hits)
            delays.append(max((first - ep.start).total_seconds() / 3600 + 1, 0.0))
            by_kind[ep.kind] = by_kind.get(ep.kind, 0) + 1
            delays_by_kind.setdefault(ep.kind, []).append(delays[-1])
    false = [a for a in alerts if a.start >= since and not any(
        a.brand == ep.brand and a.end > ep.start and a.start < ep.end + grace for ep in replay.episodes)]
    rhythm = {(b, t) for b, t in replay.rhythm_hours}
    on_rhythm = [a for a in false if any((a.brand, h) in rhythm for h in a.hours)]
    weeks = replay.weeks - warmup_weeks
    return EvalResult(name, len(replay.episodes), len(delays), by_kind, delays,
                      statistics.median(delays) if delays else None, len(false), len(on_rhythm), weeks,
                      round(len(false) / weeks, 3) if weeks > 0 else 0.0, delays_by_kind)


def evaluate(replay: Replay, configs: dict[str, AlertRuleConfig], warmup_weeks: int = 2) -> dict[str, EvalResult]:
    """Each configuration's figures on the replay (alerts from the warm-up weeks on; episodes are planted after)."""
    rows = replay.rollups()
    since = replay.start + timedelta(weeks=warmup_weeks)
    out = {}
    for name, config in configs.items():
        alerts = find_alerts(rows, configured_rules(config), since=since)
        out[name] = score(name, replay, alerts, warmup_weeks)
    return out


def compare(pool: Sequence[LabelledText], *, weeks: int = 8, seed: int = 0,
            episodes_per_week: float = 1.0) -> dict[str, EvalResult]:
    """The current default rules and the old trailing-window rule on one generated replay."""
    replay = build_replay(pool, weeks=weeks, seed=seed, episodes_per_week=episodes_per_week)
    return evaluate(replay, {"current": AlertRuleConfig(), "trailing_window": TRAILING_ONLY})


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("labelled_csv", type=Path, help="CSV with text,label[,lang] (e.g. ../shared/data/...)")
    ap.add_argument("--weeks", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    pool = load_labelled(args.labelled_csv)
    runs = [compare(pool, weeks=args.weeks, seed=s) for s in range(args.seeds)]
    summary = {}
    for name in runs[0]:
        rs = [r[name] for r in runs]
        delays = [d for r in rs for d in r.delays_h]
        summary[name] = {
            "episodes": sum(r.episodes for r in rs), "detected": sum(r.detected for r in rs),
            "detected_by_kind": {k: sum(r.detected_by_kind.get(k, 0) for r in rs) for k in ("share", "surge")},
            "median_delay_h": statistics.median(delays) if delays else None,
            "median_delay_h_by_kind": {k: statistics.median(ds) if ds else None for k in ("share", "surge")
                                       for ds in [[d for r in rs for d in r.delays_by_kind.get(k, [])]]},
            "max_delay_h": max(delays) if delays else None,
            "false_alarms_per_week": round(sum(r.false_alarms for r in rs) / sum(r.weeks for r in rs), 3),
            "false_alarms_on_weekly_rhythm": sum(r.false_alarms_on_weekly_rhythm for r in rs),
            "weeks": sum(r.weeks for r in rs),
        }
    if not args.json:
        for name, s in summary.items():
            print(f"{name:16} detected {s['detected']}/{s['episodes']} {s['detected_by_kind']}, median delay "
                  f"{s['median_delay_h']} h {s['median_delay_h_by_kind']} (worst {s['max_delay_h']} h), "
                  f"{s['false_alarms_per_week']} false alarms/week "
                  f"({s['false_alarms_on_weekly_rhythm']} on the weekly rhythm) over {s['weeks']} weeks")
    print(json.dumps({"summary": summary, "runs": [{k: asdict(v) for k, v in r.items()} for r in runs]}
                     if args.json else summary))


if __name__ == "__main__":
    main()
