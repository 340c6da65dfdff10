"""docker-compose.yml and the Dockerfile say what the README's "Running at scale" promises: every service runs a real
brandpulse command with options that exist, the workers are `run` roles, the dashboard (listening beyond loopback)
cannot start without a password, secrets come from .env only, torch is pinned and installed before the project at
the locked versions. (Building the images needs Docker Hub, which this sandbox cannot reach.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from brandpulse.cli import app
from brandpulse.errors import ConfigError
from brandpulse.serve import check_access
from brandpulse.service import ROLES
from listener.registry import get_collector_class
from tests.conftest import REPO

COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
BRANDPULSE = {name: s for name, s in SERVICES.items() if s.get("image") == "brandpulse:latest"}


def test_the_services_are_the_documented_processes() -> None:
    assert set(SERVICES) == {"postgres", "migrate", "collector", "scorer", "alerts", "dashboard"}
    roles = {name: s["command"][s["command"].index("--role") + 1] for name, s in BRANDPULSE.items()
             if s["command"][0] == "run"}
    assert roles == {"collector": "collect", "scorer": "score", "alerts": "alerts"} and set(roles.values()) <= set(ROLES)
    assert BRANDPULSE["migrate"]["command"][:2] == ["db", "upgrade"]
    assert BRANDPULSE["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("collector", "scorer", "alerts", "dashboard"):
        assert BRANDPULSE[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("service", ["migrate", "collector", "scorer", "alerts", "dashboard"])
def test_each_service_command_is_a_real_cli_command(service: str) -> None:
    res = CliRunner().invoke(app, [*BRANDPULSE[service]["command"], "--help"])
    assert res.exit_code == 0, res.output  # an unknown command or option fails here


def test_the_dashboard_needs_its_password_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    env = BRANDPULSE["dashboard"]["environment"]
    assert env["BRANDPULSE_DASHBOARD__HOST"] == "0.0.0.0"
    assert "BRANDPULSE_DASHBOARD_PASSWORD:?" in env["BRANDPULSE_DASHBOARD_PASSWORD"]  # compose refuses without it
    assert all(p.startswith("127.0.0.1:") for p in BRANDPULSE["dashboard"]["ports"])
    monkeypatch.delenv("BRANDPULSE_DASHBOARD_PASSWORD", raising=False)
    monkeypatch.delenv("BRANDPULSE_SECRETS_FILE", raising=False)
    with pytest.raises(ConfigError, match="refusing to start"):
        check_access(env["BRANDPULSE_DASHBOARD__HOST"], cwd=REPO / "deploy")
    monkeypatch.setenv("BRANDPULSE_DASHBOARD_PASSWORD", "correct horse battery staple")
    check_access(env["BRANDPULSE_DASHBOARD__HOST"], cwd=REPO / "deploy")


def test_secrets_come_from_the_env_file_which_names_every_credential() -> None:
    example = (REPO / "deploy" / "env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    for source in ("x", "reddit", "mastodon", "bluesky"):
        assert set(get_collector_class(source).secret_env) <= names, source
    assert {"BRANDPULSE_SLACK_WEBHOOK_URL", "POSTGRES_PASSWORD", "BRANDPULSE_DASHBOARD_PASSWORD"} <= names
    assert re.findall(r"^[A-Z_]+=(.+)$", example, re.M) == ["2"]  # no value but the worker count
    assert "/.env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()
    for s in BRANDPULSE.values():
        assert s["env_file"] == ".env"
        assert all("password" not in str(v).lower() or "${" in str(v) for v in s.get("environment", {}).values())


def test_the_image_pins_torch_first_and_installs_the_locked_versions() -> None:
    steps = [line for line in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines() if line.startswith("RUN")]
    torch = next(i for i, s in enumerate(steps) if "torch==2.13.0" in s)
    project = next(i for i, s in enumerate(steps) if "-c requirements.lock ." in s)
    assert torch < project and "download.pytorch.org/whl/cpu" in steps[torch]
    assert "brandpulse model install" in steps[project]  # no model download when a container starts
