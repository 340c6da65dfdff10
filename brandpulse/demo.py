"""`brandpulse demo`: the bundled stream end to end (replay → store → score → alerts → dashboard)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from brandpulse.config import Settings, load_settings
from brandpulse.model_key import ModelKey
from brandpulse.store.engine import make_engine
from brandpulse.store.migrate import upgrade

if TYPE_CHECKING:
    from listener.runner import CollectStats

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_CONFIG = DEMO_DIR / "demo.toml"


def demo_settings(database: Path) -> Settings:
    return load_settings(DEMO_CONFIG, store={"database_url": f"sqlite:///{database}"})


@dataclass(frozen=True)
class DemoProgress:
    """How the demo shows progress (the CLI passes Rich progress bars; tests may pass no-ops).

    `collect(description)` is a context manager yielding a collect `on_batch` callback; `score(description)`
    yields a `(done, total)` callback."""

    collect: Callable[[str], AbstractContextManager[Callable[[CollectStats], None]]]
    score: Callable[[str], AbstractContextManager[Callable[[int, int], None]]]


def run_demo(
    *,
    database: Path,
    console: Console,
    progress: DemoProgress,
    dashboard: bool = True,
    port: int | None = None,
) -> Settings:
    from alerts.cycle import alert_cycle
    from brandpulse.collecting import build_collectors
    from brandpulse.store.queries import alerts_frame, counts
    from listener.runner import collect_once
    from sentiment.stage import score_and_record

    settings = demo_settings(database)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    console.print(f"[bold]database[/]  {escape(str(database))}")

    for collector in build_collectors(settings, ["replay"]):
        with progress.collect("replaying the demo stream") as on_batch:
            st = collect_once(engine, collector, on_batch=on_batch)
        console.print(f"replay: {st.fetched} mentions read, {st.new} new")

    from sentiment.loading import load_scorer

    with console.status("loading the model (the first run converts it: ~10 s)…"):
        scorer = load_scorer(settings.model)
    with progress.score(f"scoring with {scorer.name}") as on_progress:
        n = score_and_record(engine, scorer, on_progress=on_progress)
    console.print(f"scored {n} mentions")

    # the whole week arrives in one pass: its episode is over in stream time, but the demo shows it open
    cycle = alert_cycle(engine, settings, model_key=str(ModelKey.of_scorer(scorer)), auto_resolve_calm=False)
    alerts = alerts_frame(engine)
    for a in alerts.itertuples():
        what = escape(f"{a.severity} {a.brand}")
        console.print(f"[bold red]ALERT[/] {what} {a.start:%Y-%m-%d %H:%M}–{a.end:%H:%M} UTC: "
                      f"{escape(a.evidence.get('why', ''))}")
    if cycle.sent.claimed:
        console.print(f"delivery: {cycle.sent.sent} message(s) sent, {cycle.sent.retrying} to retry, "
                      f"{cycle.sent.failed} failed")
    c = counts(engine)
    console.print(f"[bold]store[/]     {c['mentions']} mentions, {c['scored']} scored, {c['open_alerts']} open alert(s)")
    host = settings.dashboard.host
    port = port or settings.dashboard.port
    if dashboard:
        from brandpulse.serve import run_dashboard

        console.print(f"[bold]dashboard[/] http://{host}:{port}")
        run_dashboard(settings, port=port, config_file=DEMO_CONFIG)
    else:
        serve = f"`BRANDPULSE_DATABASE_URL=sqlite:///{database} brandpulse dashboard --config {DEMO_CONFIG}`"
        console.print(f"[bold]dashboard[/] http://{host}:{port} — not started (--no-dashboard); serve it with "
                      f"{escape(serve)}",
                      markup=True, highlight=False)
    return settings
