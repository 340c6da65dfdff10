"""More commands (service loop, model, eval, bench, query), registered on the main typer app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from brandpulse.cli import ConfigOpt, _ctx, app, console
from brandpulse.errors import ConfigError


@app.command()
def run(
    config: ConfigOpt = None,
    role: Annotated[str, typer.Option(help="collect | score | alerts | all")] = "all",
    interval: Annotated[float, typer.Option(help="Seconds between collection / alert passes.")] = 60.0,
) -> None:
    """The service loop: collect, score and check alerts until stopped (Ctrl-C)."""
    from brandpulse.service import ROLES, run_service

    if role not in ROLES:
        raise ConfigError(f"--role must be one of {', '.join(ROLES)}, got {role!r}", hint="")
    ctx = _ctx(config)
    console.print(f"running role {role!r} on {ctx.database}; Ctrl-C to stop")
    run_service(ctx, role, interval_s=interval)


_ = Path  # keep the import for later commands
