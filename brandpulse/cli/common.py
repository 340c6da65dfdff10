"""What every command group shares: consoles, common options, the context, progress bars, error handling.

Data from the store or from the user (brand names, queries, post text) is printed through `safe()` (Rich
markup escaped); the consoles never substitute emoji codes (`a:b:c:d` prints as is).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from brandpulse.context import Context
from brandpulse.errors import BrandpulseError
from brandpulse.logredact import install_redaction

if TYPE_CHECKING:
    from listener.runner import CollectStats

console = Console(stderr=False, emoji=False)
err_console = Console(stderr=True, emoji=False)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $BRANDPULSE_CONFIG or ./brandpulse.toml).",
                 envvar="BRANDPULSE_CONFIG", show_envvar=True),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")]


def safe(value: object) -> str:
    """Any value as text that Rich prints literally (no markup, no emoji codes)."""
    return escape(str(value))


def positive_seconds(value: float) -> float:
    """typer callback: an interval must be a finite number of seconds above 0 (0 or less would busy-loop)."""
    import math

    if not math.isfinite(value) or value <= 0:
        raise typer.BadParameter(f"must be a number of seconds greater than 0, got {value}")
    return value


def new_group(help_text: str) -> typer.Typer:
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode="rich")


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, dict):
            v = _drop_none(v)
            if not v:
                continue
        if v is not None:
            out[k] = v
    return out


def build_context(config: Path | None, *, flags: dict[str, str] | None = None, **overrides: Any) -> Context:
    """The command's context. `overrides` are CLI options nested like the config file (None = not given);
    `flags` names the option behind a config key (``{"model.runtime": "--runtime"}``) for error messages.
    A --config / BRANDPULSE_CONFIG path that does not exist is an error, never a new store beside it."""
    return Context(config_file=config, overrides=_drop_none(overrides), require_file=config is not None,
                   option_names=dict(flags or {}))


def progress_bar() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=False)


def batch_progress(progress: Progress, task: TaskID) -> Callable[[CollectStats], None]:
    """A collect `on_batch` callback that moves `task` to the number of items fetched so far."""

    def update(stats: CollectStats) -> None:
        progress.update(task, completed=stats.fetched)

    return update


@contextmanager
def collect_progress(description: str) -> Iterator[Callable[[CollectStats], None]]:
    """A progress bar for one collector run; yields its `on_batch` callback (brandpulse.demo takes these)."""
    with progress_bar() as p:
        task = p.add_task(safe(description), total=None)
        yield batch_progress(p, task)


@contextmanager
def count_progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar fed by `(done, total)` calls."""
    with progress_bar() as p:
        task = p.add_task(safe(description), total=None)
        yield lambda done, total: p.update(task, completed=done, total=total)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction()


def report_error(exc: BrandpulseError) -> int:
    """Print a user error (message + hint, no traceback); the exit code for it."""
    err_console.print(f"[bold red]error:[/] {safe(exc)}", highlight=False)
    return 2


def run_app(app: Callable[[], Any]) -> None:
    try:
        app()
    except BrandpulseError as exc:
        sys.exit(report_error(exc))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


def no_emoji_in_typer_output() -> None:
    """typer builds its own Rich consoles for help and usage errors; turn emoji codes off there too."""
    import typer.rich_utils as rich_utils

    make = rich_utils._get_rich_console
    if getattr(make, "_brandpulse_no_emoji", False):
        return

    def plain(stderr: bool = False) -> Console:
        c = make(stderr)
        c._emoji = False  # Console(emoji=False) stores it here; the typer console has no parameter for it
        return c

    plain._brandpulse_no_emoji = True  # type: ignore[attr-defined]
    rich_utils._get_rich_console = plain
