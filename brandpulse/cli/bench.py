"""`brandpulse bench …`: benchmarks, each against the naive way measured in the same run."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.status import Status

from brandpulse.cli.common import ConfigOpt, JsonOpt, build_context, console, count_progress, err_console, new_group, safe
from brandpulse.context import Context

bench_app = new_group("Benchmarks (each prints a ratio against the naive way, measured in the same run).")


@bench_app.command("score")
def bench_score(
    n: Annotated[int, typer.Option(help="Texts to score (mixed en/ru/uk from the demo stream).")] = 400,
    naive_n: Annotated[int, typer.Option(help="Texts for the naive one-at-a-time run.")] = 100,
    batch_size: Annotated[int | None, typer.Option(help="Override [model] batch_size.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Override [model] max_length.")] = None,
    cpu_dtype: Annotated[str | None, typer.Option(help="Override [model] cpu_dtype (auto | float32 | bfloat16).")] = None,
    runtime: Annotated[str | None, typer.Option(help="Override [model] runtime (torch | onnx | onnx-fp32).")] = None,
    count: Annotated[int | None, typer.Option("--count", min=1, help="Also score this many mentions through the "
                                              "scoring stage from a scratch store (streamed in chunks), first: "
                                              "mentions/s, peak RSS and RSS growth per mention.")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Batched scorer vs the naive way (same model, one text at a time): texts/s, ratio, peak RSS."""
    from sentiment.bench import bench_scoring

    ctx = build_context(config, model={"batch_size": batch_size, "max_length": max_length, "cpu_dtype": cpu_dtype,
                                       "runtime": runtime},
                        flags={"model.batch_size": "--batch-size", "model.max_length": "--max-length",
                               "model.cpu_dtype": "--cpu-dtype", "model.runtime": "--runtime"})
    cfg = ctx.settings.model
    stage = _bench_stage(ctx, count) if count else None
    with err_console.status("benchmarking…"):
        res = bench_scoring(cfg, n=n, naive_n=naive_n)
    if stage:
        res["stage"] = stage
    where = f"{res['device']} ({res['device_name']})" if res.get("device_name") else str(res["device"])
    batches = (f"≤ {res['batch_tokens']:,} padded tokens per batch, length-sorted" if res.get("batch_tokens")
               else f"batches of {res['batch_size']}, length-sorted, {res['workers']} worker(s)")
    console.print(f"device: {safe(where)}   dtype: {safe(res['dtype'])}   runtime: {safe(res['runtime'])}   {batches}")
    console.print(f"batched: {res['rate']:.1f} texts/s   naive (same model, {safe(res['dtype'])}): "
                  f"{res['naive_rate']:.1f} texts/s   "
                  f"ratio: {res['ratio']:.1f}×   peak RSS: {res['peak_rss_mb']:.0f} MB")
    if "naive_rate_fp32" in res:
        console.print(f"naive in float32: {res['naive_rate_fp32']:.1f} texts/s → batched {safe(res['dtype'])} is "
                      f"{res['speedup_vs_fp32_naive']:.1f}× faster")
    if "naive_pipeline_rate_fp32" in res:
        console.print(f"naive transformers pipeline (float32, one text per call): {res['naive_pipeline_rate_fp32']:.1f} "
                      f"texts/s → batched is {res['speedup_vs_pipeline']:.1f}× faster")
    if "label_agreement_fp32" in res:
        console.print(f"sentiment labels equal to the float32 model's: {res['label_agreement_fp32']:.1%} of {res['n']} texts")
    if stage:
        console.print(f"scoring stage over {stage['count']:,} stored mentions ({safe(stage['backend'])}, streamed in "
                      f"chunks): {stage['rate']:.1f} mentions/s   peak RSS: {stage['peak_rss_mb']:.0f} MB (model load "
                      f"included; {stage['rss_before_mb']:.0f} MB before scoring, at most {stage['scoring_rss_mb']:.0f} MB "
                      f"while scoring, {stage['per_mention_kb']:+.3f} KB per mention)")
    if json_out:
        print(json.dumps(res))


def _bench_stage(ctx: Context, count: int) -> dict[str, object]:
    """`bench score --count`: fill a scratch store (bulk path, bounded batches), then score it as a worker does."""
    from brandpulse.benchmarks.ingest import generate_mentions
    from brandpulse.benchmarks.scratch import scratch_stores
    from brandpulse.store.mentions import insert_mentions
    from sentiment.bench import bench_stage

    url = ctx.settings.database_url
    with scratch_stores(url if url.startswith("postgresql") else None) as make_store:
        engine = make_store()
        with count_progress(f"storing {count:,} mentions in a scratch store") as on_progress:
            for offset in range(0, count, 5_000):
                insert_mentions(engine, generate_mentions(min(5_000, count - offset), offset=offset))
                on_progress(min(offset + 5_000, count), count)
        with err_console.status("loading the model…"):
            scorer = ctx.scorer
        with count_progress(f"scoring {count:,} mentions with {scorer.name}") as on_progress:
            out = bench_stage(engine, scorer, on_progress)
        out["backend"] = engine.dialect.name
        engine.dispose()
    return out


@bench_app.command("ingest")
def bench_ingest(
    count: Annotated[int, typer.Option("--count", min=1, help="Mentions stored through the bulk path.")] = 50_000,
    naive_count: Annotated[int, typer.Option(min=1, help="Mentions stored by the naive per-row ORM loop.")] = 2_000,
    batch_size: Annotated[int, typer.Option(min=1, help="Mentions per bulk insert transaction.")] = 2_000,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Bulk ingest vs a naive ORM add-and-commit-per-row loop: mentions/s and ratio, on SQLite and (when the
    configured database is PostgreSQL) PostgreSQL. Each runs in a scratch store (a temporary SQLite file, a
    temporary PostgreSQL schema): your data is not touched. With --json the last line is the SQLite run's
    figures, every backend's under "results"."""
    from brandpulse.benchmarks.ingest import run_ingest_bench
    from brandpulse.benchmarks.scratch import scratch_stores

    url = build_context(config).settings.database_url
    urls: list[str | None] = [None] + ([url] if url.startswith("postgresql") else [])
    results: list[dict[str, object]] = []
    for target in urls:
        name = "SQLite" if target is None else "PostgreSQL"
        with err_console.status(f"{name}: preparing a scratch store…") as status, scratch_stores(target) as make_store:

            def show(msg: str, name: str = name, status: Status = status) -> None:
                status.update(f"{name}: {safe(msg)}…")

            res = run_ingest_bench(make_store, count=count, naive_count=naive_count, batch_size=batch_size, progress=show)
        console.print(f"{name}: bulk {res.bulk_rate:,.0f} mentions/s ({res.count:,} in batches of {res.batch_size:,}; "
                      f"{res.bulk_cpu_s:.2f} s CPU in this process)   naive ORM loop {res.naive_rate:,.0f} mentions/s "
                      f"({res.naive_count:,})   ratio {res.ratio:.1f}×")
        results.append(res.as_dict())
    if json_out:
        print(json.dumps({**results[0], "results": results}))


@bench_app.command("alerts")
def bench_alerts_cmd(
    trials: Annotated[int, typer.Option(help="Injected bursts per design.", min=1, max=500)] = 20,
    poll: Annotated[float, typer.Option(help="Seconds between the run loop's checks for new data.", min=0.01,
                                        max=60)] = 0.25,
    history: Annotated[int, typer.Option(help="Generated mentions over the 90 days before the demo stream (the "
                                                "`bench dashboard` generator); 0: the demo stream alone.",
                                         min=0)] = 200_000,
    json_out: JsonOpt = False,
) -> None:
    """Stored → webhook received: the run loop's alerts role (rollups + outbox) vs the same detection over counts
    recounted from raw mentions each pass, on copies of one store (demo config, generated history) with a local
    webhook receiver (no model needed: scores are written directly). Exits 1 when the two designs did not deliver
    the same alerts (the comparison would be meaningless)."""
    from brandpulse.benchmarks.alerts import bench_alerts

    with err_console.status("benchmarking alert delivery…") as status:
        res = bench_alerts(trials, poll_s=poll, history=history, on_step=lambda m: status.update(m))
    console.print(f"{res['mentions']:,} mentions (SQLite), {res['trials']} trials per design, {res['alerts']} alerts "
                  f"delivered")
    console.print(f"rollups → outbox → send: p50 {res['p50_s']:.3f} s, p95 {res['p95_s']:.3f} s (missed {res['missed']})")
    if res["same_alerts"]:
        console.print(f"naive over raw mentions: p50 {res['naive_p50_s']:.3f} s, p95 {res['naive_p95_s']:.3f} s "
                      f"(a pass: {res['naive_pass_s']:.3f} s)   ratio (naive/rollups p95): {safe(res['ratio'])}")
    else:
        mm = res["mismatch"]
        err_console.print(f"[red]the two designs did not deliver the same alerts[/red] (missed: rollups "
                          f"{res['missed']}, naive {res['naive_missed']}; only by rollups: {safe(mm['only_rollups'])}; "
                          f"only by naive: {safe(mm['only_naive'])}): no comparison")
    if json_out:
        print(json.dumps(res))
    if not res["same_alerts"]:
        raise typer.Exit(1)


@bench_app.command("dashboard")
def bench_dashboard(
    count: Annotated[int, typer.Option(help="Mentions to generate (over 90 days, 3 brands, scored, with rollups).",
                                       min=1000)] = 200_000,
    url: Annotated[str | None, typer.Option(help="An empty database to generate into and keep (default: a temporary "
                                                 "SQLite file, removed afterwards).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Generate a store of N mentions and time each dashboard page's queries and the Overview's first render
    against the naive queries over raw mentions."""
    import tempfile
    from pathlib import Path

    from brandpulse.benchmarks.dashboard import run_dashboard_bench
    from brandpulse.store.engine import make_engine
    from brandpulse.store.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="brandpulse-bench-") as tmp:
        db_url = url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        cfg = Path(tmp) / "brandpulse.toml"
        cfg.write_text("".join(f"[[brands]]\nname = '{b}'\n" for b in ("Nimbus", "Vireo", "Kestrel")), encoding="utf-8")
        engine = make_engine(db_url)
        upgrade(engine)
        with err_console.status("benchmarking…") as status:
            res = run_dashboard_bench(engine, db_url, count, config_file=str(cfg),
                                      progress=lambda m: status.update(f"benchmarking… {m}"))
        engine.dispose()
    console.print(f"{res['count']:,} mentions ({res['backend']}), generated in {res['generate_s']:.1f} s "
                  f"({res['generate_rate']:,.0f}/s)")
    console.print(f"Overview first render: {res['overview_first_render_s']:.3f} s   queries (7 d): "
                  f"{res['overview_queries_s']:.3f} s   naive over raw mentions: {res['overview_naive_s']:.3f} s   "
                  f"({res['overview_speedup']:.0f}× faster)")
    console.print(f"Social NPS tiles (computed in the background) ready {res['overview_nps_ready_s']:.3f} s after the "
                  "render started")
    console.print(f"Mentions page 1: {res['mentions_first_page_s']:.4f} s   filtered: {res['mentions_filtered_page_s']:.4f} s"
                  f"   page 51 by keyset (last step): {res['mentions_page_50_last_step_s']:.4f} s   by OFFSET: "
                  f"{res['mentions_page_50_naive_offset_s']:.4f} s   Sources: {res['sources_queries_s']:.4f} s")
    if json_out:
        print(json.dumps(res))


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
