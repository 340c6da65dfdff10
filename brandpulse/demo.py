"""`brandpulse demo`: the bundled stream end to end (replay → store → score → alerts → dashboard)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from brandpulse.config import Settings, load_settings
from brandpulse.store.engine import make_engine
from brandpulse.store.migrate import upgrade

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_CONFIG = DEMO_DIR / "demo.toml"


def demo_settings(database: Path) -> Settings:
    return load_settings(DEMO_CONFIG, store={"database_url": f"sqlite:///{database}"})


def run_demo(
    *,
    database: Path,
    console: Console,
    progress: Callable[[], Progress],
    dashboard: bool = True,
    port: int | None = None,
) -> Settings:
    from alerts.check import check_and_record
    from brandpulse.cli import _batch_progress
    from brandpulse.collecting import build_collectors
    from brandpulse.store.queries import alerts_frame, counts
    from listener.runner import collect_once
    from sentiment.stage import score_and_record

    settings = demo_settings(database)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    console.print(f"[bold]database[/]  {database}")

    for collector in build_collectors(settings, ["replay"]):
        with progress() as p:
            task = p.add_task("replaying the demo stream", total=None)
            st = collect_once(engine, collector, on_batch=_batch_progress(p, task))
        console.print(f"replay: {st.fetched} mentions read, {st.new} new")

    from sentiment.loading import load_scorer

    with console.status("loading the model (the first run converts it: ~10 s)…"):
        scorer = load_scorer(settings.model)
    with progress() as p:
        task = p.add_task(f"scoring with {scorer.name}", total=None)
        n = score_and_record(engine, scorer, on_progress=lambda d, t: p.update(task, completed=d, total=t))
    console.print(f"scored {n} mentions")

    from brandpulse.store.scores import model_key

    check_and_record(engine, model_key(scorer.name, scorer.revision), settings.alerts)
    alerts = alerts_frame(engine)
    for a in alerts.itertuples():
        console.print(f"[bold red]ALERT[/] {a.severity} {a.brand} {a.start:%Y-%m-%d %H:%M}–{a.end:%H:%M} UTC: "
                      f"{escape(a.evidence.get('why', ''))}")
    c = counts(engine)
    console.print(f"[bold]store[/]     {c['mentions']} mentions, {c['scored']} scored, {c['open_alerts']} open alert(s)")
    host = settings.dashboard.host
    port = port or settings.dashboard.port
    if dashboard:
        from brandpulse.serve import run_dashboard

        console.print(f"[bold]dashboard[/] http://{host}:{port}")
        run_dashboard(settings, port=port, config_file=DEMO_CONFIG)
    else:
        console.print(f"[bold]dashboard[/] http://{host}:{port} — not started (--no-dashboard); serve it with "
                      f"`BRANDPULSE_DATABASE_URL=sqlite:///{database} brandpulse dashboard --config {DEMO_CONFIG}`",
                      markup=True, highlight=False)
    return settings
