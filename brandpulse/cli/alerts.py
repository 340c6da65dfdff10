"""`brandpulse alerts check|backtest`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from brandpulse.cli.common import ConfigOpt, JsonOpt, build_context, console, new_group, safe
from brandpulse.errors import InputError

alerts_app = new_group("Negativity alerts: detection passes and backtests.")


@alerts_app.command("check")
def alerts_check(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """One detection pass over the rollups; new alerts are stored with their evidence."""
    from alerts.check import check_and_record
    from brandpulse.store.queries import latest_model_key

    ctx = build_context(config)
    engine = ctx.migrated_engine()
    key = latest_model_key(engine)
    if key is None:
        console.print("nothing scored yet: run `brandpulse score` first")
        return
    res = check_and_record(engine, key, ctx.settings.alerts)
    for sp in res.spikes:
        console.print(f"[bold red]{safe(sp.severity)}[/] {safe(sp.brand)}: {sp.start:%Y-%m-%d %H:%M}–{sp.end:%H:%M} UTC "
                      f"negative share {sp.metrics['negative_share']:.0%} (baseline {sp.metrics['baseline_share']:.0%})")
    console.print(f"{res.new} new alert(s), {res.updated} updated")
    if json_out:
        print(json.dumps({"new": res.new, "updated": res.updated, "spikes": len(res.spikes)}))


def backtest_window(from_: str, to: str, baseline_hours: int) -> tuple[datetime, datetime, datetime]:
    """(start, end exclusive, start of the baseline before it) for --from/--to days, or InputError."""
    try:
        start = datetime.fromisoformat(from_).replace(tzinfo=UTC)
        end = datetime.fromisoformat(to).replace(tzinfo=UTC) + timedelta(days=1)
        baseline_start = start - timedelta(hours=baseline_hours + 1)
    except ValueError:
        raise InputError(f"--from/--to must be dates like 2026-11-02, got {from_!r} / {to!r}") from None
    except OverflowError:
        raise InputError(f"--from/--to must be dates between 0002-01-01 and 9999-12-30, got {from_!r} / {to!r}") from None
    if end <= start:
        raise InputError(f"--to must not be before --from, got {from_!r} / {to!r}")
    return start, end, baseline_start


@alerts_app.command("backtest")
def alerts_backtest(
    from_: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, UTC).")],
    to: Annotated[str, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD, UTC).")],
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Alerts that would have fired in a past period (nothing is stored)."""
    from alerts.spike import find_spikes
    from brandpulse.store.queries import latest_model_key, rollups

    ctx = build_context(config)
    rule = ctx.settings.alerts
    start, end, baseline_start = backtest_window(from_, to, rule.baseline_hours)
    engine = ctx.migrated_engine()
    key = latest_model_key(engine)
    spikes = []
    if key:
        df = rollups(engine, key, [brand] if brand else None, since=baseline_start, until=end)
        spikes = find_spikes(df, rule, since=start, until=end)
    out = [{"brand": s.brand, "start": s.start.isoformat(), "end": s.end.isoformat(), "severity": s.severity,
            "metrics": s.metrics} for s in spikes]
    for s in spikes:
        console.print(f"{safe(s.severity):6} {safe(s.brand)}: {s.start:%Y-%m-%d %H:%M} → {s.end:%Y-%m-%d %H:%M} "
                      f"negative {int(s.metrics['negative'])}/{int(s.metrics['total'])}")
    console.print(f"{len(spikes)} alert(s) would have fired")
    if json_out:
        print(json.dumps(out))


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
