"""`brandpulse alerts check|backtest|send|list|ack|resolve`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from brandpulse.cli.common import ConfigOpt, JsonOpt, build_context, console, new_group, safe
from brandpulse.errors import InputError

alerts_app = new_group("Negativity alerts: detection, backtests, delivery and the open → acknowledged → resolved lifecycle.")


@alerts_app.command("check")
def alerts_check(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """One detection pass over the rollups (every enabled rule); new alerts are stored with their evidence and their
    messages queued for `alerts send` (routed by [delivery])."""
    from alerts.check import check_and_record
    from alerts.delivery.routing import delivery_config
    from alerts.registry import configured_rules
    from brandpulse.store.queries import latest_model_key

    ctx = build_context(config)
    engine = ctx.migrated_engine()
    key = latest_model_key(engine)
    if key is None:
        console.print("nothing scored yet: run `brandpulse score` first")
        return
    res = check_and_record(engine, key, ctx.settings.alerts, delivery_config(ctx.settings))
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
    from alerts.cycle import delivery_evidence
    from alerts.delivery.sender import send_pass

    ctx = build_context(config)
    engine = ctx.migrated_engine()
    counts = send_pass(engine, ctx.settings, render_evidence=delivery_evidence)
    console.print(f"{counts.sent} sent, {counts.retrying} to retry, {counts.failed} failed")
    if json_out:
        print(json.dumps(counts.as_dict()))


StateOpt = Annotated[str, typer.Option("--state", help="open | acknowledged | resolved | active (open + acknowledged) | all")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who does it (default: your login name).")]
_STATES = {"open": ("open",), "acknowledged": ("acknowledged",), "resolved": ("resolved",),
           "active": ("open", "acknowledged"), "all": ("open", "acknowledged", "resolved")}


def _when(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


@alerts_app.command("list")
def alerts_list(state: StateOpt = "active", brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
                config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """The stored alerts (newest window first) with their state, who acknowledged / resolved them and when."""
    from brandpulse.store.alerts import stored_alerts

    states = _STATES.get(state.strip().lower())
    if states is None:
        raise InputError(f"--state must be one of {', '.join(_STATES)}, got {state!r}")
    ctx = build_context(config)
    found = stored_alerts(ctx.migrated_engine(), states, brand)
    rows: list[dict[str, Any]] = [{"id": a.id, "brand": a.brand, "rule": a.rule, "severity": a.severity, "state": a.state,
             "start": a.start.isoformat(), "end": a.end.isoformat(), "why": str(a.summary.get("why", "")),
             "acknowledged_by": a.acknowledged_by, "acknowledged_at": _when(a.acknowledged_at),
             "resolved_by": a.resolved_by, "resolved_at": _when(a.resolved_at)} for a in found]
    for r in rows:
        who = ""
        if r["acknowledged_by"]:
            who += f" · acked by {r['acknowledged_by']} {str(r['acknowledged_at'])[:16]}"
        if r["resolved_by"]:
            who += f" · resolved by {r['resolved_by']} {str(r['resolved_at'])[:16]}"
        console.print(f"#{r['id']} {safe(r['state']):12} {safe(r['severity']):8} {safe(r['brand'])} ({safe(r['rule'])}) "
                      f"{r['start'][:16]} → {r['end'][:16]}{safe(who)}", highlight=False)
        if r["why"]:
            console.print(f"    {safe(r['why'])}", highlight=False)
    console.print(f"{len(rows)} alert(s) ({safe(state)})")
    if json_out:
        print(json.dumps(rows))


def _by(by: str | None) -> str:
    if by is not None:
        return by
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): the caller must say
        raise InputError("could not tell who you are: pass --by NAME") from None


@alerts_app.command("ack")
def alerts_ack(alert_id: Annotated[int, typer.Argument(help="The alert id (see `alerts list`).")], by: ByOpt = None,
               config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Acknowledge an open alert: someone is on it (recorded with who and when)."""
    from alerts.lifecycle import acknowledge

    who = _by(by)
    ctx = build_context(config)
    changed = acknowledge(ctx.migrated_engine(), alert_id, who)
    console.print(f"alert {alert_id} acknowledged by {safe(who)}" if changed else f"alert {alert_id} was already acknowledged")
    if json_out:
        print(json.dumps({"id": alert_id, "state": "acknowledged", "changed": changed}))


@alerts_app.command("resolve")
def alerts_resolve(alert_id: Annotated[int, typer.Argument(help="The alert id (see `alerts list`).")], by: ByOpt = None,
                   config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Resolve an alert (with who and when); a "resolved" message goes to every destination that heard of it."""
    from alerts.delivery.routing import delivery_config
    from alerts.lifecycle import resolve

    who = _by(by)
    ctx = build_context(config)
    changed = resolve(ctx.migrated_engine(), alert_id, who, delivery_config(ctx.settings))
    console.print(f"alert {alert_id} resolved by {safe(who)}" if changed else f"alert {alert_id} was already resolved")
    if json_out:
        print(json.dumps({"id": alert_id, "state": "resolved", "changed": changed}))


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
