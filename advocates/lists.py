"""Ranked lists as the CLI and the dashboard ask for them: settings in, brand by name, CRM opt-outs honoured."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from advocates.config import AdvocatesConfig, advocates_config
from advocates.scoring import NPSWeek, RankedAuthor, rank, social_nps
from brandpulse.config import Settings
from brandpulse.errors import InputError
from brandpulse.store.contacts import list_contacts
from brandpulse.store.queries import latest_model_key


def resolve_model_key(engine: Engine, model_key: str | None) -> str:
    key = model_key or latest_model_key(engine)
    if key is None:
        raise InputError("the store has no scored mentions yet", hint="Run `brandpulse score` first.")
    return key


def contact_ids(engine: Engine) -> dict[int, tuple[str, str]]:
    """contact row id → (CRM source, CRM id)."""
    return {c.id: (c.source, c.external_id) for c in list_contacts(engine)}


def ranked_list(
    engine: Engine,
    settings: Settings,
    brand: str,
    *,
    kind: str = "advocates",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 50,
    model_key: str | None = None,
    cfg: AdvocatesConfig | None = None,
) -> list[RankedAuthor]:
    cfg = cfg or advocates_config(settings.advocates)
    opted = {c.id for c in list_contacts(engine) if c.opted_out}
    return rank(engine, resolve_model_key(engine, model_key), settings.brand(brand), settings.brands, cfg, kind=kind,
                since=since, until=until, limit=limit, opted_out_contacts=opted)


def nps_trend(engine: Engine, settings: Settings, brand: str, *, since: datetime | None = None,
              until: datetime | None = None, model_key: str | None = None) -> list[NPSWeek]:
    return social_nps(engine, resolve_model_key(engine, model_key), settings.brand(brand), settings.brands,
                      advocates_config(settings.advocates), since=since, until=until)
