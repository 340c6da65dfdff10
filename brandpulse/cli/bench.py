"""`brandpulse bench …`: benchmarks, each against the naive way measured in the same run."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from brandpulse.cli.common import ConfigOpt, JsonOpt, build_context, console, err_console, new_group, safe

bench_app = new_group("Benchmarks (each prints a ratio against the naive way, measured in the same run).")


@bench_app.command("score")
def bench_score(
    n: Annotated[int, typer.Option(help="Texts to score (mixed en/ru/uk from the demo stream).")] = 400,
    naive_n: Annotated[int, typer.Option(help="Texts for the naive one-at-a-time run.")] = 100,
    batch_size: Annotated[int | None, typer.Option(help="Override [model] batch_size.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Override [model] max_length.")] = None,
    cpu_dtype: Annotated[str | None, typer.Option(help="Override [model] cpu_dtype (auto | float32 | bfloat16).")] = None,
    runtime: Annotated[str | None, typer.Option(help="Override [model] runtime (torch | onnx | onnx-fp32).")] = None,
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
    with err_console.status("benchmarking…"):
        res = bench_scoring(cfg, n=n, naive_n=naive_n)
    console.print(f"batched: {res['rate']:.1f} texts/s   naive (same model, {safe(res['dtype'])}): "
                  f"{res['naive_rate']:.1f} texts/s   "
                  f"ratio: {res['ratio']:.1f}×   peak RSS: {res['peak_rss_mb']:.0f} MB   device: {safe(res['device'])}")
    if "naive_rate_fp32" in res:
        console.print(f"naive in float32: {res['naive_rate_fp32']:.1f} texts/s → batched {safe(res['dtype'])} is "
                      f"{res['speedup_vs_fp32_naive']:.1f}× faster")
    if "naive_pipeline_rate_fp32" in res:
        console.print(f"naive transformers pipeline (float32, one text per call): {res['naive_pipeline_rate_fp32']:.1f} "
                      f"texts/s → batched is {res['speedup_vs_pipeline']:.1f}× faster")
    if "label_agreement_fp32" in res:
        console.print(f"sentiment labels equal to the float32 model's: {res['label_agreement_fp32']:.1%} of {res['n']} texts")
    if json_out:
        print(json.dumps(res))


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
    console.print(f"Mentions page 1: {res['mentions_first_page_s']:.4f} s   filtered: {res['mentions_filtered_page_s']:.4f} s"
                  f"   page 51 by keyset (last step): {res['mentions_page_50_last_step_s']:.4f} s   by OFFSET: "
                  f"{res['mentions_page_50_naive_offset_s']:.4f} s   Sources: {res['sources_queries_s']:.4f} s")
    if json_out:
        print(json.dumps(res))


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
