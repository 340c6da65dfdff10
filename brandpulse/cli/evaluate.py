"""`brandpulse eval`: the configured model's accuracy on a labelled file or on the corrections people made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from brandpulse.cli.common import ConfigOpt, JsonOpt, build_context, console, err_console, progress_bar, safe
from brandpulse.errors import InputError
from brandpulse.model_key import ModelKey


def _predict(scorer: Any, texts: list[str], task: str, langs: list[str | None]) -> list[Any]:
    from brandpulse.types import SENTIMENTS

    preds: list[Any] = []
    step = 256
    with progress_bar() as p:
        t = p.add_task("scoring", total=len(texts))
        for i in range(0, len(texts), step):
            for sc in scorer.score(texts[i : i + step], langs[i : i + step]):
                if task == "sentiment":
                    preds.append(max(SENTIMENTS, key=lambda c: sc.probs[c]))
                else:
                    preds.append(frozenset(sc.emotion_labels))
            p.update(t, completed=min(i + step, len(texts)))
    return preds


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
    ctx = build_context(config)
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
    out["model"] = str(ModelKey.of_scorer(scorer))
    out["task"] = task
    t = Table("lang", "n", "accuracy", "macro-F1", "macro-recall", title=f"{safe(task)} — {safe(out['model'])}")
    for lang, m in [("all", out), *out["per_language"].items()]:
        t.add_row(safe(lang), str(m["n"]), f"{m['accuracy']:.3f}", f"{m['macro_f1']:.3f}", f"{m['macro_recall']:.3f}")
    console.print(t)
    if task == "sentiment":
        cm = out["confusion"]
        ct = Table("true \\ predicted", *map(safe, cm["labels"]), title="confusion matrix")
        for lab, row in zip(cm["labels"], cm["matrix"], strict=True):
            ct.add_row(safe(lab), *map(str, row))
        console.print(ct)
    else:
        console.print("per-emotion F1: " + ", ".join(f"{safe(k)} {v:.3f}" for k, v in out["per_emotion_f1"].items()))
    if json_out:
        print(json.dumps(out))


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_)
