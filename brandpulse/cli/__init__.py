"""The `brandpulse` command (typer): one module per command group, shared options in `common`.

Thin: every command calls tested functions elsewhere. The console entry point is `brandpulse.cli:main`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from brandpulse.cli import (
    advocates,
    alerts,
    bench,
    collect,
    dashboard,
    demo,
    evaluate,
    ingest,
    model,
    query,
    run,
    score,
    setup,
    status,
)
from brandpulse.cli.common import no_emoji_in_typer_output, run_app, setup_logging

app = typer.Typer(
    help="brandpulse — social listening and brand advocacy: collect mentions, score sentiment and emotion "
    "(en/ru/uk), raise negativity alerts, rank advocates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False) -> None:
    setup_logging(verbose)


# the order here is the order of `brandpulse --help`
for _group in (setup, ingest, collect, score, alerts, advocates, dashboard, demo, status, run, model, evaluate, bench, query):
    _group.register(app)

no_emoji_in_typer_output()


def main() -> None:
    """The console entry point: user errors print a message (exit 2), never a traceback."""
    run_app(app)


__all__ = ["app", "main"]
