"""The Mentions feed, Sources page and sign-in with Streamlit's AppTest on a seeded store (SQLite and PostgreSQL),
and the serve command's refusal to listen beyond this machine without sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from brandpulse.errors import ConfigError
from brandpulse.serve import PASSWORD_SECRET, check_access, dashboard_command
from tests.conftest import REPO
from tests.seed import seed_week

APP = str(REPO / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.delenv(PASSWORD_SECRET, raising=False)
    monkeypatch.delenv("BRANDPULSE_SECRETS_FILE", raising=False)


def _config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text(extra + "\n[[brands]]\nname='Nimbus'\n[[brands]]\nname='Orbita'\n", encoding="utf-8")
    return cfg


@pytest.fixture
def seeded(engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    seed_week(engine)
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", db_url)
    monkeypatch.setenv("BRANDPULSE_CONFIG", str(_config(tmp_path)))
    return db_url


def _mentions_page(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"page": "Mentions", **params})
    return at.run()


def test_mentions_feed_filters_from_a_shared_url_and_sorts_by_reach(seeded: str) -> None:
    at = _mentions_page(brand="Nimbus", sentiment="negative", q="OUTAGE", sort="reach")
    assert not at.exception
    assert at.selectbox(key="m_label").value == "negative" and at.text_input(key="m_text").value == "OUTAGE"
    table = at.dataframe[0].value
    assert len(table) == 12  # the Nimbus episode's posts, and only those
    assert table["text"].str.contains("outage").all() and table["label"].eq("negative").all()
    assert table["author_followers"].is_monotonic_decreasing
    assert table["author"].str.startswith("https://x.com/").all()  # each row links to its author
    at.text_input(key="m_author").set_value("a3").run()
    assert set(at.dataframe[0].value["author_handle"]) == {"a3"}
    assert at.query_params["author"] == "a3" and at.query_params["sentiment"] == "negative"


def test_mentions_feed_pages_older_and_newer_without_repeats(seeded: str) -> None:
    at = _mentions_page()
    at.number_input(key="m_limit").set_value(10).run()
    first = at.dataframe[0].value["id"].tolist()
    oldest_shown = at.dataframe[0].value["created_at"].min()
    at.button(key="m_older").click().run()
    second = at.dataframe[0].value["id"].tolist()
    assert not at.exception and len(second) == 10 and not set(first) & set(second)
    assert at.dataframe[0].value["created_at"].max() <= oldest_shown
    at.button(key="m_newer").click().run()
    assert at.dataframe[0].value["id"].tolist() == first


def test_sources_page_shows_health_with_the_secret_redacted_and_hourly_volume(seeded: str, engine) -> None:
    from brandpulse.store.cursors import record_health

    record_health(engine, "rss", "feed", ok=False, error="GET https://example.org/feed?token=s3cr3tvalue failed: 503")
    record_health(engine, "x", "Nimbus", ok=True, lag_seconds=12.0, details={"rate_limit_remaining": 40})
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["page"] = "Sources"
    at.run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("source")
    assert table.loc["rss", "status"] == "failing" and table.loc["x", "status"] == "ok"
    assert "503" in table.loc["rss", "last_error"] and "s3cr3tvalue" not in table.loc["rss", "last_error"]
    assert table.loc["x", "rate_limit_remaining"] == 40 and table.loc["x", "lag_s"] == 12.0
    assert [c.key for c in at.get("plotly_chart")] == ["sources_volume_chart"]


def _data_elements(at: AppTest) -> int:
    return len(at.dataframe) + len(at.metric) + len(at.get("plotly_chart")) + len(at.text)


def test_a_signed_out_visitor_sees_no_data_until_the_password_is_right(seeded: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_SECRET, "correct horse")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and _data_elements(at) == 0 and not at.error
    at.text_input(key="signin_password").set_value("wrong")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong password." and _data_elements(at) == 0
    at.text_input(key="signin_password").set_value("correct horse")
    at.button[0].click().run()
    assert not at.exception and at.title[0].value == "Overview" and len(at.metric) > 0


def test_bound_beyond_this_machine_without_sign_in_the_app_shows_nothing(seeded: str, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDPULSE_CONFIG", str(_config(tmp_path, "[dashboard]\nhost = '0.0.0.0'")))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and _data_elements(at) == 0
    assert "Sign-in is not configured" in at.error[0].value


def test_serve_refuses_a_public_address_unless_sign_in_is_configured(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    for host in ("127.0.0.1", "localhost", "::1"):
        check_access(host, tmp_path)
    for host in ("0.0.0.0", "192.168.1.5", "::"):
        with pytest.raises(ConfigError, match="refusing to start"):
            check_access(host, tmp_path)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        "[auth]\nredirect_uri='http://x/oauth2callback'\ncookie_secret='c'\nclient_id='id'\nclient_secret='s'\n"
        "server_metadata_url='https://accounts.google.com/.well-known/openid-configuration'\n", encoding="utf-8")
    check_access("0.0.0.0", tmp_path)  # OpenID Connect sign-in configured
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"{PASSWORD_SECRET}=pw\n", encoding="utf-8")
    secrets.chmod(0o600)
    monkeypatch.setenv("BRANDPULSE_SECRETS_FILE", str(secrets))
    check_access("0.0.0.0", tmp_path / "elsewhere")  # a password in the secrets file
    cmd = dashboard_command("127.0.0.1", 8501)
    assert cmd[cmd.index("--client.toolbarMode") + 1] == "viewer"


def test_the_dashboard_command_refuses_before_starting_streamlit(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in (PASSWORD_SECRET, "BRANDPULSE_SECRETS_FILE", "BRANDPULSE_CONFIG")}
    env.update(HOME=str(tmp_path), BRANDPULSE_DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}", PYTHONPATH=str(REPO))
    cfg = _config(tmp_path, "[dashboard]\nhost = '0.0.0.0'")
    proc = subprocess.run([sys.executable, "-m", "brandpulse", "dashboard", "--config", str(cfg)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "refusing to start" in proc.stderr and "Traceback" not in proc.stderr
    assert "dashboard: http" not in proc.stdout
