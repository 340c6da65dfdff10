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


@bench_app.command("alerts")
def bench_alerts_cmd(
    trials: Annotated[int, typer.Option(help="Injected bursts per design.", min=1, max=500)] = 20,
    poll: Annotated[float, typer.Option(help="Seconds between the run loop's checks for new data.", min=0.01,
                                        max=60)] = 0.25,
    json_out: JsonOpt = False,
) -> None:
    """Stored → webhook received: the run loop's alerts role (rollups + outbox) vs detection over raw mentions,
    on the demo config with a local webhook receiver (no model needed: scores are written directly)."""
    from brandpulse.benchmarks.alerts import bench_alerts

    with err_console.status("benchmarking alert delivery…") as status:
        res = bench_alerts(trials, poll_s=poll, on_step=lambda m: status.update(m))
    console.print(f"stored → delivered: p50 {res['p50_s']:.3f} s, p95 {res['p95_s']:.3f} s "
                  f"(missed {res['missed']})   naive over raw mentions: p50 {res['naive_p50_s']:.3f} s, "
                  f"p95 {res['naive_p95_s']:.3f} s (missed {res['naive_missed']})   ratio (naive/rollups p95): "
                  f"{safe(res['ratio'])}")
    if json_out:
        print(json.dumps(res))


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
