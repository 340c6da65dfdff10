"""What a command needs: settings, an engine on a migrated store, the scorer — built once per command."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from brandpulse.config import Settings, load_settings
from brandpulse.store.engine import check_schema, make_engine, redact_url
from brandpulse.store.migrate import upgrade

if TYPE_CHECKING:
    from sentiment.scorer import Scorer


@dataclass
class Context:
    config_file: Path | None = None
    #: CLI options, nested like the config file; the highest precedence (see `load_settings`).
    overrides: dict[str, Any] = field(default_factory=dict)
    #: A missing config file is an error (the path was given explicitly).
    require_file: bool = False
    #: Config key → the command-line option that set it, so an invalid value names the option.
    option_names: dict[str, str] = field(default_factory=dict)

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config_file, require_file=self.require_file, option_names=self.option_names,
                             **self.overrides)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @property
    def database(self) -> str:
        return redact_url(self.settings.database_url)

    def migrated_engine(self, auto_upgrade: bool = True) -> Engine:
        if auto_upgrade:
            upgrade(self.engine)
        else:
            check_schema(self.engine)
        return self.engine

    @cached_property
    def scorer(self) -> Scorer:
        from sentiment.loading import load_scorer

        return load_scorer(self.settings.model)

    @property
    def model_key(self) -> str:
        from brandpulse.model_key import ModelKey

        return str(ModelKey.of_scorer(self.scorer))
