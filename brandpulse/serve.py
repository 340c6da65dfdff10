"""Starting the Streamlit dashboard as a child process on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from brandpulse.config import Settings

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def dashboard_command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
    ]


def dashboard_env(settings: Settings, config_file: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["BRANDPULSE_DATABASE_URL"] = settings.database_url
    if config_file:
        env["BRANDPULSE_CONFIG"] = str(Path(config_file).resolve())
    return env


def run_dashboard(settings: Settings, *, port: int | None = None, config_file: Path | None = None) -> int:
    """Serve the dashboard. On POSIX this process becomes Streamlit (exec), so signals reach it directly."""
    host = settings.dashboard.host
    port = port or settings.dashboard.port
    print(f"dashboard: http://{host}:{port}  (Ctrl-C to stop)", flush=True)
    cmd, env = dashboard_command(host, port), dashboard_env(settings, config_file)
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(cmd[0], cmd, env)
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait(timeout=10)
