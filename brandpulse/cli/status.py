"""`brandpulse status`."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from brandpulse.cli.common import ConfigOpt, JsonOpt, build_context, console, safe


def format_lag(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def status(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Counts, last runs, cursor positions and source health — never secrets."""
    from brandpulse.status import gather_status

    ctx = build_context(config)
    st = gather_status(ctx.migrated_engine(auto_upgrade=False), ctx.database)
    if json_out:
        print(json.dumps(st, default=str))
        return
    console.print(f"[bold]database[/] {safe(st['database'])}")
    t = Table("what", "count")
    for k, v in st["counts"].items():
        t.add_row(safe(k), safe(v))
    console.print(t)
    if st["runs"]:
        t = Table("run", "started", "status", "counts", title="last runs")
        for r in st["runs"]:
            t.add_row(safe(r["role"]), str(r["started_at"])[:19], safe(r["status"]), safe(json.dumps(r["counts"])[:60]))
        console.print(t)
    if st["cursors"]:
        t = Table("source", "key", "position", "updated", title="cursors")
        for c in st["cursors"]:
            t.add_row(safe(c["source"]), safe(c["key"]), safe(c["position"][:40]), str(c["updated_at"])[:19])
        console.print(t)
    if st["health"]:
        t = Table("source", "key", "last success", "lag", "errors", "last error", "rate limit left", title="sources")
        for h in st["health"]:
            t.add_row(safe(h["source"]), safe(h["key"]), str(h["last_success"] or "—")[:19], format_lag(h["lag_seconds"]),
                      str(h["error_count"]), safe((h["last_error"] or "")[:50]), str(h["rate_limit_remaining"] or "—"))
        console.print(t)


def register(app: typer.Typer) -> None:
    app.command()(status)
