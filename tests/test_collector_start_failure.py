"""A source that cannot start (a missing credential, a refused login) is that source's health problem, never the
others': `collect` stores what the other sources bring and exits 1 naming it; `run` keeps retrying it with backoff and
starts it once it can (listener.unstarted, brandpulse.collecting, listener.runner.follow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandpulse.collecting import build_collectors
from brandpulse.config import BrandConfig, Settings
from brandpulse.errors import ConfigError, CredentialsError
from brandpulse.store.cursors import source_health
from brandpulse.store.engine import make_engine
from brandpulse.store.migrate import upgrade
from listener.base import Collector
from listener.registry import get_collector_class
from listener.runner import follow
from listener.unstarted import UnstartedSource
from tests.fakeserver import collect_cli, stored_mentions


def _replay_csv(tmp_path: Path, n: int, first: int = 0) -> Path:
    data = tmp_path / f"replay{first}.csv"
    data.write_text("id,created_at,author,text,brand\n" + "".join(
        f"{i},2026-11-02T10:{i % 60:02d}:00Z,u{i},Acme post {i},Acme\n" for i in range(first, first + n)),
        encoding="utf-8")
    return data


@pytest.fixture
def no_x_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.delenv("BRANDPULSE_SECRETS_FILE", raising=False)


def test_collect_stores_the_other_sources_when_one_lacks_its_credential(
    no_x_token: None, db_url: str, tmp_path: Path
) -> None:
    cfg = ('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n\n[sources.x]\n\n'
           f'[sources.replay]\npath = "{_replay_csv(tmp_path, 25)}"\n')
    res = collect_cli(tmp_path, cfg, db_url)
    assert res.exit_code == 1
    assert "x:" in res.output and "X_BEARER_TOKEN" in res.output  # says which source and what to set
    assert len(stored_mentions(db_url)) == 25
    eng = make_engine(db_url)
    try:
        health = {h.source: h for h in source_health(eng)}
        assert health["x"].last_error and "X_BEARER_TOKEN" in health["x"].last_error
        assert health["replay"].error_count == 0 and health["replay"].last_success is not None
    finally:
        eng.dispose()


def test_a_bad_option_is_still_a_config_error_before_anything_runs(no_x_token: None) -> None:
    settings = Settings(brands=[BrandConfig(name="Acme", keywords=["acme"])], sources={"x": {"modee": "stream"}})
    with pytest.raises(ConfigError, match="modee"):  # the credential is missing too: the typo is reported first
        build_collectors(settings)
    built = build_collectors(Settings(brands=[BrandConfig(name="Acme", keywords=["acme"])], sources={"x": {}}))
    assert len(built) == 1 and isinstance(built[0], UnstartedSource) and built[0].name == "x"


def test_follow_retries_an_unstarted_source_and_starts_it_when_it_can(db_url: str, tmp_path: Path) -> None:
    settings = Settings(brands=[BrandConfig(name="Acme", languages=[])], sources={})
    replay_cls = get_collector_class("replay")
    attempts: list[int] = []

    def start() -> list[Collector]:
        attempts.append(1)
        if len(attempts) < 3:  # the credential appears before the third try
            raise CredentialsError("late: set LATE_TOKEN")
        built = replay_cls.from_config({"path": str(_replay_csv(tmp_path, 7, first=100))}, settings)
        return built if isinstance(built, list) else [built]

    try:
        start()
    except CredentialsError as exc:
        late = UnstartedSource.of("late", exc, start)
    on_time = replay_cls.from_config({"path": str(_replay_csv(tmp_path, 5))}, settings)
    collectors = [late, *(on_time if isinstance(on_time, list) else [on_time])]
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        # the late one's health is recorded while it cannot start
        follow(engine, collectors, interval_s=0.01, max_rounds=1)
        health = {h.source: h for h in source_health(engine)}
        assert health["late"].last_error and "LATE_TOKEN" in health["late"].last_error
        assert len(stored_mentions(db_url)) == 5  # the other source was not held up
        assert len(attempts) == 2

        follow(engine, [late], interval_s=0.01, max_rounds=3)  # third try starts it; its collector then runs
        assert len(attempts) == 3
        assert len(stored_mentions(db_url)) == 5 + 7
        health = {h.source: h for h in source_health(engine)}
        assert health["late"].last_success is not None and health["late"].last_success > health["late"].last_error_at
    finally:
        engine.dispose()
