"""Exports read back: injected formulas stay inert text in CSV and XLSX; the columns a marketer needs are there."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine

from advocates.config import AdvocatesConfig
from advocates.export import neutralise, write_export
from advocates.scoring import rank
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.schema import MentionRow
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import AuthorRef, Mention, SentimentScore
from tests.test_advocates_rank import MODEL_KEY, NIMBUS, T0

EVIL = ['=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\tTAB", "\rCR"]


def _seed(engine: Engine) -> None:
    ms = [Mention(platform="x", native_id=f"e{i}", text=f"{t} Nimbus is great", created_at=T0,
                  author=AuthorRef(f"=evil{i}", display_name=t, followers=10), url=f"https://x.com/e/status/{i}",
                  brand="Nimbus") for i, t in enumerate(EVIL)]
    insert_mentions(engine, ms)
    with session_scope(engine) as s:  # texts that start with the payload itself
        for i, t in enumerate(EVIL):
            s.query(MentionRow).filter_by(native_id=f"e{i}").update({"text": t})
    save_scores(engine, [(p.id, SentimentScore("positive", {"positive": 0.9, "neutral": 0.05, "negative": 0.05}, 0.9,
                                                 {}, "m", "r")) for p in pending_mentions(engine, "m", "r", 100)])


def test_neutralise() -> None:
    for t in EVIL:
        assert neutralise(t) == "'" + t
    assert neutralise("Nimbus rocks") == "Nimbus rocks" and neutralise(None) == ""


def test_csv_and_xlsx_read_back_inert(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    ranked = rank(engine, MODEL_KEY, NIMBUS, [NIMBUS], AdvocatesConfig(), limit=None)
    assert len(ranked) == len(EVIL)
    out_csv, out_xlsx = tmp_path / "a.csv", tmp_path / "a.xlsx"
    assert write_export(out_csv, ranked, "csv") == len(EVIL)
    write_export(out_xlsx, ranked, "xlsx")
    with out_csv.open(encoding="utf-8-sig", newline="") as fh:
        text = fh.read()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert {r["display_name"] for r in rows} == {"'" + t for t in EVIL}
    assert all(r["author"].startswith("x:=evil") for r in rows)
    assert all(r["profile_urls"].startswith("https://x.com/") for r in rows)
    for line in text.split("\r\n")[1:]:
        assert not line.startswith(("=", "+", "-", "@", "\t", "\r"))
    wb = load_workbook(out_xlsx)
    ws = wb.active
    assert ws is not None
    header = [c.value for c in ws[1]]
    col = header.index("top_posts")
    cells = [row[col] for row in ws.iter_rows(min_row=2)]
    # XML may turn a bare CR into LF (it depends on openpyxl's XML backend); the quote in front is what matters
    assert {str(c.value).replace("\r", "\n") for c in cells} == {("'" + t).replace("\r", "\n") for t in EVIL}
    assert all(c.data_type == "s" for row in ws.iter_rows(min_row=2) for c in row if c.value is not None)
    assert {"score", "nps_class", "reasons", "crm_contact_id", "top_post_links"} <= set(header)
