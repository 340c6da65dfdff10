"""On the bundled demo store (real model): the advocate ranking is explained and stable across runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from brandpulse.demo import DEMO_CONFIG

pytestmark = pytest.mark.slow


def _rank(env: dict[str, str], cwd: Path) -> list[dict[str, object]]:
    res = subprocess.run([sys.executable, "-m", "brandpulse", "advocates", "rank", "--brand", "Nimbus", "--limit", "10",
                          "--config", str(DEMO_CONFIG), "--json"], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_demo_ranking_is_explained_and_stable(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    env = {k: v for k, v in os.environ.items() if k not in ("BRANDPULSE_DATABASE_URL", "BRANDPULSE_CONFIG")}
    env["HF_HUB_OFFLINE"] = "1"
    demo = subprocess.run([sys.executable, "-m", "brandpulse", "demo", "--no-dashboard", "--database", str(db)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stderr
    env["BRANDPULSE_DATABASE_URL"] = f"sqlite:///{db}"
    first, again = _rank(env, tmp_path), _rank(env, tmp_path)
    assert first and first == again
    own = {"nimbusmobile", "nimbushelp", "vireomobile", "vireocare", "kesteltel", "kestreltel", "kestrelhelp"}
    for r in first:
        assert str(r["author"]).split(":", 1)[1].lower() not in own
        reasons = r["reasons"]
        assert isinstance(reasons, dict) and reasons["matching_posts"] >= 1 and reasons["posts"] >= 1
        posts = r["top_posts"]
        assert isinstance(posts, list) and posts and all(p["url"] for p in posts)
    scores = [float(r["score"]) for r in first]  # type: ignore[arg-type]
    assert scores == sorted(scores, reverse=True)
