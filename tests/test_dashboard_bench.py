"""`brandpulse bench dashboard`: the generated store is consistent (rollups equal a recount) and the JSON report
carries the timings the issue names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import Engine, func, select

from brandpulse.benchmarks.dashboard import DAYS, KEY, generate_store
from brandpulse.store import dashboard_queries as dq
from brandpulse.store.engine import session_scope
from brandpulse.store.rollups import recount, stored
from brandpulse.store.schema import MentionRow, ScoreRow
from tests.conftest import REPO, T0


def test_the_generator_writes_scored_mentions_over_90_days_with_rollups_equal_to_a_recount(engine: Engine) -> None:
    end = T0 + timedelta(days=DAYS)
    generate_store(engine, 3000, end=end)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(MentionRow)) == 3000
        assert s.scalar(select(func.count()).select_from(ScoreRow)) == 3000
        assert stored(s) == recount(s)
        first, last = s.execute(select(func.min(MentionRow.created_at), func.max(MentionRow.created_at))).one()
    assert first == T0 and end - timedelta(hours=1) < last < end
    assert dq.brand_names(engine, KEY) == ["Nimbus", "Vireo", "Kestrel"]
    emotions = set(dq.series(engine, KEY, "emotion", None, T0, end)["value"])
    assert {"anger", "joy", "surprise"} <= emotions
    labels = dq.series(engine, KEY, "sentiment", None, T0, end).groupby("value")["count"].sum()
    assert set(labels.index) == {"negative", "neutral", "positive", "uncertain"}


def test_bench_dashboard_reports_page_timings_and_the_overview_first_render(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "brandpulse", "bench", "dashboard", "--count", "2000", "--json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["count"] == 2000 and res["backend"] == "sqlite"
    for k in ("overview_first_render_s", "overview_queries_s", "overview_naive_s", "mentions_first_page_s",
              "mentions_page_50_naive_offset_s", "sources_queries_s"):
        assert isinstance(res[k], float) and res[k] > 0, k
