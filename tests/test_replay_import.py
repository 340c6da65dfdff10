"""Replay collector and `brandpulse import`: the file format, bad rows with line numbers, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brandpulse.errors import InputFileError
from brandpulse.importer import import_file
from brandpulse.store.queries import counts
from listener.mention_file import read_mentions
from listener.replay import ReplayCollector
from listener.runner import collect_once

HEADER = "id,created_at,author,text,brand,platform,lang,url,followers,likes,reposts,replies\n"


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def good_rows(n: int, start: int = 0) -> list[str]:
    return [f"{i},2026-11-02T{(i // 60) % 24:02d}:{i % 60:02d}:00Z,user{i},\"Nimbus, row {i}\",Nimbus,x,en,,10,1,0,0"
            for i in range(start, start + n)]


def test_bad_rows_are_reported_with_line_numbers_and_the_rest_stored(engine, tmp_path: Path) -> None:
    rows = good_rows(3)
    rows.insert(1, "bad1,not-a-date,u,text,Nimbus,x,en,,1,0,0,0")  # line 3
    rows.insert(3, 'bad2,2026-11-02T00:00:00Z,u,"multi\nline text",,x,en,,1,0,0,0')  # lines 5-6: brand missing
    rows.append("bad3,2026-11-02T00:00:00Z,u,text,Nimbus,x,en,,many,0,0,0")  # line 8
    rows.append("short,row")  # line 9
    path = write_csv(tmp_path / "m.csv", rows)
    res = import_file(engine, path)
    assert res.new == 3
    assert [(b.line, b.reason.split(" ")[0]) for b in res.bad_rows] == [
        (3, "created_at"), (5, "missing"), (8, "followers"), (9, "has")]
    assert "brand" in res.bad_rows[1].reason
    assert counts(engine)["mentions"] == 3
    again = import_file(engine, path)
    assert (again.new, again.duplicates) == (0, 3)


def test_jsonl_import_with_broken_lines(engine, tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    lines = [
        json.dumps({"id": "a", "created_at": "2026-11-02T10:00:00+02:00", "author": "@ann", "text": "Нимбус ок",
                    "brand": "Nimbus", "followers": 5}),
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"id": "b", "created_at": 1793613600, "author": "bob", "text": "x" * 50_000, "brand": "Nimbus"}),
        json.dumps({"id": "c", "created_at": "2026-11-02T10:00:00", "author": "cy", "text": "ok", "brand": "Nimbus"}),
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "d", "text": "\xff\xfe"}\n')
    res = import_file(engine, path)
    assert res.new == 2
    assert [b.line for b in res.bad_rows] == [2, 3, 4, 6]
    assert "characters" in res.bad_rows[2].reason
    assert "UTF-8" in res.bad_rows[3].reason
    stored = {m.native_id: m for _, m in read_mentions(path) if not isinstance(m, Exception)}
    assert stored["a"].created_at.isoformat() == "2026-11-02T08:00:00+00:00"  # offsets converted to UTC
    assert stored["a"].author.handle == "ann"
    assert stored["c"].created_at.tzinfo is not None  # naive timestamps are taken as UTC


def test_unreadable_files_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        list(read_mentions(tmp_path / "missing.csv"))
    p = tmp_path / "x.csv"
    p.write_text("id,text\n1,hello\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="created_at, author, brand"):
        list(read_mentions(p))


def test_replay_resumes_from_its_cursor_without_gaps_or_repeats(engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", good_rows(50))
    first = ReplayCollector(path=path)
    seen = []
    for m in first.fetch(None):
        seen.append(m.native_id)
        if len(seen) == 17:
            break
    second = ReplayCollector(path=path)
    rest = [m.native_id for m in second.fetch(first.cursor())]
    assert seen + rest == [str(i) for i in range(50)]
    # through the runner and the store: a second pass adds nothing
    assert collect_once(engine, ReplayCollector(path=path)).new == 50
    st = collect_once(engine, ReplayCollector(path=path))
    assert (st.fetched, st.new) == (0, 0)


def test_replay_skips_rows_the_store_cannot_hold_and_replays_the_rest(engine, tmp_path: Path) -> None:
    """The replay reads files as robustly as `import`: an id longer than its column, an out-of-range count, a bad
    UTF-8 byte — each costs only its own row."""
    path = tmp_path / "hostile.csv"
    rows = [*good_rows(3), f"{'9' * 300},2026-11-02T05:00:00Z,u,too long id,Nimbus,x,en,,1,0,0,0",
            "400,2026-11-02T05:01:00Z,u,huge likes,Nimbus,x,en,,1,99999999999,0,0", *good_rows(2, 500)]
    bad_byte = b"600,2026-11-02T06:00:00Z,u,bad \xff,Nimbus,x,en,,1,0,0,0\n"
    path.write_bytes((HEADER + "".join(r + "\n" for r in rows)).encode() + bad_byte)
    c = ReplayCollector(path=path)
    st = collect_once(engine, c)
    assert st.new == 5 and counts(engine)["mentions"] == 5
    reasons = sorted(str(b) for b in c.bad_rows)
    assert len(reasons) == 3 and any("300 characters" in r for r in reasons) and any("likes" in r for r in reasons)
    assert any("UTF-8" in r for r in reasons)
    assert c.cursor() is not None and c.cursor().position == "8"  # type: ignore[union-attr]  # every row consumed


def test_replay_speed_factor_sleeps_the_scaled_gap(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", good_rows(3))  # one minute apart
    slept: list[float] = []
    c = ReplayCollector(path=path, speed=60.0, sleep=slept.append)
    assert len(list(c.fetch(None))) == 3
    assert slept == [1.0, 1.0]


def test_replay_filters_to_configured_brands(tmp_path: Path) -> None:
    rows = [*good_rows(2), "9,2026-11-02T00:00:00Z,u,globex text,Globex,x,en,,1,0,0,0"]
    c = ReplayCollector(path=write_csv(tmp_path / "s.csv", rows), brands={"Globex"})
    assert [m.brand for m in c.fetch(None)] == ["Globex"]


def test_copy_paste_campaign_is_grouped_in_the_store(engine, tmp_path: Path) -> None:
    from sqlalchemy import select

    from brandpulse.store.engine import session_scope
    from brandpulse.store.schema import MentionRow

    campaign = [f'c{i},2026-11-02T10:{i:02d}:00Z,bot{i},"Boycott Nimbus now, they sold our data!! #{i}",Nimbus,x,en,,1,0,0,0'
                for i in range(30)]
    rows = good_rows(5) + campaign[:10]
    import_file(engine, write_csv(tmp_path / "a.csv", rows))
    # a later file (a new process: the index warm-starts from the store) continues the same campaign
    import_file(engine, write_csv(tmp_path / "b.csv", campaign[10:]))
    with session_scope(engine) as s:
        groups = {r.native_id: r.dup_group for r in s.execute(select(MentionRow.native_id, MentionRow.dup_group))}
    first = groups["c0"]
    assert first is not None
    assert all(groups[f"c{i}"] == first for i in range(30))
    assert {groups[str(i)] for i in range(5)} == {None}
