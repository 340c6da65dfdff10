"""Ranked lists as the CLI and the dashboard ask for them: settings in, brand by name, CRM opt-outs honoured."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from advocates.config import AdvocatesConfig, advocates_config
from advocates.scoring import NPSWeek, RankedAuthor, period_nps, rank, social_nps
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


@dataclass(frozen=True)
class NPSChange:
    """A brand's social NPS for a period and the period of the same length before it; None where fewer than
    `[advocates] nps_min_authors` authors wrote about the brand (too few to say)."""

    brand: str
    nps: float | None
    prev_nps: float | None
    authors: int
    prev_authors: int

    @property
    def change(self) -> float | None:
        return round(self.nps - self.prev_nps, 1) if self.nps is not None and self.prev_nps is not None else None


def nps_change(engine: Engine, settings: Settings, brands: list[str], *, since: datetime, until: datetime,
               model_key: str | None = None) -> list[NPSChange]:
    """Per configured brand (others are skipped): the social NPS of [since, until) against the period before."""
    cfg = advocates_config(settings.advocates)
    key = resolve_model_key(engine, model_key)
    configured = {b.name.lower(): b for b in settings.brands}
    out = []
    for name in brands:
        brand = configured.get(name.lower())
        if brand is None:
            continue
        now, before = period_nps(engine, key, brand, settings.brands, cfg, since=since, until=until)
        out.append(NPSChange(name, now.nps if now.authors >= cfg.nps_min_authors else None,
                             before.nps if before.authors >= cfg.nps_min_authors else None,
                             now.authors, before.authors))
    return out
