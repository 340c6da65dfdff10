"""`brandpulse bench alerts`: stored → webhook received for the run loop and for the naive design, in one run."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from brandpulse.cli import app


def test_bench_alerts_delivers_every_injected_burst_and_reports_both_designs() -> None:
    res = CliRunner().invoke(app, ["bench", "alerts", "--trials", "3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert {"p50_s", "p95_s", "naive_p50_s", "naive_p95_s", "ratio"} <= set(out)
    assert out["trials"] == 3 and out["missed"] == 0 and out["naive_missed"] == 0
    assert 0 < out["p50_s"] <= out["p95_s"] < 5  # goal: < 2 s; a loaded CI machine gets some slack
    assert 0 < out["naive_p50_s"] <= out["naive_p95_s"]
    assert out["ratio"] == round(out["naive_p95_s"] / out["p95_s"], 2)
