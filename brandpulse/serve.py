"""Starting the Streamlit dashboard as a child process; bound to 127.0.0.1 unless sign-in is configured."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from brandpulse.config import Settings, secret
from brandpulse.errors import ConfigError

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
#: The dashboard's password, from the environment or the secrets file (compared in constant time).
PASSWORD_SECRET = "BRANDPULSE_DASHBOARD_PASSWORD"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def streamlit_secrets_files(cwd: Path | None = None) -> list[Path]:
    """Where Streamlit reads st.secrets from (the global file, then the project's)."""
    return [Path.home() / ".streamlit" / "secrets.toml", (cwd or Path.cwd()) / ".streamlit" / "secrets.toml"]


def oidc_configured(cwd: Path | None = None) -> bool:
    """True when a Streamlit secrets file has an [auth] section (st.login with an OpenID Connect provider)."""
    for path in streamlit_secrets_files(cwd):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        auth = data.get("auth")
        if isinstance(auth, dict) and (auth.get("client_id")
                                       or any(isinstance(v, dict) and v.get("client_id") for v in auth.values())):
            return True
    return False


def password_configured() -> bool:
    return secret(PASSWORD_SECRET, required=False) is not None


def signin_configured(cwd: Path | None = None) -> bool:
    return password_configured() or oidc_configured(cwd)


def check_access(host: str, cwd: Path | None = None) -> None:
    """Refuse to listen beyond this machine without sign-in: a ConfigError that says how to fix it."""
    if is_loopback(host) or signin_configured(cwd):
        return
    raise ConfigError(
        f"[dashboard] host = {host!r} would let anyone who can reach this machine read the dashboard, "
        "and no sign-in is configured; refusing to start.",
        hint=f"Set {PASSWORD_SECRET} in the secrets file (BRANDPULSE_SECRETS_FILE), or configure Streamlit's "
             "OpenID Connect sign-in ([auth] in .streamlit/secrets.toml), or keep host = \"127.0.0.1\".",
    )


def dashboard_command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
        # no developer menu, no "Deploy" button: the PR team gets a viewer's toolbar
        "--client.toolbarMode", "viewer",
        # tables hold raw post text: no "Download as CSV" (a post like =HYPERLINK(…) would become a live formula in
        # a spreadsheet) and no bulk copy; the advocate exports have their own, formula-safe downloads
        "--client.disableDataExport", "true",
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
    check_access(host)
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
