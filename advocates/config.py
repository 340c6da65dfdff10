"""Advocate ranking, NPS classes and CRM linking options: the `[advocates]` table of brandpulse.toml.

The advocate score of an author for a brand (see README "Advocates"):

    score = volume × reach × engagement × consistency × (1 − bot_penalty × bot_likeness) × (1 − dup_penalty × dup_share)

* volume      = Σ over the author's positive posts of 2^(−age_days / half_life_days), a near-duplicate group
                (`mentions.dup_group`) counted once;
* reach       = 1 + reach_weight × log10(1 + followers);
* engagement  = 1 + engagement_weight × log10(1 + mean likes + reposts + replies per post);
* consistency = consistency_floor + (1 − consistency_floor) × (weeks with a positive post / weeks in the period);
* bot_likeness ∈ [0, 1]: the larger of (posts per active day over `bot_posts_per_day`) and the share of posts whose
  text repeats another of the author's posts; dup_share = share of posts that sit in a near-duplicate group.

The detractor score is the same with negative posts. NPS-like classes come from net sentiment
(positive share − negative share): promoter ≥ promoter_min_net, detractor ≤ detractor_max_net, passive between.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from brandpulse.errors import ConfigError


class AdvocatesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Days after which a post counts half as much in `volume`.
    half_life_days: float = Field(default=30.0, gt=0)
    reach_weight: float = Field(default=0.5, ge=0)
    engagement_weight: float = Field(default=0.5, ge=0)
    #: Weight an author active in a single week of the period still keeps (0..1).
    consistency_floor: float = Field(default=0.4, ge=0, le=1)
    #: More posts than this per active day look automated.
    bot_posts_per_day: float = Field(default=12.0, gt=0)
    bot_penalty: float = Field(default=0.9, ge=0, le=1)
    dup_penalty: float = Field(default=0.8, ge=0, le=1)
    #: Authors with fewer posts about the brand are not ranked.
    min_posts: int = Field(default=1, ge=1)
    promoter_min_net: float = Field(default=0.5, ge=-1, le=1)
    detractor_max_net: float = Field(default=-0.2, ge=-1, le=1)
    #: The Overview shows a period's social NPS only when at least this many authors wrote about the brand in it
    #: (fewer: "—", too few to say).
    nps_min_authors: int = Field(default=5, ge=1)
    #: How many top posts each ranked author carries as reasons.
    top_posts: int = Field(default=3, ge=0, le=20)
    #: People who work for the brand: "handle" or "platform:handle"; never ranked.
    employees: list[str] = Field(default_factory=list)
    #: Opted-out people: "handle" or "platform:handle"; never ranked, exported or pushed.
    opt_out: list[str] = Field(default_factory=list)
    #: Linking: at or above this confidence a match is made automatically; below it (down to `propose_threshold`) it is
    #: proposed and waits for a person.
    auto_threshold: float = Field(default=0.9, ge=0, le=1)
    propose_threshold: float = Field(default=0.6, ge=0, le=1)
    #: CSV column mapping for `crm import csv` (field → column header); the command line can override each.
    csv_columns: dict[str, str] = Field(default_factory=dict)
    #: Cases: brand → CRM ("hubspot" | "salesforce") in which a linked contact's negative mention opens a ticket / Case.
    cases: dict[str, Literal["hubspot", "salesforce"]] = Field(default_factory=dict)
    #: A mention opens a case only when its negative probability is at least this.
    case_min_negative: float = Field(default=0.6, ge=0, le=1)
    #: `advocates push --crm hubspot` sets this contact property (value: the --list name, default the brand).
    hubspot_push_property: str = "brandpulse_advocate"
    #: Salesforce Contact fields holding social handles: platform → field, e.g. {x = "Twitter__c"}.
    salesforce_handle_fields: dict[str, str] = Field(default_factory=dict)


def advocates_config(raw: dict[str, Any] | None) -> AdvocatesConfig:
    """Validate the `[advocates]` table; a bad key raises ConfigError naming it."""
    try:
        return AdvocatesConfig.model_validate(raw or {})
    except ValidationError as exc:
        lines = ["invalid [advocates] configuration:"]
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  advocates.{key}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None
