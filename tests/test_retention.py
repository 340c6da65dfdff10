"""Privacy on SQLite and PostgreSQL: `[store] retention_days` purges old raw payloads (store function, `db purge`,
the service loop), and a platform deletion removes every trace of the post with the rollups equal to a recount."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from brandpulse.config import load_settings
from brandpulse.errors import ConfigError
from brandpulse.store.engine import session_scope
from brandpulse.store.labels import save_human_label
from brandpulse.store.mentions import delete_mentions_in, insert_mentions
from brandpulse.store.retention import purge_raw_payloads
from brandpulse.store.schema import AlertEvidenceRow, HumanLabelRow, MentionRow, ScoreRow
from tests.conftest import REPO, make_mention
from tests.seed import seed_week
from tests.test_forget import _recount, _rollups, _strings

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _raws(engine: Engine) -> dict[str, object]:
    with session_scope(engine) as s:
        return {r.native_id: r.raw for r in s.execute(select(MentionRow.native_id, MentionRow.raw))}


def _seed_ages(engine: Engine) -> None:
    ms = []
    for i, age_days in enumerate([1, 10, 29, 31, 45, 400]):
        m = make_mention(i, hours=0)
        ms.append(dataclasses.replace(m, created_at=NOW - timedelta(days=age_days),
                                      raw={"id": str(i), "user": {"email": f"u{i}@example.org"}}))
    insert_mentions(engine, ms)


def test_purge_drops_only_old_raw_payloads_and_keeps_the_rest(engine: Engine) -> None:
    _seed_ages(engine)
    assert purge_raw_payloads(engine, 30, now=NOW) == 3
    raws = _raws(engine)
    assert {k for k, v in raws.items() if v is None} == {"3", "4", "5"}
    assert raws["0"] == {"id": "0", "user": {"email": "u0@example.org"}}
    with session_scope(engine) as s:  # the mention itself (text, author) stays
        assert len(list(s.scalars(select(MentionRow.text)))) == 6
        # SQL NULL, not a JSON 'null' string
        assert s.scalar(text("SELECT COUNT(*) FROM mentions WHERE raw IS NULL")) == 3
    assert purge_raw_payloads(engine, 30, now=NOW) == 0  # idempotent
    with pytest.raises(ValueError):
        purge_raw_payloads(engine, 0)


def test_retention_days_is_validated_and_unset_by_default(tmp_path: Path) -> None:
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text("", encoding="utf-8")
    assert load_settings(cfg).store.retention_days is None
    cfg.write_text("[store]\nretention_days = 30\n", encoding="utf-8")
    assert load_settings(cfg).store.retention_days == 30
    cfg.write_text("[store]\nretention_days = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="retention_days"):
        load_settings(cfg)


def _cli(args: list[str], cwd: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BRANDPULSE_CONFIG",)}
    env.update(BRANDPULSE_DATABASE_URL=db_url, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "brandpulse", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


def test_db_purge_command(engine: Engine, db_url: str, tmp_path: Path) -> None:
    ms = [dataclasses.replace(make_mention(i), created_at=datetime.now(UTC) - timedelta(days=d), raw={"k": i})
          for i, d in enumerate([2, 50])]
    insert_mentions(engine, ms)
    (tmp_path / "brandpulse.toml").write_text("", encoding="utf-8")
    res = _cli(["db", "purge"], tmp_path, db_url)
    assert res.returncode != 0 and "retention_days" in res.stderr + res.stdout and "Traceback" not in res.stderr
    assert _raws(engine) == {"0": {"k": 0}, "1": {"k": 1}}
    (tmp_path / "brandpulse.toml").write_text("[store]\nretention_days = 7\n", encoding="utf-8")
    res = _cli(["db", "purge"], tmp_path, db_url)
    assert res.returncode == 0, res.stderr
    assert "1 mention" in res.stdout
    assert _raws(engine) == {"0": {"k": 0}, "1": None}
    res = _cli(["db", "purge", "--days", "1"], tmp_path, db_url)
    assert res.returncode == 0 and _raws(engine) == {"0": None, "1": None}


def test_the_service_loop_purges_on_schedule(engine: Engine, db_url: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from brandpulse import service
    from brandpulse.context import Context

    ms = [dataclasses.replace(make_mention(i), created_at=datetime.now(UTC) - timedelta(days=d), raw={"k": i})
          for i, d in enumerate([2, 50])]
    insert_mentions(engine, ms)
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text("[store]\nretention_days = 7\n", encoding="utf-8")
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", db_url)
    calls: list[int] = []
    real = purge_raw_payloads

    def counting(eng: Engine, days: int) -> int:
        calls.append(days)
        return real(eng, days)

    monkeypatch.setattr("brandpulse.store.retention.purge_raw_payloads", counting)
    monkeypatch.setattr("sentiment.stage.score_pending", lambda *_a, **_k: 0)
    ctx = Context(config_file=cfg, overrides={}, require_file=True, option_names={})
    monkeypatch.setattr(Context, "scorer", property(lambda _self: None))
    stop = threading.Event()
    t = threading.Thread(target=service.run_service, args=(ctx, "score"), kwargs={"stop": stop}, daemon=True)
    t.start()
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while _raws(engine)["1"] is not None and datetime.now(UTC) < deadline:
        threading.Event().wait(0.2)
    stop.set()
    t.join(timeout=20)
    assert _raws(engine) == {"0": {"k": 0}, "1": None}
    assert calls == [7]  # once per PURGE_EVERY_S, not on every scoring pass


def test_platform_deletion_removes_every_trace_and_keeps_rollups_exact(engine: Engine) -> None:
    seed_week(engine)
    with session_scope(engine) as s:
        victim = s.execute(
            select(MentionRow.id, MentionRow.platform, MentionRow.native_id, MentionRow.text, MentionRow.url)
            .join(AlertEvidenceRow, AlertEvidenceRow.mention_id == MentionRow.id)
            .where(AlertEvidenceRow.kind == "post").order_by(AlertEvidenceRow.rank)
        ).first()
        assert victim is not None  # the alert's evidence quotes this post
        lone = s.execute(select(MentionRow.id, MentionRow.platform, MentionRow.native_id)
                         .where(MentionRow.id != victim.id).order_by(MentionRow.id.desc())).first()
        assert lone is not None
    save_human_label(engine, victim.id, sentiment="neutral")
    with session_scope(engine) as s:
        n = delete_mentions_in(s, [(victim.platform, victim.native_id), (lone.platform, lone.native_id),
                                   (victim.platform, victim.native_id), ("x", "never-stored")])
    assert n == 2
    assert _rollups(engine) == _recount(engine)
    with session_scope(engine) as s:
        for model, col in ((ScoreRow, ScoreRow.mention_id), (HumanLabelRow, HumanLabelRow.mention_id),
                           (AlertEvidenceRow, AlertEvidenceRow.mention_id), (MentionRow, MentionRow.id)):
            assert s.scalars(select(model).where(col.in_([victim.id, lone.id]))).all() == [], model
    with engine.connect() as conn:  # the post's text is nowhere (alerts' evidence JSON included)
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                assert victim.text.lower() not in {v.lower() for cell in row for v in _strings(cell)}, table


def test_rollups_equal_a_recount_after_deleting_whole_hours(engine: Engine) -> None:
    seed_week(engine)
    with session_scope(engine) as s:
        keys = [(r.platform, r.native_id) for r in s.execute(
            select(MentionRow.platform, MentionRow.native_id).where(MentionRow.brand == "Orbita").limit(40))]
    with session_scope(engine) as s:
        assert delete_mentions_in(s, keys) == 40
    assert _rollups(engine) == _recount(engine)
    with session_scope(engine) as s:  # rows that reached zero are gone, as a recount has none
        assert s.scalar(text("SELECT COUNT(*) FROM rollups_hourly WHERE count = 0")) == 0
