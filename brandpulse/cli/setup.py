"""`brandpulse init` and `brandpulse db upgrade`."""

from __future__ import annotations

from typing import Annotated

import typer

from brandpulse.cli.common import ConfigOpt, build_context, console, new_group, safe

db_app = new_group("Database schema (Alembic migrations).")


def init(
    config: ConfigOpt = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing config file.")] = False,
) -> None:
    """Write a commented brandpulse.toml and create/migrate the store."""
    from brandpulse.config import config_path
    from brandpulse.errors import ConfigError
    from brandpulse.init_template import CONFIG_TEMPLATE

    path = config_path(config)
    if path.exists() and not force:
        console.print(f"{safe(path)} exists; keeping it (use --force to overwrite).")
    else:
        try:
            path.write_text(CONFIG_TEMPLATE, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}",
                              hint="Pass --config with a writable path.") from None
        console.print(f"wrote {safe(path)}")
    ctx = build_context(path)
    ctx.migrated_engine()
    console.print(f"store ready: {safe(ctx.database)}")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None, revision: str = "head") -> None:
    """Apply Alembic migrations up to REVISION (default: the newest)."""
    from brandpulse.store.migrate import current_revision, upgrade

    ctx = build_context(config)
    upgrade(ctx.engine, revision)
    console.print(f"{safe(ctx.database)} is at revision {safe(current_revision(ctx.engine))}")


@db_app.command("purge")
def db_purge(
    config: ConfigOpt = None,
    days: Annotated[int | None, typer.Option(min=1, help="Purge raw payloads older than this many days "
                                                         "(default: [store] retention_days).")] = None,
) -> None:
    """Drop the raw platform payloads of mentions older than the retention period (once)."""
    from brandpulse.errors import ConfigError
    from brandpulse.store.retention import purge_raw_payloads

    ctx = build_context(config)
    keep = days if days is not None else ctx.settings.store.retention_days
    if keep is None:
        raise ConfigError("no retention period is set, so nothing is purged",
                          hint="Set [store] retention_days = N in brandpulse.toml, or pass --days N.")
    n = purge_raw_payloads(ctx.migrated_engine(), keep)
    console.print(f"purged the raw payloads of {n} mention(s) older than {keep} day(s)")


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.add_typer(db_app, name="db")
