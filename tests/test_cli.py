"""The command line: help texts, init, import, status, error messages without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from brandpulse.cli import app

runner = CliRunner()

COMMANDS = [
    [], ["init"], ["db"], ["db", "upgrade"], ["import"], ["collect"], ["query"], ["query", "test"], ["score"],
    ["eval"], ["alerts"], ["alerts", "check"], ["alerts", "backtest"], ["dashboard"], ["demo"], ["status"], ["run"],
    ["model"], ["model", "install"], ["model", "train"], ["bench"], ["bench", "score"],
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "brandpulse")
def test_every_command_has_help(cmd: list[str]) -> None:
    res = runner.invoke(app, [*cmd, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output
    # a one-line description is shown for every command
    assert len([ln for ln in res.output.splitlines() if ln.strip()]) >= 3


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, **(env or {})}
    full_env.pop("BRANDPULSE_DATABASE_URL", None)
    full_env.pop("BRANDPULSE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "brandpulse", *args], cwd=cwd, capture_output=True, text=True,
                          env=full_env, timeout=120)


def test_init_import_status_round_trip(tmp_path: Path) -> None:
    res = _run(["init"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "brandpulse.toml").is_file()
    assert (tmp_path / "brandpulse.db").is_file()
    data = tmp_path / "m.csv"
    data.write_text("id,created_at,author,text,brand\n1,2026-11-02T10:00:00Z,ann,Acme rocks,Acme\n"
                    "2,yesterday,bob,Acme meh,Acme\n", encoding="utf-8")
    res = _run(["import", str(data)], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "1 new mentions" in res.stdout
    assert "m.csv:3" in res.stdout and "created_at" in res.stdout
    res = _run(["status", "--json"], tmp_path)
    st = json.loads(res.stdout.strip().splitlines()[-1])
    assert st["counts"]["mentions"] == 1


def test_user_errors_print_a_message_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "brandpulse.toml").write_text("[model]\nbatch_size = -1\n", encoding="utf-8")
    res = _run(["status"], tmp_path)
    assert res.returncode == 2
    assert "model.batch_size" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    (tmp_path / "brandpulse.toml").write_text("", encoding="utf-8")
    res = _run(["import", str(tmp_path / "nope.csv")], tmp_path)
    assert res.returncode == 2 and "does not exist" in res.stderr and "Traceback" not in res.stderr
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    res = _run(["status"], fresh)
    assert res.returncode == 2 and "[store]" in res.stderr and "brandpulse db" in res.stderr
    res = _run(["query", "test", '"unclosed'], tmp_path)
    assert res.returncode == 2 and "position" in res.stderr and "Traceback" not in res.stderr


def test_status_never_prints_secrets(tmp_path: Path) -> None:
    secret = "sk-THIS-MUST-NOT-LEAK-123"
    (tmp_path / "brandpulse.toml").write_text("", encoding="utf-8")
    env = {"X_BEARER_TOKEN": secret, "BRANDPULSE_SLACK_WEBHOOK_URL": f"https://hooks.slack.com/services/{secret}"}
    assert _run(["db", "upgrade"], tmp_path, env).returncode == 0
    res = _run(["status"], tmp_path, env)
    res_json = _run(["status", "--json"], tmp_path, env)
    assert res.returncode == 0
    assert secret not in res.stdout + res.stderr + res_json.stdout + res_json.stderr


def test_collect_replay_then_status_shows_cursor_health_and_runs(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    data.write_text("id,created_at,author,text,brand\n" + "".join(
        f"{i},2026-11-02T10:{i:02d}:00Z,u{i},Acme post {i},Acme\n" for i in range(20)), encoding="utf-8")
    (tmp_path / "brandpulse.toml").write_text(
        f"[[brands]]\nname='Acme'\n[sources.replay]\npath='{data.name}'\n", encoding="utf-8")
    res = _run(["collect", "--source", "replay"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "20 new" in res.stdout
    res = _run(["collect"], tmp_path)
    assert "0 new" in res.stdout
    st = json.loads(_run(["status", "--json"], tmp_path).stdout.strip().splitlines()[-1])
    assert st["counts"]["mentions"] == 20
    assert [(c["source"], c["position"]) for c in st["cursors"]] == [("replay", "20")]
    assert st["health"][0]["source"] == "replay" and st["health"][0]["last_success"]
    assert [r["role"] for r in st["runs"][:2]] == ["collect", "collect"]
    res = _run(["collect", "--source", "nosuch"], tmp_path)
    assert res.returncode == 2 and "unknown source" not in res.stdout and "nosuch" in res.stderr
