"""The advocates, crm, forget and bench link commands end to end on a SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from brandpulse.cli import app
from brandpulse.cli.advocates import parse_since
from brandpulse.errors import InputError
from brandpulse.store.engine import make_engine
from brandpulse.store.migrate import upgrade
from tests.test_advocates_rank import seed_advocates

runner = CliRunner()
TOML = """
[store]
database_url = "sqlite:///store.db"

[[brands]]
name = "Nimbus"
handles = ["@NimbusHQ"]
competitors = ["Orbita"]

[[brands]]
name = "Orbita"
handles = ["https://x.com/OrbitaOfficial"]

[advocates]
opt_out = ["x:one_post_oleg"]
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "brandpulse.toml"
    p.write_text(TOML, encoding="utf-8")
    eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(eng)
    seed_advocates(eng)
    eng.dispose()
    return p


def test_rank_export_link_forget(cfg: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["advocates", "rank", "--brand", "Nimbus", "-c", str(cfg), "--json"])
    assert r.exit_code == 0, r.output
    ranked = json.loads(r.output.strip().splitlines()[-1])
    assert ranked[0]["author"] == "x:fan_anna" and ranked[0]["reasons"]["matching_posts"] == 12
    assert "x:one_post_oleg" not in [x["author"] for x in ranked]  # opted out in config
    out = tmp_path / "adv.xlsx"
    r = runner.invoke(app, ["advocates", "export", "--brand", "Nimbus", "-c", str(cfg), "--format", "xlsx",
                            "--output", str(out), "--limit", "2"])
    assert r.exit_code == 0, r.output
    ws = load_workbook(out).active
    assert ws is not None and ws.max_row == 3 and ws.cell(row=2, column=2).value == "x:fan_anna"

    contacts = tmp_path / "contacts.csv"
    contacts.write_text("Record ID,Full Name,Twitter\nc1,Anna Fan,https://twitter.com/Fan_Anna\n,Broken,\n"
                        "c2,Ivan Angry,\n", encoding="utf-8")
    r = runner.invoke(app, ["crm", "import", "csv", str(contacts), "-c", str(cfg), "--map", "external_id=Record ID"])
    assert r.exit_code == 0 and "imported 2 contacts" in r.output and "line 3" in r.output
    r = runner.invoke(app, ["advocates", "link", "-c", str(cfg)])
    assert r.exit_code == 0 and "linked automatically: 1" in r.output
    r = runner.invoke(app, ["advocates", "rank", "--brand", "Nimbus", "-c", str(cfg), "--json"])
    assert json.loads(r.output.strip().splitlines()[-1])[0]["link_status"] == "auto"

    r = runner.invoke(app, ["forget", "--author", "x:@FAN_ANNA", "-c", str(cfg), "--yes"])
    assert r.exit_code == 0 and "12 mentions" in r.output
    r = runner.invoke(app, ["advocates", "rank", "--brand", "Nimbus", "-c", str(cfg), "--json"])
    assert "fan_anna" not in r.output


def test_bench_link_json_reports_precision_next_to_naive() -> None:
    r = runner.invoke(app, ["bench", "link", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output.strip().splitlines()[-1])
    assert res["authors"] >= 2000 and res["contacts"] >= 5000
    assert res["precision"] >= 0.95 and res["recall"] > res["naive_exact_name_recall"]
    assert res["precision"] > res["naive_exact_name_precision"]


def test_parse_since() -> None:
    assert parse_since("2026-11-01") is not None and parse_since(None) is None
    with pytest.raises(InputError):
        parse_since("yesterday")
