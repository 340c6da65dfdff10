"""The `brandpulse` command (typer). Thin: every command calls tested functions elsewhere."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from brandpulse.context import Context
from brandpulse.errors import BrandpulseError

if TYPE_CHECKING:
    from listener.runner import CollectStats

console = Console(stderr=False)
err_console = Console(stderr=True)

app = typer.Typer(
    help="brandpulse — social listening and brand advocacy: collect mentions, score sentiment and emotion "
    "(en/ru/uk), raise negativity alerts, rank advocates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
alerts_app = typer.Typer(help="Negativity alerts: detection passes and backtests.", no_args_is_help=True)
query_app = typer.Typer(help="The brand query language.", no_args_is_help=True)
model_app = typer.Typer(help="The sentiment/emotion model: install, train heads.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (each prints a ratio against the naive way, measured in the same run).",
                        no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(alerts_app, name="alerts")
app.add_typer(query_app, name="query")
app.add_typer(model_app, name="model")
app.add_typer(bench_app, name="bench")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $BRANDPULSE_CONFIG or ./brandpulse.toml).",
                 envvar="BRANDPULSE_CONFIG", show_envvar=True),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")]


def _ctx(config: Path | None, **overrides: Any) -> Context:
    return Context(config_file=config, overrides={k: v for k, v in overrides.items() if v is not None})


def _batch_progress(progress: Progress, task: TaskID) -> Callable[[CollectStats], None]:
    def update(stats: CollectStats) -> None:
        progress.update(task, completed=stats.fetched)

    return update


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=False)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# --------------------------------------------------------------------------- init / db
@app.command()
def init(
    config: ConfigOpt = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing config file.")] = False,
) -> None:
    """Write a commented brandpulse.toml and create/migrate the store."""
    from brandpulse.config import config_path
    from brandpulse.init_template import CONFIG_TEMPLATE

    path = config_path(config)
    if path.exists() and not force:
        console.print(f"{path} exists; keeping it (use --force to overwrite).")
    else:
        path.write_text(CONFIG_TEMPLATE, encoding="utf-8")
        console.print(f"wrote {path}")
    ctx = _ctx(path)
    ctx.migrated_engine()
    console.print(f"store ready: {ctx.database}")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None, revision: str = "head") -> None:
    """Apply Alembic migrations up to REVISION (default: the newest)."""
    from brandpulse.store.migrate import current_revision, upgrade

    ctx = _ctx(config)
    upgrade(ctx.engine, revision)
    console.print(f"{ctx.database} is at revision {current_revision(ctx.engine)}")


# --------------------------------------------------------------------------- import / collect
@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV or JSONL of mentions (id, created_at, author, text, brand; "
                                               "optional platform, lang, url, followers, likes, reposts, replies).")],
    config: ConfigOpt = None,
    max_errors_shown: Annotated[int, typer.Option(help="How many bad rows to list.")] = 20,
) -> None:
    """Bulk-load mentions from a file; bad rows are reported with line numbers, the rest stored."""
    from brandpulse.importer import import_file

    ctx = _ctx(config)
    engine = ctx.migrated_engine()
    size = file.stat().st_size if file.exists() else 0
    from brandpulse.store.cursors import finish_run, start_run

    run_id = start_run(engine, "import")
    with _progress() as progress:
        task = progress.add_task(f"importing {file.name}", total=size or None)
        result = import_file(engine, file, on_progress=lambda pos: progress.update(task, completed=pos))
    finish_run(engine, run_id, counts={"new": result.new, "duplicates": result.duplicates, "bad_rows": len(result.bad_rows)})
    console.print(f"[green]{result.new}[/] new mentions, {result.duplicates} already stored, "
                  f"[red]{len(result.bad_rows)}[/] bad rows")
    for bad in result.bad_rows[:max_errors_shown]:
        console.print(f"  [red]{escape(file.name)}:{bad.line}[/] {escape(bad.reason)}")
    if len(result.bad_rows) > max_errors_shown:
        console.print(f"  … and {len(result.bad_rows) - max_errors_shown} more")


@app.command()
def collect(
    config: ConfigOpt = None,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only these sources "
                                                     "(x, reddit, mastodon, bluesky, rss, hackernews, replay).")] = None,
    once: Annotated[bool, typer.Option("--once/--follow", help="One pass (default) or keep following.")] = True,
    interval: Annotated[float, typer.Option(help="Seconds between passes with --follow.")] = 60.0,
) -> None:
    """Run collectors: store new mentions, remember where each stopped."""
    from brandpulse.collecting import build_collectors
    from listener.runner import collect_once, follow

    ctx = _ctx(config)
    engine = ctx.migrated_engine()
    collectors = build_collectors(ctx.settings, source)
    if not once:
        console.print(f"following {len(collectors)} source(s); Ctrl-C to stop")
        follow(engine, collectors, interval_s=interval,
               on_stats=lambda st: console.print(f"{st.source}/{st.key}: +{st.new} new"))
        return
    from brandpulse.store.cursors import finish_run, start_run

    run_id = start_run(engine, "collect")
    failed: list[str] = []
    totals = {"fetched": 0, "new": 0, "deleted": 0}
    for c in collectors:
        with _progress() as progress:
            task = progress.add_task(f"{c.name}/{getattr(c, 'key', '')}", total=None)
            try:
                st = collect_once(engine, c, on_batch=_batch_progress(progress, task))
            except BrandpulseError as exc:
                failed.append(c.name)
                err_console.print(f"[red]{c.name}: {escape(str(exc))}[/]")
                continue
        for k in totals:
            totals[k] += getattr(st, k)
        console.print(f"{st.source}/{st.key}: fetched {st.fetched}, [green]{st.new} new[/], deleted {st.deleted}")
    finish_run(engine, run_id, counts={**totals, "failed_sources": failed},
               error=f"failed: {', '.join(failed)}" if failed else None)
    if failed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- score / alerts
@app.command()
def score(
    config: ConfigOpt = None,
    limit: Annotated[int | None, typer.Option(help="Score at most this many.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Texts per model batch.")] = None,
) -> None:
    """Score unscored mentions (sentiment + emotion) and update the hourly rollups."""
    from sentiment.stage import score_and_record

    ctx = _ctx(config)
    if batch_size:
        ctx.settings.model.batch_size = batch_size
    engine = ctx.migrated_engine()
    with err_console.status("loading the model…"):
        scorer = ctx.scorer
    with _progress() as progress:
        task = progress.add_task(f"scoring with {scorer.name}", total=None)
        n = score_and_record(engine, scorer, limit=limit,
                             on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(f"scored [green]{n}[/] mentions with {scorer.name} ({scorer.revision})")


@alerts_app.command("check")
def alerts_check(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """One detection pass over the rollups; new alerts are stored with their evidence."""
    from alerts.check import check_and_record
    from brandpulse.store.queries import latest_model_key

    ctx = _ctx(config)
    engine = ctx.migrated_engine()
    key = latest_model_key(engine)
    if key is None:
        console.print("nothing scored yet: run `brandpulse score` first")
        return
    res = check_and_record(engine, key, ctx.settings.alerts)
    for sp in res.spikes:
        console.print(f"[bold red]{sp.severity}[/] {sp.brand}: {sp.start:%Y-%m-%d %H:%M}–{sp.end:%H:%M} UTC "
                      f"negative share {sp.metrics['negative_share']:.0%} (baseline {sp.metrics['baseline_share']:.0%})")
    console.print(f"{res.new} new alert(s), {res.updated} updated")
    if json_out:
        print(json.dumps({"new": res.new, "updated": res.updated, "spikes": len(res.spikes)}))


@alerts_app.command("backtest")
def alerts_backtest(
    from_: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, UTC).")],
    to: Annotated[str, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD, UTC).")],
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Alerts that would have fired in a past period (nothing is stored)."""
    from datetime import datetime, timedelta

    from alerts.spike import find_spikes
    from brandpulse.errors import InputError
    from brandpulse.store.queries import latest_model_key, rollups

    try:
        start = datetime.fromisoformat(from_).replace(tzinfo=UTC)
        end = datetime.fromisoformat(to).replace(tzinfo=UTC) + timedelta(days=1)
    except ValueError:
        raise InputError(f"--from/--to must be dates like 2026-11-02, got {from_!r} / {to!r}") from None
    ctx = _ctx(config)
    engine = ctx.migrated_engine()
    key = latest_model_key(engine)
    spikes = []
    if key:
        rule = ctx.settings.alerts
        df = rollups(engine, key, [brand] if brand else None, since=start - timedelta(hours=rule.baseline_hours + 1),
                     until=end)
        spikes = find_spikes(df, rule, since=start, until=end)
    out = [{"brand": s.brand, "start": s.start.isoformat(), "end": s.end.isoformat(), "severity": s.severity,
            "metrics": s.metrics} for s in spikes]
    for s in spikes:
        console.print(f"{s.severity:6} {s.brand}: {s.start:%Y-%m-%d %H:%M} → {s.end:%Y-%m-%d %H:%M} "
                      f"negative {int(s.metrics['negative'])}/{int(s.metrics['total'])}")
    console.print(f"{len(spikes)} alert(s) would have fired")
    if json_out:
        print(json.dumps(out))


# --------------------------------------------------------------------------- dashboard / demo / status
@app.command()
def dashboard(
    config: ConfigOpt = None,
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default from config: 8501).")] = None,
) -> None:
    """Start the Streamlit dashboard on 127.0.0.1."""
    from brandpulse.serve import run_dashboard

    ctx = _ctx(config)
    ctx.migrated_engine()
    run_dashboard(ctx.settings, port=port, config_file=config)


@app.command()
def demo(
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Stop after loading, scoring and alerting.")] = False,
    port: Annotated[int | None, typer.Option(help="Dashboard port.")] = None,
    database: Annotated[Path, typer.Option(help="Where the demo database goes.")] = Path("brandpulse-demo.db"),
) -> None:
    """The bundled demo end to end: replay the demo stream, score it, check alerts, open the dashboard."""
    from brandpulse.demo import run_demo

    run_demo(database=database.resolve(), console=console, progress=_progress, dashboard=not no_dashboard, port=port)


@app.command()
def status(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Counts, last runs, cursor positions and source health — never secrets."""
    from brandpulse.status import gather_status

    ctx = _ctx(config)
    st = gather_status(ctx.migrated_engine(auto_upgrade=False), ctx.database)
    if json_out:
        print(json.dumps(st, default=str))
        return
    console.print(f"[bold]database[/] {st['database']}")
    t = Table("what", "count")
    for k, v in st["counts"].items():
        t.add_row(k, str(v))
    console.print(t)
    if st["runs"]:
        t = Table("run", "started", "status", "counts", title="last runs")
        for r in st["runs"]:
            t.add_row(r["role"], str(r["started_at"])[:19], r["status"], json.dumps(r["counts"])[:60])
        console.print(t)
    if st["cursors"]:
        t = Table("source", "key", "position", "updated", title="cursors")
        for c in st["cursors"]:
            t.add_row(c["source"], c["key"], c["position"][:40], str(c["updated_at"])[:19])
        console.print(t)
    if st["health"]:
        t = Table("source", "key", "last success", "lag", "errors", "last error", "rate limit left", title="sources")
        for h in st["health"]:
            t.add_row(h["source"], h["key"], str(h["last_success"] or "—")[:19], _fmt_lag(h["lag_seconds"]),
                      str(h["error_count"]), (h["last_error"] or "")[:50], str(h["rate_limit_remaining"] or "—"))
        console.print(t)


def _fmt_lag(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# --------------------------------------------------------------------------- entry point
def main() -> None:
    try:
        app()
    except BrandpulseError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


from brandpulse import cli_extra  # noqa: E402,F401  (registers the model, eval, bench, query and run commands)
