"""CRM contacts from CSV: default and explicit column mappings, bad rows reported with their line, the rest stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from advocates.crm_csv import read_contacts_csv
from brandpulse.errors import InputError
from brandpulse.store.contacts import list_contacts, upsert_contacts

CSV = """Record ID,First Name,Last Name,E-mail,Twitter,Website,Unsubscribed
c1,Anna,Petrova,anna@example.org,@Fan_Anna,https://anna.dev,no
c2,Олександр,Ковальчук,,https://twitter.com/okoval,,yes
,No,Id,x@example.org,,,
c3,Bad,Mail,not-an-email,,,
c4,,,,,,
c1,Anna,Again,anna2@example.org,,,
c5,Ivan,Ivanov,ivan@example.org,,,
"""


def test_csv_import_keeps_good_rows_and_reports_bad_ones_by_line(tmp_path: Path, engine: Engine) -> None:
    p = tmp_path / "contacts.csv"
    p.write_text(CSV, encoding="utf-8")
    res = read_contacts_csv(p, {"external_id": "Record ID", "email": "E-mail"})
    assert [c.external_id for c in res.contacts] == ["c1", "c2", "c5"]
    assert [e.line for e in res.errors] == [4, 5, 6, 7]
    assert "not an address" in res.errors[1].reason and "duplicate" in res.errors[3].reason
    anna = res.contacts[0]
    assert anna.name == "Anna Petrova" and anna.handles == {"x": "@Fan_Anna"} and anna.email == "anna@example.org"
    assert res.contacts[1].opted_out and res.contacts[1].name == "Олександр Ковальчук"
    assert upsert_contacts(engine, res.contacts) == 3
    upsert_contacts(engine, res.contacts)  # re-import updates, no duplicates
    stored = list_contacts(engine)
    assert sorted(c.external_id for c in stored) == ["c1", "c2", "c5"]


def test_unknown_mapping_column_names_the_header(tmp_path: Path) -> None:
    p = tmp_path / "contacts.csv"
    p.write_text(CSV, encoding="utf-8")
    with pytest.raises(InputError, match="not in the CSV header"):
        read_contacts_csv(p, {"email": "Mail"})
    p.write_text("Name,Email\nAnna,a@b.org\n", encoding="utf-8")
    with pytest.raises(InputError, match="no contact id column"):
        read_contacts_csv(p)
