"""`brandpulse dashboard`."""

from __future__ import annotations

from typing import Annotated

import typer

from brandpulse.cli.common import ConfigOpt, build_context


def dashboard(
    config: ConfigOpt = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config: 8501).", min=1,
                                             max=65535)] = None,
) -> None:
    """Start the Streamlit dashboard on [dashboard] host (127.0.0.1 by default; any other address needs sign-in)."""
    from brandpulse.serve import run_dashboard

    ctx = build_context(config, dashboard={"port": port}, flags={"dashboard.port": "--port"})
    ctx.migrated_engine()
    run_dashboard(ctx.settings, config_file=config)


def register(app: typer.Typer) -> None:
    app.command()(dashboard)
