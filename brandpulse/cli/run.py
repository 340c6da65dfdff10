"""`brandpulse run`: the service loop."""

from __future__ import annotations

from typing import Annotated

import typer

from brandpulse.cli.common import ConfigOpt, build_context, console, positive_seconds, safe
from brandpulse.errors import ConfigError


def run(
    config: ConfigOpt = None,
    role: Annotated[str, typer.Option(help="collect | score | alerts | all")] = "all",
    interval: Annotated[float, typer.Option(help="Seconds between collection / alert passes (> 0).",
                                            callback=positive_seconds)] = 60.0,
) -> None:
    """The service loop: collect, score and check alerts until stopped (Ctrl-C)."""
    from brandpulse.service import ROLES, run_service

    if role not in ROLES:
        raise ConfigError(f"--role must be one of {', '.join(ROLES)}, got {role!r}", hint="")
    ctx = build_context(config)
    console.print(f"running role {safe(repr(role))} on {safe(ctx.database)}; Ctrl-C to stop")
    run_service(ctx, role, interval_s=interval)


def register(app: typer.Typer) -> None:
    app.command()(run)
