"""The Alembic migrations and the SQLAlchemy models agree: a store migrated to head has exactly the tables,
columns, types, nullability, indexes and unique constraints the models declare (autogenerate finds nothing),
and every migration downgrades back cleanly. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from brandpulse.store.migrate import alembic_config
from brandpulse.store.schema import Base


def _diff(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        return list(compare_metadata(ctx, Base.metadata))


def test_models_and_migrations_agree(engine: Engine) -> None:
    diff = _diff(engine)
    assert diff == [], f"models and migrations differ (write a migration): {diff}"


def test_the_checker_sees_a_missing_column(engine: Engine) -> None:
    from sqlalchemy import Column, Integer, MetaData, Table

    extra = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(extra)
    Table("mentions", extra, Column("not_migrated", Integer), extend_existing=True)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), extra)
    assert any(op[0] == "add_column" and op[3].name == "not_migrated" for op in diff if isinstance(op, tuple))


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert _diff(engine) == []
