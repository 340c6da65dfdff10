"""Evidence: why an alert fired, kept as ids and rendered from the store when it is read.

At detection time `collect` picks the window's top posts, top authors and copy-paste
campaign groups (stored as ids, brandpulse.store.alerts), the terms lifted against the
baseline, and the shares of mentions scored angry or disgusted in the window and before it
(the emotion signal is evidence only: the rollups carry no emotions, so no rule reads it).
`render` reads the post text, handles and campaign sizes at read time, so a
deleted post or a forgotten author simply drops out of every alert's evidence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from alerts.registry import registry
from alerts.rule import AlertRule, CandidateAlert
from brandpulse.config import AlertRuleConfig
from brandpulse.store.alerts import (
    ACTIVE_STATES,
    EvidenceRefs,
    StoredAlert,
    authors_by_id,
    campaigns,
    emotion_counts,
    posts_by_id,
    stored_alerts,
    top_authors,
    top_post_ids,
    window_texts,
)

_STOPWORDS = (
    "the a an and or to of in on for is it i my me you your this that with at be are was have has not no but so"
    " we they just do can from our get got all its it's im i'm about what when will would there their by as"
    " и в не на я что с а по это как у но за то все от так же к мне вы из бы ты"
    " і в не на я що з а по це як у але за та все від так ж до мені ви із би ти й"
)
_STOP = set(_STOPWORDS.split())
_TOKEN = re.compile(r"[#@]?\w[\w'-]{2,}", re.UNICODE)


def top_terms(texts: list[str], baseline: list[str], n: int = 8) -> list[str]:
    """Words much more frequent in the window than in the baseline (a simple lift ranking)."""

    def counts(ts: list[str]) -> Counter[str]:
        c: Counter[str] = Counter()
        for t in ts:
            c.update({w for w in (m.group(0).lower() for m in _TOKEN.finditer(t)) if w not in _STOP and not w.isdigit()})
        return c

    win, base = counts(texts), counts(baseline)
    nw, nb = max(len(texts), 1), max(len(baseline), 1)
    lift = {w: (c / nw) / ((base.get(w, 0) + 1) / nb) for w, c in win.items() if c >= 2}
    return [w for w, _ in sorted(lift.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


#: Emotions whose share jumping is evidence of a wave of negativity.
NEGATIVE_EMOTIONS = ("anger", "disgust")


def emotion_shift(window: tuple[int, dict[str, int]], baseline: tuple[int, dict[str, int]]) -> dict[str, dict[str, float]]:
    """Share of scored mentions carrying each negative emotion, in the window and in the baseline before it."""
    (nw, cw), (nb, cb) = window, baseline
    return {e: {"window": round(cw.get(e, 0) / nw, 3) if nw else 0.0,
                "baseline": round(cb.get(e, 0) / nb, 3) if nb else 0.0} for e in NEGATIVE_EMOTIONS}


def emotion_note(shift: dict[str, dict[str, float]]) -> str:
    """"; anger 45% of mentions vs 8% usual" for each negative emotion that at least doubled by 10+ points."""
    jumps = [f"{e} {v['window']:.0%} of mentions vs {v['baseline']:.0%} usual" for e, v in shift.items()
             if v["window"] >= max(2 * v["baseline"], v["baseline"] + 0.10)]
    return "; " + ", ".join(jumps) if jumps else ""


def campaign_note(camps: list[dict[str, Any]]) -> str:
    if not camps:
        return ""
    c = camps[0]
    return f"; includes a copy-paste campaign of {c['posts']} near-identical posts by {c['authors']} accounts"


@dataclass
class Collected:
    refs: EvidenceRefs
    #: kept on the alert row: model key, lifted terms, the "why" line (numbers only, no post text)
    summary: dict[str, Any]


def collect(engine: Engine, model_key: str, rule: AlertRule, alert: CandidateAlert) -> Collected:
    """The evidence of a detected alert, as ids plus a text-free summary."""
    label = rule.evidence_label
    brand, start, end = alert.brand, alert.start, alert.end
    camps = campaigns(engine, brand, start, end)
    terms = top_terms(window_texts(engine, model_key, brand, start, end, label=label),
                      window_texts(engine, model_key, brand, start - timedelta(hours=rule.baseline_hours()), start))
    refs = EvidenceRefs(post_ids=top_post_ids(engine, model_key, brand, start, end, label),
                        authors=top_authors(engine, model_key, brand, start, end, label),
                        campaign_groups=[c["group"] for c in camps])
    emotions = emotion_shift(emotion_counts(engine, model_key, brand, start, end),
                             emotion_counts(engine, model_key, brand, start - timedelta(hours=rule.baseline_hours()), start))
    return Collected(refs, {"model": model_key, "top_terms": terms, "emotions": emotions,
                            "why": rule.explain(alert) + campaign_note(camps) + emotion_note(emotions)})


def render(engine: Engine, alert: StoredAlert, rule: AlertRule | None = None) -> dict[str, Any]:
    """What a person sees of an alert's evidence, read from the store now: top posts (with text),
    top authors, lifted terms, copy-paste campaigns, the anger/disgust shares (window vs baseline),
    and the "why" line."""
    model_key = alert.summary.get("model")
    camps = campaigns(engine, alert.brand, alert.start, alert.end, groups=alert.refs.campaign_groups)
    emotions = alert.summary.get("emotions") or {}
    why = (rule.explain(alert) + campaign_note(camps) + emotion_note(emotions)) if rule is not None \
        else str(alert.summary.get("why", ""))
    return {
        "top_posts": posts_by_id(engine, model_key, alert.refs.post_ids),
        "top_authors": authors_by_id(engine, alert.refs.authors),
        "top_terms": list(alert.summary.get("top_terms", [])),
        "campaigns": camps,
        "emotions": emotions,
        "model": model_key,
        "why": why,
    }


@dataclass
class AlertView:
    """A stored alert with its evidence rendered, for the CLI, the dashboard and delivery."""

    id: int
    rule: str
    brand: str
    start: datetime
    end: datetime
    severity: str
    state: str
    metrics: dict[str, Any]
    evidence: dict[str, Any]


def alert_views(engine: Engine, config: AlertRuleConfig | None = None, states: Sequence[str] = ACTIVE_STATES,
                brand: str | None = None) -> list[AlertView]:
    """Stored alerts (newest window first) with their evidence rendered from the store now."""
    reg = registry()
    config = config or AlertRuleConfig()
    views = []
    for a in stored_alerts(engine, states, brand):
        cls = reg.get(a.rule)
        rule = cls(cls.Config.model_validate(config.rules.get(a.rule, {}))) if cls is not None else None
        views.append(AlertView(a.id, a.rule, a.brand, a.start, a.end, a.severity, a.state, a.metrics,
                               render(engine, a, rule)))
    return views
