"""What a delivered message says about an alert, independent of where it goes (Slack blocks, JSON webhook body).

`build_message` reads the alert from the store when the delivery is sent, so the message shows the alert as it is
then. Evidence comes from `render_evidence(engine, alert)` (the alerts stage's renderer, which reads post text at read
time); without one, the evidence stored on the alert row is used, and post entries that hold only a mention id are
filled in from the mentions table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from alerts.delivery.routing import severity_name
from brandpulse.store.outbox import alert_snapshot, mentions_by_id

#: (engine, alert snapshot from brandpulse.store.outbox.alert_snapshot) -> evidence dict with top_posts (dicts with
#: text, url, author_handle, platform), top_authors, top_terms, emotions, why.
EvidenceRenderer = Callable[[Engine, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Post:
    text: str
    url: str | None
    author: str
    platform: str
    followers: int | None = None


@dataclass(frozen=True)
class AlertMessage:
    alert_id: int
    event: str  # opened | escalated:<severity> | resolved
    brand: str
    rule: str
    severity: str
    state: str
    window_start: datetime
    window_end: datetime
    metrics: dict[str, Any]
    why: str
    posts: list[Post] = field(default_factory=list)
    authors: list[dict[str, Any]] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    emotions: dict[str, float] = field(default_factory=dict)
    dashboard_url: str | None = None

    @property
    def event_kind(self) -> str:
        return self.event.split(":", 1)[0]


def dashboard_link(public_url: str | None, alert_id: int) -> str | None:
    """The alert on the dashboard's Alerts page, when the dashboard's public URL is configured."""
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}/?page=Alerts&alert={alert_id}"


def _posts(engine: Engine, items: list[Any]) -> list[Post]:
    ids = [int(i) for i in items if isinstance(i, int)]
    ids += [int(i.get("mention_id") or i.get("id") or 0) for i in items if isinstance(i, dict) and "text" not in i]
    looked_up = mentions_by_id(engine, ids)
    out: list[Post] = []
    for item in items:
        if isinstance(item, int):
            row: dict[str, Any] | None = looked_up.get(item)
        elif isinstance(item, dict) and "text" in item:
            row = item
        elif isinstance(item, dict):
            row = looked_up.get(int(item.get("mention_id") or item.get("id") or 0))
        else:
            row = None
        if row is None:  # deleted or forgotten since: it drops out
            continue
        out.append(Post(text=str(row.get("text") or ""), url=row.get("url"),
                        author=str(row.get("author_handle") or row.get("author") or "?"),
                        platform=str(row.get("platform") or ""), followers=row.get("author_followers")))
    return out


def _emotions(raw: Any) -> dict[str, float]:
    if isinstance(raw, dict):
        return {str(k): float(v) for k, v in raw.items() if isinstance(v, int | float)}
    if isinstance(raw, list):
        out: dict[str, float] = {}
        for e in raw:
            if isinstance(e, dict) and "emotion" in e:
                out[str(e["emotion"])] = float(e.get("share") or e.get("lift") or 0.0)
            elif isinstance(e, str):
                out[e] = 0.0
        return out
    return {}


def build_message(engine: Engine, alert_id: int, event: str, *, public_url: str | None = None,
                  render_evidence: EvidenceRenderer | None = None) -> AlertMessage | None:
    """The message for `event` of alert `alert_id`, or None when the alert no longer exists."""
    snap = alert_snapshot(engine, alert_id)
    if snap is None:
        return None
    evidence = render_evidence(engine, snap) if render_evidence else snap["evidence"]
    try:
        severity = severity_name(str(snap["severity"]))
    except ValueError:
        severity = str(snap["severity"])
    return AlertMessage(
        alert_id=alert_id, event=event, brand=snap["brand"], rule=snap["rule"], severity=severity, state=snap["state"],
        window_start=snap["window_start"], window_end=snap["window_end"], metrics=snap["metrics"],
        why=str(evidence.get("why") or ""),
        posts=_posts(engine, list(evidence.get("top_posts") or [])),
        authors=[a for a in (evidence.get("top_authors") or []) if isinstance(a, dict)],
        terms=[str(t) for t in (evidence.get("top_terms") or [])],
        emotions=_emotions(evidence.get("emotions") or evidence.get("rising_emotions")),
        dashboard_url=dashboard_link(public_url, alert_id),
    )
