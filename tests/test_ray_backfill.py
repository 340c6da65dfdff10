"""`brandpulse score --engine ray`: a time range re-scored on a local Ray instance with the real default model.

Every mention in the range gets exactly one score from that model, none outside it, the rollups equal a recount,
and the Ray figure is printed beside the single-process scorer's, measured in the same run."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from brandpulse.benchmarks.ingest import generate_mentions
from brandpulse.config import ModelConfig
from brandpulse.model_key import ModelKey
from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.migrate import upgrade
from brandpulse.store.rollups import hour_of
from brandpulse.store.schema import MentionBrandRow, MentionRow, RollupRow, ScoreRow
from tests.conftest import PG_URL, T0, _reset_postgres

IN_RANGE = 50


@pytest.fixture
def store_url(tmp_path: Path) -> Iterator[str]:
    """PostgreSQL when BRANDPULSE_TEST_DATABASE_URL is set (CI), else SQLite: one real-model run, not two."""
    if PG_URL:
        _reset_postgres(PG_URL)
        yield PG_URL
    else:
        yield f"sqlite:///{tmp_path / 'store.db'}"


def _recount(engine: Engine, key: ModelKey) -> tuple[dict[Any, int], dict[Any, int]]:
    with session_scope(engine) as s:
        rolled = {(r.brand, r.hour, r.sentiment): r.count
                  for r in s.scalars(select(RollupRow).where(RollupRow.model_key == str(key)))}
        recount: dict[Any, int] = {}
        for brand, created, label in s.execute(
            select(MentionBrandRow.brand, MentionRow.created_at, ScoreRow.label)
            .join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
            .join(ScoreRow, ScoreRow.mention_id == MentionRow.id)
            .where(ScoreRow.model == key.name, ScoreRow.revision == key.revision)
        ):
            k = (brand, hour_of(created), label)
            recount[k] = recount.get(k, 0) + 1
    return rolled, recount


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")  # Ray Data's own settings, not ours
def test_ray_backfill_scores_the_range_once_with_the_real_model(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("BRANDPULSE_REQUIRE_RAY"):
        import ray  # CI installs the extra: a missing Ray fails here instead of skipping
    else:
        ray = pytest.importorskip("ray", reason="the Ray backfill needs the extra: pip install 'brandpulse[ray]'")
    from sentiment.loading import load_scorer
    from sentiment.ray_backfill import backfill_with_ray

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # Ray's workers inherit it: the cached model, no network
    engine = make_engine(store_url)
    upgrade(engine)
    # 20 mentions before the range, IN_RANGE in it, 20 after: one every 3 hours, demo-stream texts and brands
    mentions = [dataclasses.replace(m, created_at=T0 + timedelta(hours=3 * i))
                for i, m in enumerate(generate_mentions(20 + IN_RANGE + 20))]
    insert_mentions(engine, mentions)
    start, end = T0 + timedelta(hours=3 * 20), T0 + timedelta(hours=3 * (20 + IN_RANGE))

    cfg = ModelConfig.model_validate({})
    scorer = load_scorer(cfg)
    key = ModelKey.of_scorer(scorer)
    texts = [m.text for m in mentions[20 : 20 + IN_RANGE]]
    scorer.score(texts[:4])  # warm-up
    t0 = time.perf_counter()
    local = scorer.score(texts, [m.language for m in mentions[20 : 20 + IN_RANGE]])
    local_rate = len(texts) / (time.perf_counter() - t0)
    del scorer

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        progress: list[tuple[int, int]] = []
        res = backfill_with_ray(store_url, cfg, key, start=start, end=end, actors=1, read_batch=16, batch_size=16,
                                on_progress=lambda d, t: progress.append((d, t)))
        again = backfill_with_ray(store_url, cfg, key, start=start, end=end, actors=1)
    finally:
        ray.shutdown()
    print(f"\nRay backfill (1 actor, 2 CPUs): {res.rate:.1f} mentions/s with the actor's model load, "
          f"{res.steady_rate or 0:.1f} mentions/s after the first batch; single-process scorer: {local_rate:.1f} mentions/s")

    assert res.scored == res.pending == IN_RANGE and progress[-1] == (IN_RANGE, IN_RANGE)
    assert again.scored == again.pending == 0
    with session_scope(engine) as s:
        scored = s.execute(select(MentionRow.native_id, ScoreRow.label, ScoreRow.model, ScoreRow.revision)
                           .join(ScoreRow, ScoreRow.mention_id == MentionRow.id).order_by(MentionRow.id)).all()
    assert [r.native_id for r in scored] == [m.native_id for m in mentions[20 : 20 + IN_RANGE]]  # the range, once each
    assert {(r.model, r.revision) for r in scored} == {(key.name, key.revision)}
    agree = sum(r.label == s.label for r, s in zip(scored, local, strict=True)) / IN_RANGE
    assert agree >= 0.9  # the actors ran the same model (batching may move a borderline label)
    rolled, recount = _recount(engine, key)
    assert rolled == recount and sum(rolled.values()) == IN_RANGE
    engine.dispose()


def test_range_options_need_the_ray_engine(tmp_path: Path) -> None:
    env = {**os.environ, "BRANDPULSE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    env.pop("BRANDPULSE_CONFIG", None)
    for args, said in ((["--from", "2026-11-02"], "--engine ray"), (["--engine", "spark"], "--engine must be"),
                       (["--engine", "ray", "--from", "yesterday"], "--from must be a date")):
        res = subprocess.run([sys.executable, "-m", "brandpulse", "score", *args], cwd=tmp_path, capture_output=True,
                             text=True, env=env, timeout=120)
        assert res.returncode != 0, args
        assert said in " ".join((res.stdout + res.stderr).split()), (args, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr


def test_model_revision_guard_refuses_another_model(tmp_path: Path) -> None:
    from tests.test_scale_workers import tiny_model_config

    cfg = tiny_model_config(tmp_path)
    env = {**os.environ, "BRANDPULSE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "HF_HUB_OFFLINE": "1"}
    env.pop("BRANDPULSE_CONFIG", None)
    res = subprocess.run([sys.executable, "-m", "brandpulse", "score", "--config", str(cfg), "--model-revision", "v999"],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    said = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0 and "not revision 'v999'" in said and "Traceback" not in res.stderr


@pytest.mark.ray
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")
def test_cli_engine_ray_rescores_a_range(tmp_path: Path) -> None:
    """`brandpulse score --engine ray --from --to` end to end on a new local Ray (tiny model through [model])."""
    if not os.environ.get("BRANDPULSE_REQUIRE_RAY"):
        pytest.importorskip("ray", reason="the Ray backfill needs the extra: pip install 'brandpulse[ray]'")
    from tests.test_scale_workers import tiny_model_config

    cfg = tiny_model_config(tmp_path)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    mentions = [dataclasses.replace(m, created_at=T0 + timedelta(hours=i)) for i, m in enumerate(generate_mentions(72))]
    insert_mentions(engine, mentions)  # three days, one an hour
    env = {**os.environ, "BRANDPULSE_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}
    env.pop("BRANDPULSE_CONFIG", None)
    env.pop("RAY_ADDRESS", None)
    res = subprocess.run([sys.executable, "-m", "brandpulse", "score", "--config", str(cfg), "--engine", "ray",
                          "--from", "2026-11-03", "--to", "2026-11-04", "--actors", "1", "--json"],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["engine"] == "ray" and out["scored"] == out["pending"] == 24 and out["actors"] == 1
    assert "mentions/s" in " ".join(res.stdout.split())
    with session_scope(engine) as s:
        days = {m.created_at.date() for m in s.scalars(select(MentionRow).join(ScoreRow, ScoreRow.mention_id == MentionRow.id))}
    assert [str(d) for d in days] == ["2026-11-03"]
    key = ModelKey.parse(out["model"])
    rolled, recount = _recount(engine, key)
    assert rolled == recount and sum(rolled.values()) == 24
    engine.dispose()
