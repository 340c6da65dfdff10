"""`brandpulse score`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from brandpulse.cli.common import ConfigOpt, JsonOpt, build_context, console, count_progress, err_console, safe
from brandpulse.context import Context
from brandpulse.errors import ConfigError, ModelError
from brandpulse.model_key import ModelKey

ENGINES = ("local", "ray")


def score(
    config: ConfigOpt = None,
    limit: Annotated[int | None, typer.Option(help="Score at most this many (--engine local).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Texts per model batch.")] = None,
    engine: Annotated[str, typer.Option(help="local: this process, claiming chunks like any scoring worker; "
                                              "ray: re-score a time range on a Ray cluster (pip install 'brandpulse[ray]').")
                      ] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (--engine ray; default: a local Ray).")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First day or time to score (--engine ray), UTC.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Score mentions created before this day or time (--engine ray).")
                  ] = None,
    model_revision: Annotated[str | None, typer.Option(help="Refuse to run unless the configured model has this "
                                                            "revision (as `brandpulse status` shows it).")] = None,
    actors: Annotated[int | None, typer.Option(min=1, help="Model actors (--engine ray; default: one per GPU, "
                                                            "else one per two CPUs).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Score unscored mentions (sentiment + emotion) and update the hourly rollups."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}", hint="")
    ctx = build_context(config, model={"batch_size": batch_size})
    if engine == "ray":
        _score_with_ray(ctx, address, from_, to, model_revision, actors, json_out)
        return
    if address or from_ or to or actors:
        raise ConfigError("--address, --from, --to and --actors are for --engine ray",
                          hint="Add --engine ray to re-score a time range, or drop them.")
    from sentiment.stage import score_and_record

    db = ctx.migrated_engine()
    with err_console.status("loading the model…"):
        scorer = ctx.scorer
    _check_revision(ModelKey.of_scorer(scorer), model_revision)
    with count_progress(f"scoring with {scorer.name}") as on_progress:
        n = score_and_record(db, scorer, limit=limit, on_progress=on_progress)
    console.print(f"scored [green]{n}[/] mentions with {safe(scorer.name)} ({safe(scorer.revision)})")
    if json_out:
        print(json.dumps({"engine": "local", "scored": n, "model": str(ModelKey.of_scorer(scorer))}))


def _check_revision(key: ModelKey, wanted: str | None) -> None:
    if wanted is not None and key.revision != wanted:
        raise ModelError(f"the configured model is {key}, not revision {wanted!r}",
                         hint="Configure that model ([model] encoder / heads_dir) or leave --model-revision out.")


def _score_with_ray(ctx: Context, address: str | None, from_: str | None, to: str | None, model_revision: str | None,
                    actors: int | None, json_out: bool) -> None:
    from sentiment.ray_backfill import backfill_with_ray, connect, model_key_on_cluster, parse_day

    start, end = parse_day(from_, "--from"), parse_day(to, "--to")
    if start and end and start >= end:
        raise ConfigError(f"--from ({from_}) must be before --to ({to})", hint="")
    ctx.migrated_engine()
    with err_console.status("starting Ray and loading the model on the cluster…"):
        connect(address)
        key = model_key_on_cluster(ctx.settings.model)
    _check_revision(key, model_revision)
    with count_progress(f"re-scoring with {key} on Ray") as on_progress:
        res = backfill_with_ray(ctx.settings.database_url, ctx.settings.model, key, start=start, end=end,
                                actors=actors, on_progress=on_progress)
    console.print(f"scored [green]{res.scored}[/] of {res.pending} unscored mentions in range with {safe(str(key))} "
                  f"on Ray: {res.rate:.1f} mentions/s with the actors' start"
                  + (f", {res.steady_rate:.1f} mentions/s after it" if res.steady_rate else "")
                  + f"; {res.actors} actor(s), {res.gpus_per_actor:g} GPU each")
    if json_out:
        print(json.dumps(res.as_dict()))


def register(app: typer.Typer) -> None:
    app.command()(score)
