"""Scratch stores for benchmarks: fresh, migrated, and never the user's data.

SQLite: a new file in a temporary directory. PostgreSQL: a new schema (``brandpulse_bench_<random>``) in the
configured database, selected through the connection's ``search_path`` and dropped afterwards, so a benchmark
run against a production URL touches none of its tables.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from brandpulse.store.engine import make_engine
from brandpulse.store.migrate import upgrade


def _pg_url_in_schema(url: str, schema: str) -> str:
    u = make_url(url if not url.startswith("postgresql://") else "postgresql+psycopg://" + url[len("postgresql://") :])
    options = " ".join(filter(None, [str(u.query.get("options") or ""), f"-csearch_path={schema}"]))
    return u.update_query_dict({"options": options}).render_as_string(hide_password=False)


@contextmanager
def scratch_stores(url: str | None) -> Iterator[Callable[[], Engine]]:
    """Yield `make_store()`: each call returns a migrated engine on a fresh, empty store of `url`'s backend
    (SQLite when `url` is None or SQLite). Everything made is removed on exit."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="brandpulse-bench-") as tmp:
            made = 0

            def make_sqlite() -> Engine:
                nonlocal made
                made += 1
                eng = make_engine(f"sqlite:///{Path(tmp) / f'bench-{made}.db'}")
                upgrade(eng)
                return eng

            yield make_sqlite
        return
    admin = make_engine(url)
    schemas: list[str] = []

    def make_pg() -> Engine:
        schema = f"brandpulse_bench_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        eng = make_engine(_pg_url_in_schema(url, schema))
        upgrade(eng)
        return eng

    try:
        yield make_pg
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
