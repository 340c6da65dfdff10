"""SQLAlchemy 2.x models. Schema changes go through Alembic (brandpulse/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime()}


class AuthorRow(Base):
    __tablename__ = "authors"
    __table_args__ = (UniqueConstraint("platform", "handle", name="uq_authors_platform_handle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    followers: Mapped[int | None] = mapped_column(BigInteger)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    crm_contact_id: Mapped[str | None] = mapped_column(String(255))
    crm_match_method: Mapped[str | None] = mapped_column(String(32))
    crm_confidence: Mapped[float | None] = mapped_column(Float)
    crm_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]


class MentionRow(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "native_id", name="uq_mentions_platform_native_id"),
        Index("ix_mentions_brand_created", "brand", "created_at"),
        Index("ix_mentions_author", "author_id"),
        Index("ix_mentions_created_id", "created_at", "id"),
        # only near-duplicate groups are looked up by dup_group, and most mentions have none: a partial index costs
        # nothing on the ingest of a mention outside a group
        Index("ix_mentions_dup_group", "dup_group", sqlite_where=text("dup_group IS NOT NULL"),
              postgresql_where=text("dup_group IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    native_id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    author_handle: Mapped[str] = mapped_column(String(255))
    author_followers: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime]
    likes: Mapped[int] = mapped_column(Integer, default=0)
    reposts: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    parent_id: Mapped[str | None] = mapped_column(String(255))
    brand: Mapped[str | None] = mapped_column(String(255))
    query: Mapped[str | None] = mapped_column(Text)
    dup_group: Mapped[int | None] = mapped_column(Integer)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ingested_at: Mapped[datetime]


class MentionBrandRow(Base):
    """Which brands a mention is about: one row per (mention, brand). ``mentions.brand`` stays the first (primary) one."""

    __tablename__ = "mention_brands"
    __table_args__ = (Index("ix_mention_brands_brand", "brand"),)

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    brand: Mapped[str] = mapped_column(String(255), primary_key=True)


class ScoreRow(Base):
    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("mention_id", "model", "revision", name="uq_scores_mention_model"),
        Index("ix_scores_model", "model", "revision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(255))
    revision: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(16))
    p_negative: Mapped[float] = mapped_column(Float)
    p_neutral: Mapped[float] = mapped_column(Float)
    p_positive: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    emotions: Mapped[dict[str, Any]] = mapped_column(JSON)
    scored_at: Mapped[datetime]


class ScoreClaimRow(Base):
    """A scoring worker's lease on a mention for one model: taken before scoring, deleted with the saved score.

    A lease older than the scoring stage's `lease_s`, or held by a process of this host that is gone, is taken
    over by the next worker, so a killed worker's mentions are scored again.
    """

    __tablename__ = "score_claims"

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    model_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(255))
    claimed_at: Mapped[datetime]


class HumanLabelRow(Base):
    """Corrections made by people in the dashboard, kept apart from model scores."""

    __tablename__ = "human_labels"
    __table_args__ = (UniqueConstraint("mention_id", name="uq_human_labels_mention"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    sentiment: Mapped[str | None] = mapped_column(String(16))
    emotions: Mapped[str | None] = mapped_column(String(128))
    labeled_by: Mapped[str | None] = mapped_column(String(255))
    labeled_at: Mapped[datetime]


class RollupRow(Base):
    """Per model × brand × hour × sentiment: mention count and reach (sum of followers)."""

    __tablename__ = "rollups_hourly"

    model_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    brand: Mapped[str] = mapped_column(String(255), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    reach: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupDimRow(Base):
    """Per model × brand × dimension × hour × value: mention count and reach, for the dashboard's charts.

    dim is "emotion" (one row per emotion label a score carries), "platform" or "language" ("und" when unknown).
    """

    __tablename__ = "rollup_dims"

    model_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    brand: Mapped[str] = mapped_column(String(255), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    reach: Mapped[int] = mapped_column(BigInteger, default=0)


class DirtyHourRow(Base):
    """An hour of a brand whose rollups changed since the last alert pass read it (written with the rollups).

    `version` goes up on every change, so a pass clears only the marks it has evaluated.
    """

    __tablename__ = "dirty_hours"

    model_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    brand: Mapped[str] = mapped_column(String(255), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("brand", "rule", "window_start", name="uq_alerts_brand_rule_window"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand: Mapped[str] = mapped_column(String(255))
    rule: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    severity: Mapped[str] = mapped_column(String(16))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    #: Lifecycle (issue 12): who acknowledged / resolved the alert and when ("auto" resolves after a calm spell).
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: How often the alert was reopened (resolved, then new hours within the cooldown): its n-th resolution is
    #: announced as event "resolved" (n = 1) or "resolved:<n>", once per destination.
    reopens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AlertEvidenceRow(Base):
    """What an alert points at: its top posts, top authors and copy-paste campaign groups, by id.

    Post text is never copied into the alert; it is read from the mentions when the alert is shown,
    so a deleted or forgotten mention (or author) drops out of the evidence by the foreign keys alone.
    """

    __tablename__ = "alert_evidence"
    __table_args__ = (Index("ix_alert_evidence_alert", "alert_id", "kind", "rank"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    #: "post" (mention_id), "author" (author_id, count = their posts in the window) or "campaign" (dup_group)
    kind: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int] = mapped_column(Integer)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"), index=True)
    dup_group: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int | None] = mapped_column(Integer)


class DeliveryRow(Base):
    """Outbox: one row per alert × destination × event (opened, escalated:<severity>, resolved).

    A sender claims a pending row by setting `claimed_by`/`claimed_at` (a lease); a row whose lease is older
    than the lease time is claimable again, so a dead sender's rows are picked up. `last_error` and
    `response_status` hold what the destination answered, never its URL or secret.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "destination", "event", name="uq_deliveries_alert_dest_event"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32), default="opened", server_default="opened")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    response_status: Mapped[int | None] = mapped_column(Integer)


class CursorRow(Base):
    __tablename__ = "cursors"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class SourceHealthRow(Base):
    __tablename__ = "source_health"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_success: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    lag_seconds: Mapped[float | None] = mapped_column(Float)
    rate_limit_remaining: Mapped[int | None] = mapped_column(Integer)
    rate_limit_reset: Mapped[datetime | None]
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class RunRow(Base):
    """One row per CLI/service step (collect, score, alerts …) so `status` can show the last runs."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(32), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    #: The process doing the run and when it last said it was alive (a killed run leaves these behind).
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None]


class ContactRow(Base):
    """A CRM contact (imported from CSV, HubSpot or Salesforce), used to link authors to the people a brand knows."""

    __tablename__ = "crm_contacts"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_crm_contacts_source_external"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(String(255))
    #: platform → handle (as the CRM holds it: @name, a profile URL, …); "any" when the platform is unknown
    handles: Mapped[dict[str, Any]] = mapped_column(JSON)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class AuthorContactLinkRow(Base):
    """An author ↔ CRM contact link: auto (over the threshold), proposed (waits for a person), confirmed or rejected."""

    __tablename__ = "author_contact_links"
    __table_args__ = (
        UniqueConstraint("author_id", "contact_id", name="uq_author_contact_links_pair"),
        Index("ix_author_contact_links_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CrmCaseRow(Base):
    """Outbox for CRM cases: one row per (negative mention, CRM), written with the decision, sent by a later pass.

    status: pending (waits to be sent or retried) → sending (claimed by a pass) → sent (external_id holds the CRM's id).
    """

    __tablename__ = "crm_cases"
    __table_args__ = (
        UniqueConstraint("mention_id", "crm", name="uq_crm_cases_mention_crm"),
        Index("ix_crm_cases_status", "crm", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"), index=True)
    crm: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: what the case carries: post text, link, scores, author, contact's CRM id
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    external_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
