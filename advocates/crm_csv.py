"""CRM contacts from a CSV export: a column mapping (defaults for common headers), bad rows reported with their line."""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from brandpulse.errors import BadRowError, InputError, InputFileError
from brandpulse.store.contacts import Contact

log = logging.getLogger(__name__)

#: contact field → headers recognised without a mapping (compared case- and space-insensitively)
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "contact id", "record id", "external_id", "contact_id"),
    "name": ("name", "full name", "full_name"),
    "first_name": ("first name", "firstname", "first_name"),
    "last_name": ("last name", "lastname", "last_name"),
    "email": ("email", "e-mail", "email address"),
    "website": ("website", "web site", "url", "homepage"),
    "company": ("company", "account", "organisation", "organization"),
    "opted_out": ("opted_out", "opt out", "opt-out", "unsubscribed", "do not contact"),
    "x": ("x", "twitter", "twitter handle", "twitter_handle", "x handle"),
    "reddit": ("reddit", "reddit user"),
    "mastodon": ("mastodon",),
    "bluesky": ("bluesky", "bsky"),
    "instagram": ("instagram",),
    "telegram": ("telegram",),
    "any": ("handle", "social", "social handle", "social profile"),
}
HANDLE_FIELDS = ("x", "reddit", "mastodon", "bluesky", "instagram", "telegram", "any")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = {"1", "true", "yes", "y", "x"}


@dataclass
class CsvImport:
    contacts: list[Contact] = field(default_factory=list)
    errors: list[BadRowError] = field(default_factory=list)


def _key(h: str) -> str:
    return " ".join(h.strip().lower().replace("_", " ").split())


def resolve_columns(headers: list[str], mapping: dict[str, str] | None) -> dict[str, str]:
    """field → actual header: explicit mapping first, then the default header names."""
    by_key = {_key(h): h for h in headers}
    known = set(DEFAULT_COLUMNS)
    out: dict[str, str] = {}
    for fld, col in (mapping or {}).items():
        if fld not in known:
            raise InputError(f"unknown contact field {fld!r} in the column mapping",
                             hint=f"Map one of: {', '.join(sorted(known))} (e.g. --map email='E-mail address').")
        if _key(col) not in by_key:
            raise InputError(f"column {col!r} (mapped to {fld}) is not in the CSV header",
                             hint=f"The header has: {', '.join(headers)}.")
        out[fld] = by_key[_key(col)]
    for fld, names in DEFAULT_COLUMNS.items():
        if fld not in out:
            hit = next((by_key[_key(n)] for n in names if _key(n) in by_key), None)
            if hit is not None:
                out[fld] = hit
    if "external_id" not in out:
        raise InputError("the CSV has no contact id column",
                         hint="Map it, e.g. `--map external_id='Record ID'` (or [advocates] csv_columns in config).")
    return out


def read_contacts_csv(path: Path, mapping: dict[str, str] | None = None, source: str = "csv") -> CsvImport:
    """Contacts from `path`; each bad row is logged and reported with its line number, the rest kept."""
    try:
        # undecodable bytes are kept as surrogate escapes and reported per row (a decode error would stop the reader)
        fh = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror}",
                             hint="Give a readable UTF-8 CSV file of contacts with a header row.") from None
    result = CsvImport()
    with fh:
        reader = csv.DictReader(fh)
        try:
            headers = list(reader.fieldnames or [])
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputFileError(f"{path} is not a readable CSV: {exc}",
                                 hint="Save the export as UTF-8 CSV with a header row.") from None
        if not headers:
            raise InputFileError(f"{path} is empty", hint="Give a CSV of contacts with a header row.")
        if any(_undecodable(h) for h in headers):
            raise InputFileError(f"{path}: the header line is not UTF-8 text",
                                 hint="Save the export as UTF-8 CSV with a header row.")
        cols = resolve_columns(headers, mapping)
        seen: set[str] = set()
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except (UnicodeDecodeError, csv.Error) as exc:
                before = reader.line_num
                result.errors.append(BadRowError(reader.line_num, f"unreadable row: {exc}"))
                if reader.line_num == before and isinstance(exc, UnicodeDecodeError):
                    break
                continue
            line = reader.line_num
            values = [v for v in row.values() if v is not None]
            if any(_undecodable(v) for v in values if isinstance(v, str)) or any(
                    _undecodable(x) for v in values if isinstance(v, list) for x in v):
                result.errors.append(BadRowError(line, "not valid UTF-8"))
                log.warning("skipping contact row %s: not valid UTF-8", line)
                continue
            try:
                c = _contact(row, cols, source)
                if c.external_id in seen:
                    raise BadRowError(line, f"duplicate contact id {c.external_id!r}")
                seen.add(c.external_id)
                result.contacts.append(c)
            except BadRowError as exc:
                result.errors.append(BadRowError(line, exc.reason))
                log.warning("skipping contact row %s: %s", line, exc.reason)
    return result


def _undecodable(value: str) -> bool:
    """True when `value` holds bytes that were not UTF-8 (read with surrogateescape)."""
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _get(row: dict[str, str | None], cols: dict[str, str], fld: str) -> str:
    col = cols.get(fld)
    v = row.get(col) if col else None
    return (v or "").strip() if isinstance(v, str) else ""


def _contact(row: dict[str, str | None], cols: dict[str, str], source: str) -> Contact:
    if None in row:
        raise BadRowError(0, "more fields than the header has")
    ext = _get(row, cols, "external_id")
    if not ext:
        raise BadRowError(0, f"the contact id ({cols['external_id']}) is empty")
    name = _get(row, cols, "name") or " ".join(p for p in (_get(row, cols, "first_name"), _get(row, cols, "last_name")) if p)
    email = _get(row, cols, "email").lower()
    if email and not _EMAIL.match(email):
        raise BadRowError(0, f"e-mail {email!r} is not an address")
    handles = {f: _get(row, cols, f) for f in HANDLE_FIELDS if _get(row, cols, f)}
    website = _get(row, cols, "website")
    if not (name or email or handles or website):
        raise BadRowError(0, "no name, e-mail, website or social handle to link by")
    return Contact(source=source, external_id=ext, name=name or None, email=email or None, website=website or None,
                   company=_get(row, cols, "company") or None, handles=handles,
                   opted_out=_get(row, cols, "opted_out").lower() in _TRUE)
