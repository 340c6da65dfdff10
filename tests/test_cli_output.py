"""What the command line prints: data printed literally (no Rich markup, no emoji codes), user errors as messages
with exit code 2 (never a traceback), interrupted runs shown as such, and no secret in a `-v` log line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from brandpulse.cli import app
from brandpulse.logredact import RedactingFilter
from brandpulse.status import gather_status
from brandpulse.store.cursors import start_run
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.schema import RunRow
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import SentimentScore, utcnow
from tests.conftest import make_mention
from tests.fakeserver import LocalServer, QuietHandler, send

REPO = Path(__file__).resolve().parent.parent
HOSTILE_BRAND = "Evil[/] a:b:c:d :smile:"


def cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("BRANDPULSE_DATABASE_URL", "BRANDPULSE_CONFIG")}
    full["PYTHONPATH"] = str(REPO) + os.pathsep + full.get("PYTHONPATH", "")
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "brandpulse", *args], cwd=cwd, capture_output=True, text=True,
                          env=full, timeout=120)


def seed_hostile_spike(engine: Engine) -> None:
    """80 quiet hours of a brand whose name is Rich markup, then one hour of 12 complaints."""
    ms, i = [], 0
    for h in range(80):
        for k in range(12 if h == 78 else 4):
            neg = h == 78 or (k == 0 and h % 3 == 0)
            ms.append(make_mention(i, brand=HOSTILE_BRAND, hours=h + k / 60, text=("outage" if neg else "great") + f" {i}",
                                   author=f"a{i % 9}"))
            i += 1
    insert_mentions(engine, ms)
    scored = []
    for p in pending_mentions(engine, "m", "r", 100_000):
        label = "negative" if "outage" in p.text else "positive"
        probs = {"negative": 0.05, "neutral": 0.05, "positive": 0.05, label: 0.9}
        scored.append((p.id, SentimentScore(label, probs, 0.9, {}, "m", "r")))
    save_scores(engine, scored)


def test_brand_names_with_markup_print_literally(engine: Engine, db_url: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seed_hostile_spike(engine)
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", db_url)
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text("", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["alerts", "check", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert HOSTILE_BRAND in res.output and "1 new alert(s)" in res.output
    res = runner.invoke(app, ["alerts", "backtest", "--from", "2026-11-02", "--to", "2026-11-06", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert HOSTILE_BRAND in res.output and "1 alert(s) would have fired" in res.output


def test_queries_and_text_print_literally(tmp_path: Path) -> None:
    (tmp_path / "brandpulse.toml").write_text("", encoding="utf-8")
    data = tmp_path / "m.csv"
    data.write_text("id,created_at,author,text,brand\n1,2026-11-02T10:00:00Z,ann,acme [/bold] a:b:c:d,Acme\n",
                    encoding="utf-8")
    assert cli(["import", str(data)], tmp_path).returncode == 0
    res = cli(["query", "test", '"acme [/bold]" OR "a:b:c:d"'], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "acme [/bold]" in res.stdout and "a:b:c:d" in res.stdout and "\U0001f171" not in res.stdout
    assert "matches 1 of the 1" in res.stdout
    bad = tmp_path / "a:b:c:d [bold].csv"
    bad.write_text("id,created_at,author,text,brand\n1,not-a-date,ann,x,Acme\n", encoding="utf-8")
    res = cli(["import", str(bad)], tmp_path)
    assert res.returncode == 2 and "a:b:c:d [bold].csv:2" in res.stdout and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["status"], {"BRANDPULSE_MODEL": "abc"}, "BRANDPULSE_MODEL is not valid JSON"),
        (["status"], {"BRANDPULSE_BRANDS": "notjson"}, "BRANDPULSE_BRANDS is not valid JSON"),
        (["dashboard", "--port", "70000"], {}, "65535"),
        (["alerts", "backtest", "--from", "0001-01-01", "--to", "0001-01-02"], {}, "--from/--to must be dates"),
        (["db", "upgrade", "--revision", "nosuch"], {}, "nosuch"),
        (["run", "--interval", "-5"], {}, "greater than 0"),
        (["collect", "--follow", "--interval", "0"], {}, "greater than 0"),
        (["status", "--config", "nosuch/brandpulse.toml"], {}, "does not exist"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v)[:25],
)
def test_bad_values_get_a_message_and_exit_2(tmp_path: Path, args: list[str], env: dict[str, str], said: str) -> None:
    (tmp_path / "brandpulse.toml").write_text("", encoding="utf-8")
    res = cli(args, tmp_path, env)
    out = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 2, out
    assert said in out
    assert "Traceback" not in out


def test_a_missing_config_path_never_creates_a_store_beside_it(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "brandpulse.toml"
    (tmp_path / "typo").mkdir()
    for args in (["status"], ["db", "upgrade"], ["collect"]):
        res = cli([*args, "--config", str(missing)], tmp_path)
        assert res.returncode == 2 and "does not exist" in res.stderr
    res = cli(["status"], tmp_path, {"BRANDPULSE_CONFIG": str(missing)})
    assert res.returncode == 2 and "does not exist" in res.stderr
    assert list((tmp_path / "typo").iterdir()) == [] and not (tmp_path / "brandpulse.db").exists()


def test_killed_runs_are_shown_as_interrupted(engine: Engine) -> None:
    start_run(engine, "score")  # this process: alive
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = start_run(engine, "collect")
    stale = start_run(engine, "alerts")
    fresh_elsewhere = start_run(engine, "import")
    with session_scope(engine) as s:
        s.get(RunRow, dead).pid = child.pid  # type: ignore[union-attr]
        for rid, age in ((stale, timedelta(hours=2)), (fresh_elsewhere, timedelta(minutes=1))):
            row = s.get(RunRow, rid)
            assert row is not None
            row.host, row.heartbeat_at = "another-machine", utcnow() - age
    runs = {r["role"]: r["status"] for r in gather_status(engine, "db")["runs"]}
    assert runs == {"score": "running", "collect": "interrupted", "alerts": "interrupted", "import": "running"}


def test_a_run_killed_mid_way_is_interrupted_in_status(tmp_path: Path) -> None:
    (tmp_path / "brandpulse.toml").write_text("", encoding="utf-8")
    assert cli(["db", "upgrade"], tmp_path).returncode == 0
    code = ("import os, signal; from brandpulse.context import Context; from brandpulse.store.cursors import start_run; "
            "start_run(Context().migrated_engine(), 'import'); os.kill(os.getpid(), signal.SIGKILL)")
    env = {k: v for k, v in os.environ.items() if k not in ("BRANDPULSE_DATABASE_URL", "BRANDPULSE_CONFIG")}
    env["PYTHONPATH"] = str(REPO)
    killed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, timeout=120)
    assert killed.returncode == -9
    st = json.loads(cli(["status", "--json"], tmp_path).stdout.strip().splitlines()[-1])
    assert [(r["role"], r["status"]) for r in st["runs"]] == [("import", "interrupted")]
    assert "interrupted" in cli(["status"], tmp_path).stdout


class FeedHandler(QuietHandler):
    def do_GET(self) -> None:
        send(self, 200, (REPO / "tests" / "fixtures" / "rss" / "rss2sample.xml").read_bytes(),
             content_type="application/rss+xml")


def test_verbose_logs_carry_no_url_query_or_secret(tmp_path: Path) -> None:
    token = "feedtoken-SHOULD-NOT-LEAK-42"
    bearer = "bearer-SHOULD-NOT-LEAK-99"
    with LocalServer(FeedHandler) as server:
        feed = f"{server.url}/feed.xml?token={token}"
        (tmp_path / "brandpulse.toml").write_text(
            f"[[brands]]\nname = 'Liftoff'\n[sources.rss]\nfeeds = ['{feed}']\n", encoding="utf-8")
        res = cli(["-v", "collect", "--source", "rss"], tmp_path, {"X_BEARER_TOKEN": bearer})
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "/feed.xml?[redacted]" in res.stderr  # httpx logged the request, without its query string
    assert token not in out and bearer not in out


def test_the_filter_redacts_secret_env_values_and_query_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "pw-abcdef-123")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "login with %s at %s failed", (
        "pw-abcdef-123", "https://hooks.example/services/T?sig=s3cret&x=1#frag"), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "login with [redacted] at https://hooks.example/services/T?[redacted]#frag failed"


def test_help_texts_show_no_emoji() -> None:
    from tests.test_cli import COMMANDS

    runner = CliRunner()
    for cmd in COMMANDS:
        res = runner.invoke(app, [*cmd, "--help"])
        assert res.exit_code == 0
        assert not [ch for ch in res.output if ord(ch) >= 0x1F000], cmd
