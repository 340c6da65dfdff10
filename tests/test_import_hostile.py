"""`brandpulse import` against hostile files: every bad row rejected with its line number, every good row stored.

Runs on SQLite and PostgreSQL (the store's limits differ: 32-bit INTEGER and no NUL characters on PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from brandpulse.importer import import_file
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import MentionRow

HEADER = "id,created_at,author,text,brand,platform,lang,url,followers,likes,reposts,replies\n"


def csv_row(i: int, **over: str) -> str:
    cols = {"id": str(i), "created_at": f"2026-11-02T{(i // 60) % 24:02d}:{i % 60:02d}:00Z", "author": f"user{i}",
            "text": f"Nimbus row {i}", "brand": "Nimbus", "platform": "x", "lang": "en", "url": "", "followers": "10",
            "likes": "1", "reposts": "0", "replies": "0"}
    cols.update(over)
    return ",".join(cols[k] for k in HEADER.strip().split(",")) + "\n"


def json_row(i: int, **over: object) -> str:
    obj: dict[str, object] = {"id": str(i), "created_at": "2026-11-02T10:00:00Z", "author": f"user{i}",
                              "text": f"Nimbus row {i}", "brand": "Nimbus"}
    obj.update(over)
    return json.dumps(obj) + "\n"


def stored_ids(engine: Engine) -> set[str]:
    with session_scope(engine) as s:
        return set(s.scalars(select(MentionRow.native_id)))


def test_one_inf_in_ten_thousand_rows_loses_only_that_row(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = [csv_row(i) for i in range(10_001)]
    rows[5_000] = csv_row(5_000, likes="inf")  # row 5,001 of the data = line 5,002 of the file
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    res = import_file(engine, path)
    assert res.new == 10_000
    assert [(b.line, "range" in b.reason) for b in res.bad_rows] == [(5_002, True)]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(MentionRow)) == 10_000
    assert "5000" not in stored_ids(engine)


@pytest.mark.parametrize(
    ("over", "why"),
    [
        ({"likes": "inf"}, "range"),
        ({"likes": "nan"}, "likes"),
        ({"likes": "1e30"}, "out of range"),
        ({"reposts": str(2**31)}, "out of range"),
        ({"followers": "1e30"}, "out of range"),
        ({"author": "a" * 256}, "author is 256 characters"),
        ({"id": "i" * 256}, "id is 256 characters"),
        ({"lang": "en-GB-oxendict"}, "lang is 14 characters"),
        ({"created_at": "1e30"}, "created_at"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_values_the_store_cannot_hold_reject_only_their_row(engine: Engine, tmp_path: Path, over: dict[str, str],
                                                             why: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(HEADER + csv_row(1) + csv_row(2, **over) + csv_row(3), encoding="utf-8")
    res = import_file(engine, path)
    assert res.new == 2, res.bad_rows
    assert [b.line for b in res.bad_rows] == [3]
    assert why in res.bad_rows[0].reason
    assert stored_ids(engine) == {"1", "3"}


@pytest.mark.parametrize("field", ["id", "author", "brand", "url", "platform"])
def test_nul_characters_in_stored_fields_reject_the_row(engine: Engine, tmp_path: Path, field: str) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(json_row(1) + json_row(2, **{field: "bad\x00value"}) + json_row(3), encoding="utf-8")
    res = import_file(engine, path)
    assert res.new == 2
    assert [b.line for b in res.bad_rows] == [2] and "NUL" in res.bad_rows[0].reason


def test_deeply_nested_and_non_finite_json_lines_are_rejected(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    deep = "[" * 100_000 + "]" * 100_000 + "\n"
    nested_value = json.dumps({"id": "n", "created_at": "2026-11-02T10:00:00Z", "author": "a", "text": "t",
                               "brand": "Nimbus", "extra": [[[[1]]]]}) + "\n"
    path.write_text(json_row(1) + deep + json_row(2, likes=float("inf"))
                    + '{"id": "3", "created_at": "2026-11-02T10:00:00Z", "author": "c", "text": "t", "brand": "N",'
                      ' "likes": NaN}\n' + json_row(4, extra="\ud800") + nested_value + json_row(5), encoding="utf-8")
    res = import_file(engine, path)
    assert {b.line for b in res.bad_rows} == {2, 3, 4, 5}
    assert "nested too deeply" in res.bad_rows[0].reason
    assert stored_ids(engine) == {"1", "n", "5"}


def test_a_bad_utf8_byte_rejects_only_its_csv_row(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes((HEADER + csv_row(1)).encode() + csv_row(2, text="caf\xe9").encode("latin-1")
                     + csv_row(3).encode())
    res = import_file(engine, path)
    assert res.new == 2
    assert [(b.line, b.reason) for b in res.bad_rows] == [(3, "not valid UTF-8")]
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_bytes(json_row(10).encode() + b'{"id": "\xff"}\n' + json_row(11).encode())
    res = import_file(engine, jsonl)
    assert res.new == 2 and [b.line for b in res.bad_rows] == [2] and "UTF-8" in res.bad_rows[0].reason


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BRANDPULSE_DATABASE_URL", "BRANDPULSE_CONFIG")}
    return subprocess.run([sys.executable, "-m", "brandpulse", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


def test_import_exits_2_when_nothing_could_be_imported(tmp_path: Path) -> None:
    (tmp_path / "brandpulse.toml").write_text("", encoding="utf-8")
    for name, body in [("empty.csv", ""), ("empty.jsonl", ""), ("header-only.csv", HEADER),
                       ("all-bad.csv", HEADER + csv_row(1, likes="inf") + csv_row(2, created_at="nope")),
                       ("all-bad.jsonl", "not json\n[1]\n")]:
        path = tmp_path / name
        path.write_text(body, encoding="utf-8")
        res = _cli(["import", str(path)], tmp_path)
        assert res.returncode == 2, (name, res.stdout, res.stderr)
        assert "nothing was imported" in res.stderr and "Traceback" not in res.stderr + res.stdout
    good = tmp_path / "good.csv"
    good.write_text(HEADER + csv_row(1) + csv_row(2, likes="inf"), encoding="utf-8")
    res = _cli(["import", str(good)], tmp_path)
    assert res.returncode == 0 and "good.csv:3" in res.stdout
