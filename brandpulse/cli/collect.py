"""`brandpulse collect`."""

from __future__ import annotations

from typing import Annotated

import typer

from brandpulse.cli.common import (
    ConfigOpt,
    batch_progress,
    build_context,
    console,
    err_console,
    positive_seconds,
    progress_bar,
    safe,
)
from brandpulse.errors import BrandpulseError


def collect(
    config: ConfigOpt = None,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only these sources "
                                                     "(x, reddit, mastodon, bluesky, rss, hackernews, replay).")] = None,
    once: Annotated[bool, typer.Option("--once/--follow", help="One pass (default) or keep following.")] = True,
    interval: Annotated[float, typer.Option(help="Seconds between passes with --follow (> 0).",
                                            callback=positive_seconds)] = 60.0,
) -> None:
    """Run collectors: store new mentions, remember where each stopped."""
    from brandpulse.collecting import build_collectors
    from brandpulse.store.cursors import finish_run, start_run, touch_run
    from listener.runner import collect_once, follow

    ctx = build_context(config)
    engine = ctx.migrated_engine()
    collectors = build_collectors(ctx.settings, source)
    if not once:
        console.print(f"following {len(collectors)} source(s); Ctrl-C to stop")
        follow(engine, collectors, interval_s=interval,
               on_stats=lambda st: console.print(f"{safe(st.source)}/{safe(st.key)}: +{st.new} new"))
        return
    run_id = start_run(engine, "collect")
    failed: list[str] = []
    totals = {"fetched": 0, "new": 0, "deleted": 0}
    for c in collectors:
        with progress_bar() as progress:
            task = progress.add_task(safe(f"{c.name}/{getattr(c, 'key', '')}"), total=None)
            try:
                st = collect_once(engine, c, on_batch=batch_progress(progress, task))
            except BrandpulseError as exc:
                failed.append(c.name)
                err_console.print(f"[red]{safe(c.name)}: {safe(exc)}[/]")
                continue
        touch_run(engine, run_id)
        for k in totals:
            totals[k] += getattr(st, k)
        console.print(f"{safe(st.source)}/{safe(st.key)}: fetched {st.fetched}, [green]{st.new} new[/], "
                      f"deleted {st.deleted}")
    finish_run(engine, run_id, counts={**totals, "failed_sources": failed},
               error=f"failed: {', '.join(failed)}" if failed else None)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(collect)
