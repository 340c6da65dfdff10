"""`brandpulse import FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from brandpulse.cli.common import ConfigOpt, build_context, console, err_console, progress_bar, safe


def import_(
    file: Annotated[Path, typer.Argument(help="CSV or JSONL of mentions (id, created_at, author, text, brand; "
                                               "optional platform, lang, url, followers, likes, reposts, replies).")],
    config: ConfigOpt = None,
    max_errors_shown: Annotated[int, typer.Option(help="How many bad rows to list.")] = 20,
) -> None:
    """Bulk-load mentions from a file; bad rows are reported with line numbers, the rest stored.

    Exits with 2 when the file holds no good row (empty, or every row bad)."""
    from brandpulse.importer import import_file
    from brandpulse.store.cursors import RunHeartbeat, finish_run, start_run

    ctx = build_context(config)
    engine = ctx.migrated_engine()
    size = file.stat().st_size if file.is_file() else 0
    run_id = start_run(engine, "import")
    alive = RunHeartbeat(engine, run_id)
    try:
        with progress_bar() as progress:
            task = progress.add_task(f"importing {safe(file.name)}", total=size or None)

            def on_progress(pos: int) -> None:
                progress.update(task, completed=pos)
                alive()

            result = import_file(engine, file, on_progress=on_progress)
    except BaseException as exc:
        finish_run(engine, run_id, error=f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        raise
    finish_run(engine, run_id, counts={"new": result.new, "duplicates": result.duplicates,
                                       "bad_rows": len(result.bad_rows)})
    console.print(f"[green]{result.new}[/] new mentions, {result.duplicates} already stored, "
                  f"[red]{len(result.bad_rows)}[/] bad rows")
    for bad in result.bad_rows[:max_errors_shown]:
        console.print(f"  [red]{safe(file.name)}:{bad.line}[/] {safe(bad.reason)}")
    if len(result.bad_rows) > max_errors_shown:
        console.print(f"  … and {len(result.bad_rows) - max_errors_shown} more")
    if result.new + result.duplicates == 0:
        what = "is empty" if not result.bad_rows else "has no good row"
        err_console.print(f"[bold red]error:[/] {safe(file)} {what}: nothing was imported", highlight=False)
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
