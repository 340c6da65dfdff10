"""`brandpulse demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from brandpulse.cli.common import collect_progress, console, count_progress


def demo(
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Stop after loading, scoring and alerting.")] = False,
    port: Annotated[int | None, typer.Option(help="Dashboard port.", min=1, max=65535)] = None,
    database: Annotated[Path, typer.Option(help="Where the demo database goes.")] = Path("brandpulse-demo.db"),
) -> None:
    """The bundled demo end to end: replay the demo stream, score it, check alerts, open the dashboard."""
    from brandpulse.demo import DemoProgress, run_demo

    run_demo(database=database.resolve(), console=console,
             progress=DemoProgress(collect=collect_progress, score=count_progress),
             dashboard=not no_dashboard, port=port)


def register(app: typer.Typer) -> None:
    app.command()(demo)
