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
    """One detection pass over the rollups (every enabled rule); new alerts are stored with their evidence."""
    from alerts.check import check_and_record
    from alerts.registry import configured_rules
    from brandpulse.store.queries import latest_model_key

    ctx = build_context(config)
    engine = ctx.migrated_engine()
    key = latest_model_key(engine)
    if key is None:
        console.print("nothing scored yet: run `brandpulse score` first")
        return
    res = check_and_record(engine, key, ctx.settings.alerts)
    rules = {r.name: r for r in configured_rules(ctx.settings.alerts)}
    for a in res.alerts:
        console.print(f"[bold red]{safe(a.severity)}[/] {safe(a.brand)} ({safe(a.rule)}): "
                      f"{a.start:%Y-%m-%d %H:%M}–{a.end:%H:%M} UTC {safe(rules[a.rule].explain(a))}")
    console.print(f"{res.new} new alert(s), {res.updated} updated")
    if json_out:
        print(json.dumps({"new": res.new, "updated": res.updated, "spikes": len(res.alerts)}))


def backtest_window(from_: str, to: str) -> tuple[datetime, datetime]:
    """(start, end exclusive) for --from/--to days, or InputError."""
    try:
        start = datetime.fromisoformat(from_).replace(tzinfo=UTC)
        end = datetime.fromisoformat(to).replace(tzinfo=UTC) + timedelta(days=1)
        _ = start - timedelta(days=31)  # the rules read a baseline before the period: fail here, not later
    except ValueError:
        raise InputError(f"--from/--to must be dates like 2026-11-02, got {from_!r} / {to!r}") from None
    except OverflowError:
        raise InputError(f"--from/--to must be dates between 0002-01-01 and 9999-12-30, got {from_!r} / {to!r}") from None
    if end <= start:
        raise InputError(f"--to must not be before --from, got {from_!r} / {to!r}")
    return start, end


@alerts_app.command("backtest")
def alerts_backtest(
    from_: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, UTC).")],
    to: Annotated[str, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD, UTC).")],
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Alerts that every enabled rule would have raised in a past period (nothing is stored)."""
    from alerts.backtest import backtest
    from alerts.registry import configured_rules
    from brandpulse.store.queries import latest_model_key

    start, end = backtest_window(from_, to)
    ctx = build_context(config)
    engine = ctx.migrated_engine()
    key = latest_model_key(engine)
    found = backtest(engine, key, ctx.settings.alerts, start, end, brand) if key else []
    rules = {r.name: r for r in configured_rules(ctx.settings.alerts)}
    for a in found:
        console.print(f"{safe(a.severity):6} {safe(a.brand)} ({safe(a.rule)}): {a.start:%Y-%m-%d %H:%M} → "
                      f"{a.end:%Y-%m-%d %H:%M} {safe(rules[a.rule].explain(a))}")
    console.print(f"{len(found)} alert(s) would have fired")
    if json_out:
        print(json.dumps([a.as_json() for a in found]))


@alerts_app.command("send")
def alerts_send(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """One delivery pass: post pending alert messages (Slack, webhooks) from the outbox."""
    from alerts.delivery.sender import send_pass

    ctx = build_context(config)
    engine = ctx.migrated_engine()
    counts = send_pass(engine, ctx.settings)
    console.print(f"{counts.sent} sent, {counts.retrying} to retry, {counts.failed} failed")
    if json_out:
        print(json.dumps(counts.as_dict()))


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
