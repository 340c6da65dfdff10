"""Secrets never leak: the CLI runs with fake credentials set, failures are forced (a fake API answering 401, an
unreachable webhook, platforms that cannot be reached), and every captured output, every stored row and every exported
file is searched for the secret values. Also: reprs, and a secrets file other users can read is refused."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from brandpulse.config import load_settings, secret
from brandpulse.errors import ConfigError
from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.migrate import upgrade
from brandpulse.store.outbox import enqueue_in
from brandpulse.store.schema import AlertRow
from tests.conftest import REPO
from tests.fakeserver import JSON, LocalServer, QuietHandler
from tests.seed import seed_week

WEBHOOK_TOKEN = "T0FAKE/B0FAKE/hookpathsecret9d41c2"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PORT = _closed_port()
SECRETS = {
    "X_BEARER_TOKEN": "AAAAxbearer-secret-51c0ffee",
    "REDDIT_CLIENT_ID": "redditid-secret-7a1b",
    "REDDIT_CLIENT_SECRET": "redditsecret-secret-9e2d",
    "REDDIT_USER_AGENT": "brandpulse-test-agent",
    "MASTODON_ACCESS_TOKEN": "mastotoken-secret-3f8e",
    "BLUESKY_HANDLE": "tester.bsky.social",
    "BLUESKY_APP_PASSWORD": "bsky-apppw-secret-4c2a",
    "BRANDPULSE_SLACK_WEBHOOK_URL": f"http://127.0.0.1:{PORT}/services/{WEBHOOK_TOKEN}",
    "BRANDPULSE_DESTINATION_OPS_URL": f"http://127.0.0.1:{PORT}/ops/opsurl-secret-0b7d",
    "BRANDPULSE_DESTINATION_OPS_SECRET": "opshmac-secret-6d1e",
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-hubspot-secret-2b9f",
    "SALESFORCE_USERNAME": "ops@example.org",
    "SALESFORCE_PASSWORD": "sfpassword-secret-8a3c",
    "SALESFORCE_SECURITY_TOKEN": "sftoken-secret-1d4e",
}
#: The values that must never appear (user agent, handle and user name are not secret); plus the webhook's token path.
NEEDLES = [v for k, v in SECRETS.items() if k not in ("REDDIT_USER_AGENT", "BLUESKY_HANDLE", "SALESFORCE_USERNAME")]
NEEDLES += [WEBHOOK_TOKEN, "hookpathsecret9d41c2", "opsurl-secret-0b7d"]


class Unauthorized(QuietHandler):
    """Every request refused the way Mastodon refuses a bad token (401 + JSON error)."""

    def do_GET(self) -> None:
        self.server.auth_headers.append(self.headers.get("Authorization", ""))  # type: ignore[attr-defined]
        body = json.dumps({"error": "The access token is invalid"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", JSON)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


EXPORT = ["advocates", "export", "--brand", "Nimbus", "--since", "2026-01-01"]


def _leaks(blob: str) -> list[str]:
    return [n for n in NEEDLES if n in blob]


@pytest.fixture
def project(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, dict[str, str], Engine, LocalServer]]:
    server = LocalServer(Unauthorized, auth_headers=[]).start()
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text(f"""
[[brands]]
name = "Nimbus"
keywords = ["nimbus"]

[sources.x]
max_retries = 0
max_rate_limit_waits = 0

[sources.mastodon]
instances = ["{server.url}"]
search = true
max_pages = 1

[delivery]
max_attempts = 1
[delivery.destinations.slack]
type = "slack"
[delivery.destinations.ops]
type = "webhook"
[delivery.routes]
default = {{ slack = "notice", ops = "notice" }}
""", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRANDPULSE_", "X_", "REDDIT_", "MASTODON_",
                                                                   "BLUESKY_", "HUBSPOT_", "SALESFORCE_"))}
    env.update(SECRETS, BRANDPULSE_DATABASE_URL=db_url, BRANDPULSE_CONFIG=str(cfg), PYTHONPATH=str(REPO),
               NO_COLOR="1", COLUMNS="200")
    engine = make_engine(db_url)
    upgrade(engine)
    seed_week(engine)
    with session_scope(engine) as s:
        for alert_id in s.scalars(select(AlertRow.id)):
            enqueue_in(s, alert_id, ["slack", "ops"])
    yield tmp_path, env, engine, server
    server.close()
    engine.dispose()


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("brandpulse")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "brandpulse"]
    return subprocess.run([*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def _table_strings(engine: Engine) -> Iterator[tuple[str, str]]:
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for cell in row:
                    if cell is not None:
                        yield table, cell if isinstance(cell, str) else json.dumps(cell, default=str)


def test_no_secret_in_output_rows_or_exports_when_things_fail(project: tuple[Path, dict[str, str], Engine,
                                                                              LocalServer]) -> None:
    cwd, env, engine, server = project
    outputs: dict[str, str] = {}
    commands = [
        ["status"], ["status", "--json"], ["-v", "status"],
        ["collect", "--source", "x", "--once"], ["-v", "collect", "--source", "x", "--once"],
        ["-v", "collect", "--source", "mastodon", "--once"],
        ["alerts", "send"], ["-v", "alerts", "send", "--json"],
        [*EXPORT, "--format", "csv", "--output", str(cwd / "adv.csv")],
        [*EXPORT, "--format", "xlsx", "--output", str(cwd / "adv.xlsx")],
        ["-v", "status", "--json"],
    ]
    for args in commands:
        res = _run(args, cwd, env)
        outputs[" ".join(args)] = res.stdout + res.stderr
        assert "Traceback" not in res.stderr, (args, res.stderr[-2000:])
    # the failures really happened (otherwise the search proves nothing)
    assert any(h == f"Bearer {SECRETS['MASTODON_ACCESS_TOKEN']}" for h in server.server.auth_headers)  # type: ignore[attr-defined]
    assert "401" in outputs["-v collect --source mastodon --once"] or "refused" in outputs[
        "-v collect --source mastodon --once"].lower() or "invalid" in outputs["-v collect --source mastodon --once"]
    assert "0 sent" in outputs["alerts send"]
    for cmd, out in outputs.items():
        assert _leaks(out) == [], (cmd, out[-3000:])
    for table, value in _table_strings(engine):
        assert _leaks(value) == [], (table, value[:500])
    assert (cwd / "adv.csv").is_file() and (cwd / "adv.xlsx").is_file(), [o for c, o in outputs.items() if "export" in c]
    assert _leaks((cwd / "adv.csv").read_text(encoding="utf-8")) == []
    with zipfile.ZipFile(cwd / "adv.xlsx") as z:
        for name in z.namelist():
            assert _leaks(z.read(name).decode("utf-8", "replace")) == [], name
    for path in cwd.rglob("*"):  # logs or anything else the commands wrote
        if path.is_file() and path.suffix not in (".db", ".xlsx", ".toml") and "-wal" not in path.name:
            assert _leaks(path.read_text(encoding="utf-8", errors="replace")) == [], path


def test_reprs_hold_no_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from alerts.delivery.routing import delivery_config
    from alerts.delivery.sender import build_destination

    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text('[delivery.destinations.slack]\ntype = "slack"\n[delivery.destinations.ops]\ntype = "webhook"\n',
                   encoding="utf-8")
    settings = load_settings(cfg)
    assert _leaks(repr(settings)) == [] and _leaks(str(settings)) == []
    dcfg = delivery_config(settings)
    for name in ("slack", "ops"):
        dest = build_destination(name, dcfg)
        assert dest is not None
        assert _leaks(repr(dest)) == [] and _leaks(str(dest)) == [] and _leaks(repr(vars(dest))) == [], name
    token = secret("X_BEARER_TOKEN")
    assert token is not None and _leaks(repr(token)) == [] and _leaks(f"{token}") == []


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_secrets_file_other_users_can_read_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        mode: int) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("X_BEARER_TOKEN=from-the-file-secret\n", encoding="utf-8")
    path.chmod(mode)
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.setenv("BRANDPULSE_SECRETS_FILE", str(path))
    with pytest.raises(ConfigError) as err:
        secret("X_BEARER_TOKEN")
    assert f"chmod 600 {path}" in str(err.value)
    assert "from-the-file-secret" not in str(err.value)
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    value = secret("X_BEARER_TOKEN")
    assert value is not None and value.get_secret_value() == "from-the-file-secret"


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_cli_refuses_a_readable_secrets_file_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("X_BEARER_TOKEN=readablesecret\n", encoding="utf-8")
    path.chmod(0o644)
    (tmp_path / "brandpulse.toml").write_text('[[brands]]\nname = "Nimbus"\nkeywords = ["nimbus"]\n[sources.x]\n',
                                              encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRANDPULSE_", "X_"))}
    env.update(BRANDPULSE_SECRETS_FILE=str(path), PYTHONPATH=str(REPO), BRANDPULSE_CONFIG=str(tmp_path / "brandpulse.toml"),
               COLUMNS="300")
    res = _run(["collect", "--source", "x", "--once"], tmp_path, env)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "chmod 600" in out and "Traceback" not in out, out
    assert "readablesecret" not in out
