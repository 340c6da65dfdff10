"""`brandpulse bench ingest --json`: both ways measured in the same run, on SQLite and on the configured PostgreSQL,
each in a scratch store — the user's own data is left as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from brandpulse.store.engine import make_engine
from brandpulse.store.mentions import count_mentions, insert_mentions
from brandpulse.store.migrate import upgrade
from tests.conftest import make_mention


def _bench(tmp_path: Path, url: str) -> tuple[dict[str, Any], str]:
    env = {**os.environ, "BRANDPULSE_DATABASE_URL": url}
    env.pop("BRANDPULSE_CONFIG", None)
    res = subprocess.run([sys.executable, "-m", "brandpulse", "bench", "ingest", "--count", "1500", "--naive-count", "40",
                          "--batch-size", "500", "--json"], cwd=tmp_path, capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1]), res.stdout


def test_bench_ingest_reports_both_ways_and_leaves_the_store_alone(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    insert_mentions(engine, [make_mention(i) for i in range(3)])
    out, printed = _bench(tmp_path, db_url)
    backends = [r["backend"] for r in out["results"]]
    assert backends == (["sqlite", "postgresql"] if db_url.startswith("postgresql") else ["sqlite"])
    for r in out["results"]:
        assert r["count"] == 1500 and r["naive_count"] == 40
        assert r["rate"] > 0 and r["naive_rate"] > 0
        assert r["ratio"] == pytest.approx(r["rate"] / r["naive_rate"], rel=0.02)
    assert out["backend"] == "sqlite" and out["rate"] == out["results"][0]["rate"]
    assert "naive ORM loop" in printed and "ratio" in printed
    # the configured store still holds exactly its own mentions, and no scratch schema is left behind
    assert count_mentions(engine) == 3
    if db_url.startswith("postgresql"):
        with engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM information_schema.schemata "
                                     "WHERE schema_name LIKE 'brandpulse_bench_%'")).scalar()
        assert left == 0
    engine.dispose()
