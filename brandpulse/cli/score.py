"""`brandpulse score`."""

from __future__ import annotations

from typing import Annotated

import typer

from brandpulse.cli.common import ConfigOpt, build_context, console, count_progress, err_console, safe


def score(
    config: ConfigOpt = None,
    limit: Annotated[int | None, typer.Option(help="Score at most this many.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Texts per model batch.")] = None,
) -> None:
    """Score unscored mentions (sentiment + emotion) and update the hourly rollups."""
    from sentiment.stage import score_and_record

    ctx = build_context(config, model={"batch_size": batch_size})
    engine = ctx.migrated_engine()
    with err_console.status("loading the model…"):
        scorer = ctx.scorer
    with count_progress(f"scoring with {scorer.name}") as on_progress:
        n = score_and_record(engine, scorer, limit=limit, on_progress=on_progress)
    console.print(f"scored [green]{n}[/] mentions with {safe(scorer.name)} ({safe(scorer.revision)})")


def register(app: typer.Typer) -> None:
    app.command()(score)
