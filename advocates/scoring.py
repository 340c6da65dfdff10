"""The advocate (and detractor) score, its reasons, NPS-like classes and the weekly social NPS of a brand.

The formula and its weights are in `advocates.config.AdvocatesConfig` (documented there and in the README).
Scores are deterministic: recency is measured from the end of the period (or the newest post), not the clock.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from advocates.config import AdvocatesConfig
from advocates.handles import listed, profile_url
from advocates.profiles import AuthorProfile, build_profiles
from brandpulse.config import BrandConfig
from brandpulse.store.authors import AuthorMention

KINDS = ("advocates", "detractors")


@dataclass
class RankedAuthor:
    key: str
    accounts: list[str]
    profile_urls: list[str]
    display_name: str | None
    followers: int
    score: float
    nps_class: str
    net_sentiment: float
    contact_id: int | None
    link_status: str | None
    #: the numbers behind the score, each factor by name
    reasons: dict[str, Any] = field(default_factory=dict)
    #: the author's strongest posts for the ranking kind: text, url, created_at, probability
    top_posts: list[dict[str, Any]] = field(default_factory=list)

    def reason_text(self) -> str:
        r = self.reasons
        return (f"{r['matching_posts']} {r['kind_label']} of {r['posts']} posts in {r['active_weeks']} week(s); "
                f"{self.followers} followers; {r['mean_engagement']:.1f} engagement/post; "
                f"bot-likeness {r['bot_likeness']:.2f}; near-duplicates {r['dup_share']:.0%}")


def nps_class(net: float, cfg: AdvocatesConfig) -> str:
    if net >= cfg.promoter_min_net:
        return "promoter"
    if net <= cfg.detractor_max_net:
        return "detractor"
    return "passive"


def net_sentiment(ms: list[AuthorMention]) -> float:
    if not ms:
        return 0.0
    c = Counter(m.label for m in ms)
    return (c["positive"] - c["negative"]) / len(ms)


def excluded(profile: AuthorProfile, brands: list[BrandConfig], cfg: AdvocatesConfig) -> str | None:
    """Why a profile must not be ranked (own/competitor account, employee, opt-out), or None."""
    own = [h for b in brands for h in b.handles]
    for acc in profile.accounts:
        platform, handle = acc.split(":", 1)
        if listed(platform, handle, cfg.opt_out):
            return "opted out"
        if listed(platform, handle, own):
            return "a brand's own account"
        if listed(platform, handle, cfg.employees):
            return "employee"
    return None


def _weeks(since: datetime, until: datetime) -> int:
    return max(1, math.ceil((until - since) / timedelta(weeks=1)))


def bot_likeness(ms: list[AuthorMention], cfg: AdvocatesConfig) -> tuple[float, float]:
    """(bot-likeness in [0, 1], posts per active day)."""
    if not ms:
        return 0.0, 0.0
    days = Counter(m.created_at.date() for m in ms)
    per_day = len(ms) / len(days)
    rate = min(1.0, per_day / cfg.bot_posts_per_day - 1) if per_day > cfg.bot_posts_per_day else 0.0
    texts = Counter(" ".join(m.text.lower().split()) for m in ms)
    repeated = sum(n for n in texts.values() if n > 1) / len(ms)
    return max(rate, repeated), per_day


def score_profile(
    profile: AuthorProfile, brand: str, kind: str, cfg: AdvocatesConfig, since: datetime, until: datetime
) -> RankedAuthor | None:
    """The author's score for `brand` (None below `min_posts`), with its reasons."""
    ms = profile.brand_mentions(brand)
    if len(ms) < cfg.min_posts:
        return None
    label = "positive" if kind == "advocates" else "negative"
    hits = [m for m in ms if m.label == label]
    seen_groups: set[int] = set()
    volume = 0.0
    for m in hits:
        if m.dup_group is not None:
            if m.dup_group in seen_groups:
                continue
            seen_groups.add(m.dup_group)
        age_days = max(0.0, (until - m.created_at).total_seconds() / 86400)
        volume += 2 ** (-age_days / cfg.half_life_days)
    reach = 1 + cfg.reach_weight * math.log10(1 + profile.followers)
    mean_eng = sum(m.likes + m.reposts + m.replies for m in ms) / len(ms)
    engagement = 1 + cfg.engagement_weight * math.log10(1 + mean_eng)
    weeks_total = _weeks(since, until)
    active_weeks = len({(m.created_at - since) // timedelta(weeks=1) for m in hits})
    consistency = cfg.consistency_floor + (1 - cfg.consistency_floor) * min(1.0, active_weeks / weeks_total)
    bot, per_day = bot_likeness(ms, cfg)
    dup_share = sum(1 for m in ms if m.dup_group is not None) / len(ms)
    penalty = (1 - cfg.bot_penalty * bot) * (1 - cfg.dup_penalty * dup_share)
    score = volume * reach * engagement * consistency * penalty if hits else 0.0
    net = net_sentiment(ms)
    key = (lambda m: m.p_positive) if kind == "advocates" else (lambda m: m.p_negative)
    top = sorted(hits, key=lambda m: (-(m.likes + m.reposts + m.replies) - 10 * key(m), m.mention_id))[: cfg.top_posts]
    urls = [u for u in (profile_url(*a.split(":", 1)) for a in profile.accounts) if u]
    return RankedAuthor(
        key=profile.key, accounts=profile.accounts, profile_urls=urls, display_name=profile.display_name,
        followers=profile.followers, score=round(score, 6), nps_class=nps_class(net, cfg), net_sentiment=round(net, 4),
        contact_id=profile.contact_id, link_status=profile.link_status,
        reasons={
            "kind_label": label, "posts": len(ms), "matching_posts": len(hits), "volume": round(volume, 4),
            "reach_factor": round(reach, 4), "mean_engagement": round(mean_eng, 2),
            "engagement_factor": round(engagement, 4), "active_weeks": active_weeks, "weeks": weeks_total,
            "consistency_factor": round(consistency, 4), "posts_per_active_day": round(per_day, 2),
            "bot_likeness": round(bot, 4), "dup_share": round(dup_share, 4), "penalty_factor": round(penalty, 4),
        },
        top_posts=[{"text": m.text, "url": m.url, "created_at": m.created_at.isoformat(),
                    "probability": round(key(m), 4), "engagement": m.likes + m.reposts + m.replies} for m in top],
    )


def rank(
    engine: Engine,
    model_key: str,
    brand: BrandConfig,
    all_brands: list[BrandConfig],
    cfg: AdvocatesConfig,
    *,
    kind: str = "advocates",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 50,
    opted_out_contacts: set[int] | None = None,
) -> list[RankedAuthor]:
    """Authors of `brand`'s mentions ranked by advocate (or detractor) score, best first, each with its reasons."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    profiles = build_profiles(engine, model_key, brands=[brand.name], since=since, until=until)
    if not profiles:
        return []
    firsts = [p.first_seen for p in profiles if p.first_seen is not None]
    lasts = [p.last_seen for p in profiles if p.last_seen is not None]
    start = since or min(firsts)
    end = until or (max(lasts) + timedelta(seconds=1))
    ranked = []
    for p in profiles:
        if excluded(p, all_brands, cfg) or (p.contact_id is not None and p.contact_id in (opted_out_contacts or ())):
            continue
        r = score_profile(p, brand.name, kind, cfg, start, end)
        if r is not None and r.score > 0:
            ranked.append(r)
    ranked.sort(key=lambda r: (-r.score, r.key))
    return ranked[:limit] if limit else ranked


@dataclass(frozen=True)
class NPSWeek:
    week: datetime
    promoters: int
    passives: int
    detractors: int

    @property
    def authors(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def nps(self) -> float:
        return round(100 * (self.promoters - self.detractors) / self.authors, 1) if self.authors else 0.0


def week_start(ts: datetime) -> datetime:
    d = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    return d - timedelta(days=d.weekday())


def social_nps(
    engine: Engine,
    model_key: str,
    brand: BrandConfig,
    all_brands: list[BrandConfig],
    cfg: AdvocatesConfig,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket: Callable[[datetime], datetime] = week_start,
) -> list[NPSWeek]:
    """Weekly social NPS: each author active in a week classed on that week's posts; % promoters − % detractors.

    `bucket` maps a post's time to the start of its bucket (default: its week); `period_nps` uses it to class
    each author on the posts of a whole period instead."""
    profiles = build_profiles(engine, model_key, brands=[brand.name], since=since, until=until)
    weeks: dict[datetime, Counter[str]] = defaultdict(Counter)
    for p in profiles:
        if excluded(p, all_brands, cfg):
            continue
        by_week: dict[datetime, list[AuthorMention]] = defaultdict(list)
        for m in p.brand_mentions(brand.name):
            by_week[bucket(m.created_at)].append(m)
        for w, ms in by_week.items():
            weeks[w][nps_class(net_sentiment(ms), cfg)] += 1
    return [NPSWeek(w, c["promoter"], c["passive"], c["detractor"]) for w, c in sorted(weeks.items())]


def period_nps(
    engine: Engine,
    model_key: str,
    brand: BrandConfig,
    all_brands: list[BrandConfig],
    cfg: AdvocatesConfig,
    *,
    since: datetime,
    until: datetime,
) -> tuple[NPSWeek, NPSWeek]:
    """Social NPS of [since, until) and of the period of the same length before it, in one read: `social_nps` with
    the two periods as its buckets (each author classed on their posts of the period)."""
    before = since - (until - since)
    got = {w.week: w for w in social_nps(engine, model_key, brand, all_brands, cfg, since=before, until=until,
                                         bucket=lambda ts: since if ts >= since else before)}
    return got.get(since, NPSWeek(since, 0, 0, 0)), got.get(before, NPSWeek(before, 0, 0, 0))
