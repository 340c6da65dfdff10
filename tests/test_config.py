"""Config: precedence (CLI > environment > file), clear errors naming the key, secrets only from env."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandpulse.config import load_settings, secret
from brandpulse.errors import ConfigError, CredentialsError
from brandpulse.init_template import CONFIG_TEMPLATE


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "brandpulse.toml"
    p.write_text(body, encoding="utf-8")
    return p


def test_init_template_is_valid_and_complete(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, CONFIG_TEMPLATE))
    assert [b.name for b in s.brands] == ["Acme", "Globex"]
    assert s.database_url == f"sqlite:///{tmp_path / 'brandpulse.db'}"  # relative to the config file
    assert s.alerts.rules["negativity_spike"]["baseline_hours"] == 72


def test_precedence_cli_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "[model]\nbatch_size = 8\nmax_length = 64\n")
    assert load_settings(p).model.batch_size == 8
    monkeypatch.setenv("BRANDPULSE_MODEL__BATCH_SIZE", "16")
    s = load_settings(p)
    assert (s.model.batch_size, s.model.max_length) == (16, 64)
    assert load_settings(p, model={"batch_size": 64}).model.batch_size == 64


def test_database_url_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    assert load_settings(write(tmp_path, "")).database_url == "postgresql+psycopg://u@127.0.0.1/db"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[model]\nbatch_size = 0\n", "model.batch_size: Input should be greater than or equal to 1"),
        ("[alerts]\nbaseline_hour = 5\n", "alerts.baseline_hour: unknown key"),
        ("[[brands]]\nkeywords = ['x']\n", "brands.0.name: Field required"),
        ("[store\n", "is not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, body))
    assert expected in str(exc.value)
    assert "brandpulse init" in str(exc.value)


def test_bad_environment_value_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDPULSE_MODEL__BATCH_SIZE", "lots")
    with pytest.raises(ConfigError, match="BRANDPULSE_MODEL__BATCH_SIZE"):
        load_settings(write(tmp_path, ""))


def test_secrets_come_from_env_or_secrets_file_and_never_print(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    with pytest.raises(CredentialsError, match="X_BEARER_TOKEN is not set"):
        secret("X_BEARER_TOKEN")
    f = tmp_path / "secrets.env"
    f.write_text("X_BEARER_TOKEN=from-file-AAAA\n", encoding="utf-8")
    f.chmod(0o600)
    monkeypatch.setenv("BRANDPULSE_SECRETS_FILE", str(f))
    tok = secret("X_BEARER_TOKEN")
    assert tok is not None and tok.get_secret_value() == "from-file-AAAA"
    assert "AAAA" not in repr(tok) and "AAAA" not in str(tok)
    monkeypatch.setenv("X_BEARER_TOKEN", "from-env-BBBB")
    assert secret("X_BEARER_TOKEN").get_secret_value() == "from-env-BBBB"


def test_secrets_in_the_config_file_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"slack\.webhook_url: unknown key"):
        load_settings(write(tmp_path, "[slack]\nwebhook_url = 'https://hooks.slack.com/services/T/B/X'\n"))


def test_a_competitor_without_its_own_brand_table_is_watched_by_its_name(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, CONFIG_TEMPLATE.replace('competitors = ["Globex"]',
                                                              'competitors = ["Globex", "Initech"]')))
    assert [b.name for b in s.brands] == ["Acme", "Globex", "Initech"]
    assert s.brand("Globex").handles == ["globex"]  # configured competitors keep their own table
    initech = s.brand("initech")
    assert (initech.keywords, initech.handles, initech.query) == (["Initech"], [], None)
    s = load_settings(write(tmp_path, "[[brands]]\nname = 'A'\ncompetitors = ['B', 'b', 'A']\n"
                                      "[[brands]]\nname = 'C'\ncompetitors = ['B']\n"))
    assert [b.name for b in s.brands] == ["A", "C", "B"]


def test_retired_sections_say_they_are_not_used_yet(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        s = load_settings(write(tmp_path, "[slack]\n# dashboard_url = 'x'\n[crm]\n"))
    assert not hasattr(s, "slack") and not hasattr(s, "crm")
    assert "[slack] section is not used yet" in caplog.text and "[crm] section is not used yet" in caplog.text
    with pytest.raises(ConfigError, match=r"crm\.kind: unknown key \(the \[crm\] section is not used yet"):
        load_settings(write(tmp_path, "[crm]\nkind = 'csv'\n"))


@pytest.mark.parametrize(("name", "value"), [("BRANDPULSE_MODEL", "abc"), ("BRANDPULSE_BRANDS", "notjson")])
def test_an_environment_value_that_is_not_json_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name} is not valid JSON"):
        load_settings(write(tmp_path, ""))


def test_the_config_path_is_not_passed_through_the_environment(tmp_path: Path) -> None:
    import os
    import threading

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write(a, "[model]\nbatch_size = 3\n")
    write(b, "[model]\nbatch_size = 5\n")
    before = dict(os.environ)
    got: dict[str, int] = {}

    def load(d: Path) -> None:
        for _ in range(20):
            got[d.name] = load_settings(d / "brandpulse.toml").model.batch_size
            assert got[d.name] == (3 if d == a else 5)

    threads = [threading.Thread(target=load, args=(d,)) for d in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == {"a": 3, "b": 5}
    assert dict(os.environ) == before


def test_a_missing_config_file_is_an_error_only_when_required(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.toml").brands == []
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "none.toml", require_file=True)


def test_an_invalid_command_line_override_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--batch-size: Input should be greater than or equal to 1"):
        load_settings(write(tmp_path, ""), option_names={"model.batch_size": "--batch-size"}, model={"batch_size": 0})
    assert load_settings(write(tmp_path, "[model]\nmax_length = 64\n"), model={"batch_size": 7}).model.max_length == 64
