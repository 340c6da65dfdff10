"""Alerts in the store: upserting detected alerts with their evidence ids, reading them back,
rendering evidence text at read time, and the alert pass's position (a cursors row).

Evidence is stored as ids (`alert_evidence` rows pointing at mentions, authors and
near-duplicate groups); post text and handles are read from the mentions when an alert
is shown, so a forgotten author or a deleted post drops out without touching any JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, and_, delete, func, select
from sqlalchemy.orm import Session

from brandpulse.errors import InputError
from brandpulse.model_key import ModelKey
from brandpulse.store.cursors import load_cursor, save_cursor_in
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import AlertEvidenceRow, AlertRow, AuthorRow, DirtyHourRow, MentionRow, ScoreRow
from brandpulse.types import Cursor, utcnow

#: The cursors row that holds where the next alert pass resumes (the migration 0003 moved it here).
CURSOR_SOURCE, CURSOR_KEY = "alerts", "check"
#: Lifecycle states (issue 12 adds the transitions); "open" and "acknowledged" are shown as active.
ALERT_STATES = ("open", "acknowledged", "resolved")
ACTIVE_STATES = ("open", "acknowledged")

#: "reopened": a resolved alert of the same brand and rule got new hours within the cooldown (no new page).
Outcome = Literal["new", "extended", "escalated", "reopened", "unchanged"]
#: Called inside the transaction that resolves an alert (the alerts stage queues its "resolved" messages there).
OnResolved = Callable[[Session, int], None]
#: Who resolves an alert whose brand has been back at baseline for `[alerts] auto_resolve_hours`.
AUTO = "auto"
#: Severity order (notice < warning < critical), names stored before issue 12 included.
_SEVERITY_ORDER = {"low": 0, "notice": 0, "medium": 1, "warning": 1, "high": 2, "critical": 2}


@dataclass
class EvidenceRefs:
    """What an alert's evidence points at, by id (no text)."""

    post_ids: list[int] = field(default_factory=list)
    #: (author id, posts of theirs in the window)
    authors: list[tuple[int, int]] = field(default_factory=list)
    campaign_groups: list[int] = field(default_factory=list)


@dataclass
class StoredAlert:
    id: int
    rule: str
    brand: str
    start: datetime
    end: datetime
    severity: str
    state: str
    metrics: dict[str, Any]
    #: the JSON kept on the alert: model key, lifted terms, the "why" line at detection time
    summary: dict[str, Any]
    refs: EvidenceRefs
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    created_at: datetime | None = None


# --------------------------------------------------------------------------- the pass position
def alert_position(engine: Engine) -> datetime | None:
    """The hour the last alert pass evaluated up to (exclusive), or None before the first pass."""
    cur = load_cursor(engine, CURSOR_SOURCE, CURSOR_KEY)
    return datetime.fromisoformat(cur.position) if cur else None


def has_dirty_hours(engine: Engine) -> bool:
    """Whether scoring has marked any rollup hour changed since the last alert pass (a cheap poll for the run loop)."""
    with session_scope(engine) as s:
        return s.scalars(select(DirtyHourRow.brand).limit(1)).first() is not None


def save_alert_position(engine: Engine, until: datetime) -> None:
    with session_scope(engine) as s:
        save_cursor_in(s, Cursor(CURSOR_SOURCE, CURSOR_KEY, until.isoformat()))


# --------------------------------------------------------------------------- evidence ids at detection time
def _score_join(model_key: str) -> Any:
    key = ModelKey.parse(model_key)
    model, revision = key.name, key.revision
    return and_(ScoreRow.mention_id == MentionRow.id, ScoreRow.model == model, ScoreRow.revision == revision)


def top_post_ids(engine: Engine, model_key: str, brand: str, start: datetime, end: datetime, label: str | None,
                 limit: int = 5) -> list[int]:
    """The most visible posts of a brand in a window (reach + engagement first), with `label` if given."""
    weight = MentionRow.likes + MentionRow.reposts * 2 + MentionRow.replies + func.coalesce(MentionRow.author_followers, 0) / 100
    q = (select(MentionRow.id).join(ScoreRow, _score_join(model_key))
         .where(MentionRow.brand == brand, MentionRow.created_at >= start, MentionRow.created_at < end))
    order: list[Any] = [weight.desc()]
    if label is not None:
        q = q.where(ScoreRow.label == label)
        order.append(ScoreRow.p_negative.desc())
    with session_scope(engine) as s:
        return list(s.scalars(q.order_by(*order, MentionRow.id).limit(limit)))


def top_authors(engine: Engine, model_key: str, brand: str, start: datetime, end: datetime, label: str | None,
                limit: int = 5) -> list[tuple[int, int]]:
    """(author id, posts) of the authors with the most posts (with `label` if given) in a window."""
    n = func.count().label("posts")
    q = (select(MentionRow.author_id, n).join(ScoreRow, _score_join(model_key))
         .where(MentionRow.brand == brand, MentionRow.created_at >= start, MentionRow.created_at < end))
    if label is not None:
        q = q.where(ScoreRow.label == label)
    q = q.group_by(MentionRow.author_id).order_by(n.desc(), func.max(MentionRow.author_followers).desc(),
                                                  MentionRow.author_id).limit(limit)
    with session_scope(engine) as s:
        return [(int(r.author_id), int(r.posts)) for r in s.execute(q)]


def window_texts(engine: Engine, model_key: str, brand: str, start: datetime, end: datetime,
                 label: str | None = None, limit: int = 2000) -> list[str]:
    q = select(MentionRow.text).where(MentionRow.brand == brand, MentionRow.created_at >= start,
                                      MentionRow.created_at < end)
    if label is not None:
        q = q.join(ScoreRow, _score_join(model_key)).where(ScoreRow.label == label)
    with session_scope(engine) as s:
        return list(s.scalars(q.limit(limit)))


def emotion_counts(engine: Engine, model_key: str, brand: str, start: datetime, end: datetime,
                   limit: int = 5000) -> tuple[int, dict[str, int]]:
    """(scored mentions, how many carry each emotion label) for a brand in a window (at most `limit` rows read)."""
    q = (select(ScoreRow.emotions).join(MentionRow, _score_join(model_key))
         .where(MentionRow.brand == brand, MentionRow.created_at >= start, MentionRow.created_at < end).limit(limit))
    n, counts = 0, Counter[str]()
    with session_scope(engine) as s:
        for emotions in s.scalars(q):
            n += 1
            labels = (emotions or {}).get("labels") or []
            counts.update(str(label) for label in labels)
    return n, dict(counts)


def campaigns(engine: Engine, brand: str, start: datetime, end: datetime, groups: Sequence[int] | None = None,
              min_size: int = 3, limit: int = 5) -> list[dict[str, Any]]:
    """Near-duplicate groups (copy-paste campaigns) among a brand's mentions in a window, biggest first:
    group, posts, authors, and one post's text (read now, so deleted posts are gone from it)."""
    size = func.count().label("posts")
    q = (
        select(MentionRow.dup_group, size, func.count(func.distinct(MentionRow.author_id)).label("authors"),
               func.min(MentionRow.text).label("text"))
        .where(MentionRow.brand == brand, MentionRow.created_at >= start, MentionRow.created_at < end,
               MentionRow.dup_group.is_not(None))
        .group_by(MentionRow.dup_group)
        .having(func.count() >= min_size)
        .order_by(size.desc(), MentionRow.dup_group)
        .limit(limit)
    )
    if groups is not None:
        if not groups:
            return []
        q = q.where(MentionRow.dup_group.in_(list(groups)))
    with session_scope(engine) as s:
        return [{"group": int(r.dup_group), "posts": int(r.posts), "authors": int(r.authors), "text": r.text[:280]}
                for r in s.execute(q)]


# --------------------------------------------------------------------------- writing alerts
def _evidence_rows(alert_id: int, refs: EvidenceRefs) -> list[AlertEvidenceRow]:
    rows = [AlertEvidenceRow(alert_id=alert_id, kind="post", rank=i, mention_id=m) for i, m in enumerate(refs.post_ids)]
    rows += [AlertEvidenceRow(alert_id=alert_id, kind="author", rank=i, author_id=a, count=n)
             for i, (a, n) in enumerate(refs.authors)]
    rows += [AlertEvidenceRow(alert_id=alert_id, kind="campaign", rank=i, dup_group=g)
             for i, g in enumerate(refs.campaign_groups)]
    return rows


def upsert_alert(
    engine: Engine, *, rule: str, brand: str, start: datetime, end: datetime, severity: str,
    metrics: dict[str, Any], summary: dict[str, Any], refs: EvidenceRefs, cooldown_hours: float = 0.0,
) -> tuple[int, Outcome]:
    """`upsert_alert_in` in a transaction of its own; returns the alert id and what happened."""
    with session_scope(engine) as s:
        row, outcome = upsert_alert_in(s, rule=rule, brand=brand, start=start, end=end, severity=severity,
                                       metrics=metrics, summary=summary, refs=refs, cooldown_hours=cooldown_hours)
        return row.id, outcome


def upsert_alert_in(
    session: Session, *, rule: str, brand: str, start: datetime, end: datetime, severity: str,
    metrics: dict[str, Any], summary: dict[str, Any], refs: EvidenceRefs, cooldown_hours: float = 0.0,
) -> tuple[AlertRow, Outcome]:
    """Store a detected alert, or update the stored one of the same brand and rule whose window it
    overlaps, touches, or follows within `cooldown_hours` (re-evaluating hours never duplicates an
    alert, and one episode that pauses briefly is one alert).

    The stored window becomes the union of both. A resolved alert that gets hours after its window
    is reopened ("reopened": no new page); "escalated" = severity went up (delivery announces it as a
    follow-up). Returns the row (flushed, so it has its id) and what happened.
    """
    now = utcnow()
    s = session
    reach = start - timedelta(hours=max(cooldown_hours, 0.0))
    existing = s.scalars(
        select(AlertRow).where(AlertRow.brand == brand, AlertRow.rule == rule,
                               AlertRow.window_start <= end, AlertRow.window_end >= reach)
        .order_by(AlertRow.window_end.desc(), AlertRow.id)
    ).first()
    if existing is None:
        row = AlertRow(brand=brand, rule=rule, window_start=start, window_end=end, severity=severity,
                       metrics=metrics, evidence=summary, state="open", created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        s.add_all(_evidence_rows(row.id, refs))
        return row, "new"
    if start >= existing.window_start and end <= existing.window_end and (
            metrics == existing.metrics or start > existing.window_start):
        # the same alert again, or a re-evaluated stretch inside it: nothing new to say
        return existing, "unchanged"
    escalated = _SEVERITY_ORDER.get(severity, 0) > _SEVERITY_ORDER.get(existing.severity, 0)
    reopened = existing.state == "resolved" and end > existing.window_end
    existing.window_start = min(existing.window_start, start)
    existing.window_end = max(existing.window_end, end)
    existing.metrics = metrics
    existing.evidence = summary
    if escalated:
        existing.severity = severity
    if reopened:
        existing.reopens = (existing.reopens or 0) + 1
        existing.state = "open"
        existing.resolved_at = None
        existing.resolved_by = None
    existing.updated_at = now
    _replace_evidence(s, existing.id, refs)
    return existing, "escalated" if escalated else "reopened" if reopened else "extended"


def alert_windows(engine: Engine, brand: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The windows of a brand's stored alerts (any rule, any state) that overlap or touch [start, end)."""
    q = (select(AlertRow.window_start, AlertRow.window_end)
         .where(AlertRow.brand == brand, AlertRow.window_start <= end, AlertRow.window_end >= start)
         .order_by(AlertRow.window_start))
    with session_scope(engine) as s:
        return [(r.window_start, r.window_end) for r in s.execute(q)]


def _replace_evidence(session: Session, alert_id: int, refs: EvidenceRefs) -> None:
    session.execute(delete(AlertEvidenceRow).where(AlertEvidenceRow.alert_id == alert_id))
    session.add_all(_evidence_rows(alert_id, refs))


# --------------------------------------------------------------------------- reading alerts
def stored_alerts(engine: Engine, states: Sequence[str] = ACTIVE_STATES, brand: str | None = None,
                  ids: Sequence[int] | None = None) -> list[StoredAlert]:
    """Alerts in the given states (and with these ids, if given), newest window first, with their evidence ids."""
    q = select(AlertRow).where(AlertRow.state.in_(list(states))).order_by(AlertRow.window_start.desc(), AlertRow.id)
    if brand is not None:
        q = q.where(AlertRow.brand == brand)
    if ids is not None:
        q = q.where(AlertRow.id.in_(list(ids)))
    with session_scope(engine) as s:
        alerts = list(s.scalars(q))
        refs: dict[int, EvidenceRefs] = {a.id: EvidenceRefs() for a in alerts}
        if alerts:
            ev = s.scalars(select(AlertEvidenceRow).where(AlertEvidenceRow.alert_id.in_(list(refs)))
                           .order_by(AlertEvidenceRow.alert_id, AlertEvidenceRow.kind, AlertEvidenceRow.rank))
            for e in ev:
                r = refs[e.alert_id]
                if e.kind == "post" and e.mention_id is not None:
                    r.post_ids.append(e.mention_id)
                elif e.kind == "author" and e.author_id is not None:
                    r.authors.append((e.author_id, e.count or 0))
                elif e.kind == "campaign" and e.dup_group is not None:
                    r.campaign_groups.append(e.dup_group)
        return [StoredAlert(a.id, a.rule, a.brand, a.window_start, a.window_end, a.severity, a.state, a.metrics,
                            a.evidence or {}, refs[a.id], a.acknowledged_at, a.acknowledged_by, a.resolved_at,
                            a.resolved_by, a.created_at) for a in alerts]


def posts_by_id(engine: Engine, model_key: str | None, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The posts with these ids that still exist, in the given order (text read now)."""
    if not ids:
        return []
    cols = [MentionRow.id, MentionRow.platform, MentionRow.author_handle, MentionRow.text, MentionRow.url,
            MentionRow.created_at, MentionRow.author_followers, MentionRow.likes, MentionRow.reposts]
    q: Any = select(*cols).where(MentionRow.id.in_(list(ids)))
    if model_key:
        q = select(*cols, ScoreRow.p_negative).outerjoin(ScoreRow, _score_join(model_key)).where(
            MentionRow.id.in_(list(ids)))
    with session_scope(engine) as s:
        found = {r.id: {**r._asdict(), "created_at": r.created_at.isoformat(), "text": r.text[:500]} for r in s.execute(q)}
    return [found[i] for i in ids if i in found]


def authors_by_id(engine: Engine, refs: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
    """Platform, handle and followers of the authors that still exist, with their post counts, in order."""
    if not refs:
        return []
    q = select(AuthorRow.id, AuthorRow.platform, AuthorRow.handle, AuthorRow.followers).where(
        AuthorRow.id.in_([a for a, _ in refs]))
    with session_scope(engine) as s:
        found = {r.id: r for r in s.execute(q)}
    return [{"platform": found[a].platform, "author_handle": found[a].handle, "posts": n,
             "followers": found[a].followers} for a, n in refs if a in found]


def stored_alert(engine: Engine, alert_id: int) -> StoredAlert | None:
    """One alert (any state) with its evidence ids, or None when there is no such alert."""
    found = stored_alerts(engine, ALERT_STATES, ids=[alert_id])
    return found[0] if found else None


# --------------------------------------------------------------------------- lifecycle: open → acknowledged → resolved
def _who(by: str) -> str:
    who = " ".join(str(by).split())[:128]
    if not who:
        raise InputError("--by must name who did it (a name or handle), got an empty value")
    return who


def _get(session: Session, alert_id: int) -> AlertRow:
    row = session.get(AlertRow, alert_id, with_for_update=True)
    if row is None:
        raise InputError(f"there is no alert {alert_id}; `brandpulse alerts list --state all` shows the ids")
    return row


def acknowledge_alert(engine: Engine, alert_id: int, by: str, *, now: datetime | None = None) -> bool:
    """Mark an open alert acknowledged by `by` (someone is on it). False when it already was acknowledged;
    InputError for an unknown or resolved alert."""
    who = _who(by)
    with session_scope(engine) as s:
        row = _get(s, alert_id)
        if row.state == "acknowledged":
            return False
        if row.state == "resolved":
            raise InputError(f"alert {alert_id} is already resolved (by {row.resolved_by or 'someone'}); "
                             "nothing to acknowledge")
        row.state, row.acknowledged_at, row.acknowledged_by = "acknowledged", now or utcnow(), who
        row.updated_at = now or utcnow()
        return True


def _resolve_in(session: Session, row: AlertRow, who: str, now: datetime, on_resolved: OnResolved | None) -> None:
    row.state, row.resolved_at, row.resolved_by, row.updated_at = "resolved", now, who, now
    session.flush()
    if on_resolved is not None:
        on_resolved(session, row.id)


def resolve_alert(engine: Engine, alert_id: int, by: str, *, on_resolved: OnResolved | None = None,
                  now: datetime | None = None) -> bool:
    """Mark an open or acknowledged alert resolved by `by`; `on_resolved(session, id)` runs in the same
    transaction. False when it already was resolved; InputError for an unknown alert."""
    who = _who(by)
    with session_scope(engine) as s:
        row = _get(s, alert_id)
        if row.state == "resolved":
            return False
        _resolve_in(s, row, who, now or utcnow(), on_resolved)
        return True


def auto_resolve_alerts(engine: Engine, calm_since: datetime, *, on_resolved: OnResolved | None = None,
                        now: datetime | None = None) -> list[int]:
    """Resolve (by "auto") every open or acknowledged alert whose window ended at or before `calm_since`
    (the caller passes the evaluated position minus `auto_resolve_hours`: no hour since fired). Returns their ids."""
    done: list[int] = []
    with session_scope(engine) as s:
        rows = s.scalars(select(AlertRow).where(AlertRow.state.in_(list(ACTIVE_STATES)), AlertRow.window_end <= calm_since)
                         .order_by(AlertRow.id).with_for_update(skip_locked=True))
        for row in rows:
            _resolve_in(s, row, AUTO, now or utcnow(), on_resolved)
            done.append(row.id)
    return done
