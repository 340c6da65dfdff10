"""CSV and XLSX exports of ranked advocates or detractors, safe to open in a spreadsheet.

Every cell starting with =, +, -, @, a tab or a carriage return is prefixed with a single quote (OWASP "CSV
injection"), and XLSX cells are written as strings, so a post like "=HYPERLINK(…)" stays inert text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from advocates.scoring import RankedAuthor
from brandpulse.errors import InputError

COLUMNS = ("rank", "author", "display_name", "profile_urls", "score", "nps_class", "net_sentiment", "followers",
           "posts", "matching_posts", "active_weeks", "bot_likeness", "dup_share", "reasons", "top_posts",
           "top_post_links", "crm_contact_id", "crm_source", "crm_link_status")
FORMATS = ("csv", "xlsx")
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """The cell text, with a leading quote when it could start a formula."""
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(_DANGEROUS) else s


def export_rows(ranked: Sequence[RankedAuthor], contacts: dict[int, tuple[str, str]] | None = None) -> list[list[str]]:
    """Rows (header first) of neutralised strings; `contacts` maps contact row id → (source, external id)."""
    contacts = contacts or {}
    rows = [list(COLUMNS)]
    for n, r in enumerate(ranked, 1):
        src, ext = contacts.get(r.contact_id, ("", "")) if r.contact_id is not None else ("", "")
        values: list[Any] = [
            n, "; ".join(r.accounts), r.display_name, " ".join(r.profile_urls), f"{r.score:.4f}", r.nps_class,
            f"{r.net_sentiment:.2f}", r.followers, r.reasons.get("posts"), r.reasons.get("matching_posts"),
            r.reasons.get("active_weeks"), r.reasons.get("bot_likeness"), r.reasons.get("dup_share"),
            json.dumps({k: v for k, v in r.reasons.items() if k != "kind_label"}, ensure_ascii=False),
            "\n".join(p["text"] for p in r.top_posts), " ".join(p["url"] or "" for p in r.top_posts), ext, src,
            r.link_status or "",
        ]
        rows.append([neutralise(v) for v in values])
    return rows


def to_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[list[str]], title: str = "advocates") -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row, 1):
            cell = ws.cell(row=r, column=c)
            cell.value = value
            cell.data_type = "s"  # a string, never a formula
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render(ranked: Sequence[RankedAuthor], fmt: str, contacts: dict[int, tuple[str, str]] | None = None,
           title: str = "advocates") -> bytes:
    if fmt not in FORMATS:
        raise InputError(f"--format must be csv or xlsx, got {fmt!r}")
    rows = export_rows(ranked, contacts)
    return to_csv(rows) if fmt == "csv" else to_xlsx(rows, title)


def write_export(path: Path, ranked: Sequence[RankedAuthor], fmt: str,
                 contacts: dict[int, tuple[str, str]] | None = None, title: str = "advocates") -> int:
    data = render(ranked, fmt, contacts, title)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}", hint="Choose a writable --output path.") from None
    return len(ranked)
