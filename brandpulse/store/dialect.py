"""Dialect-specific INSERT … ON CONFLICT (SQLite and PostgreSQL share the API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


def upsert_insert(bind: Session | Connection, table: Any) -> Any:
    """An `insert(table)` supporting `.on_conflict_do_nothing/_update` for the bind's dialect."""
    name = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"database dialect {name!r} is not supported (use SQLite or PostgreSQL)")
