"""`brandpulse demo`: the bundled stream end to end (replay → store → score → alerts → dashboard)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console
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
    from alerts.check import check_alerts
    from brandpulse.cli import _batch_progress
    from brandpulse.collecting import build_collectors
    from brandpulse.scoring import score_pending
    from brandpulse.store.cursors import finish_run, start_run
    from brandpulse.store.queries import alerts_frame, counts
    from listener.runner import collect_once

    settings = demo_settings(database)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    console.print(f"[bold]database[/]  {database}")

    for collector in build_collectors(settings, ["replay"]):
        with progress() as p:
            task = p.add_task("replaying the demo stream", total=None)
            st = collect_once(engine, collector, on_batch=_batch_progress(p, task))
        console.print(f"replay: {st.fetched} mentions read, {st.new} new")

    from sentiment.scorer import load_scorer

    with console.status("loading the model (the first run converts it: ~10 s)…"):
        scorer = load_scorer(settings.model)
    run_id = start_run(engine, "score")
    with progress() as p:
        task = p.add_task(f"scoring with {scorer.name}", total=None)
        n = score_pending(engine, scorer, on_progress=lambda d, t: p.update(task, completed=d, total=t))
    finish_run(engine, run_id, counts={"scored": n})
    console.print(f"scored {n} mentions")

    from brandpulse.store.scores import model_key

    run_id = start_run(engine, "alerts")
    res = check_alerts(engine, model_key(scorer.name, scorer.revision), settings.alerts)
    finish_run(engine, run_id, counts={"new": res.new, "updated": res.updated,
                                       "evaluated_until": res.evaluated_until.isoformat() if res.evaluated_until else None})
    alerts = alerts_frame(engine)
    for a in alerts.itertuples():
        console.print(f"[bold red]ALERT[/] {a.severity} {a.brand} {a.start:%Y-%m-%d %H:%M}–{a.end:%H:%M} UTC: "
                      f"{a.evidence.get('why', '')}")
    c = counts(engine)
    console.print(f"[bold]store[/]     {c['mentions']} mentions, {c['scored']} scored, {c['open_alerts']} open alert(s)")
    host = settings.dashboard.host
    port = port or settings.dashboard.port
    if dashboard:
        from brandpulse.serve import run_dashboard

        console.print(f"[bold]dashboard[/] http://{host}:{port}")
        run_dashboard(settings, port=port, config_file=DEMO_CONFIG)
    else:
        console.print(f"[bold]dashboard[/] run `brandpulse dashboard --config {DEMO_CONFIG} --port {port}` "
                      f"with BRANDPULSE_DATABASE_URL=sqlite:///{database}, or `brandpulse demo` without --no-dashboard")
    return settings
