"""alert evidence by id; the alert pass's position in the cursors table

Alerts stop copying post text into their evidence JSON: the top posts, top authors and
campaign groups become `alert_evidence` rows that point at mentions/authors (ON DELETE
CASCADE), and text is read from the store when an alert is shown. Existing alerts are
converted (posts and authors that no longer exist are dropped). The alert pass's resume
point moves from the last "alerts" run's counts into the cursors table.

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01 08:10:00
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None

#: The cursors row holding the alert pass's position (brandpulse.store.alerts uses the same).
CURSOR_SOURCE, CURSOR_KEY = "alerts", "check"
#: What stays in alerts.evidence: no post text, no handles.
KEPT_EVIDENCE_KEYS = ("model", "top_terms", "why")


def upgrade() -> None:
    op.create_table('alert_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('dup_group', sa.Integer(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['authors.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_evidence', schema=None) as batch_op:
        batch_op.create_index('ix_alert_evidence_alert', ['alert_id', 'kind', 'rank'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_evidence_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_evidence_mention_id'), ['mention_id'], unique=False)
    bind = op.get_bind()
    _convert_evidence(bind)
    _move_alert_position(bind)


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _convert_evidence(bind: sa.engine.Connection) -> None:
    alerts = sa.table('alerts', sa.column('id', sa.Integer), sa.column('evidence', sa.JSON))
    mentions = sa.table('mentions', sa.column('id', sa.Integer))
    authors = sa.table('authors', sa.column('id', sa.Integer), sa.column('platform', sa.String),
                       sa.column('handle', sa.String))
    evidence = sa.table('alert_evidence', *(sa.column(c) for c in
                                            ('alert_id', 'kind', 'rank', 'mention_id', 'author_id', 'dup_group', 'count')))
    for alert_id, raw in bind.execute(sa.select(alerts.c.id, alerts.c.evidence)).all():
        ev = _json(raw)
        rows: list[dict[str, Any]] = []
        for rank, post in enumerate(ev.get('top_posts') or []):
            mid = post.get('id')
            if mid is not None and bind.execute(sa.select(mentions.c.id).where(mentions.c.id == mid)).first():
                rows.append({'kind': 'post', 'rank': rank, 'mention_id': mid})
        for rank, author in enumerate(ev.get('top_authors') or []):
            aid = bind.execute(sa.select(authors.c.id).where(authors.c.platform == author.get('platform'),
                                                             authors.c.handle == author.get('author_handle'))).scalar()
            if aid is not None:
                rows.append({'kind': 'author', 'rank': rank, 'author_id': aid, 'count': author.get('negative_posts')})
        for rank, campaign in enumerate(ev.get('campaigns') or []):
            if campaign.get('group') is not None:
                rows.append({'kind': 'campaign', 'rank': rank, 'dup_group': campaign['group']})
        full = [{'alert_id': alert_id, 'mention_id': None, 'author_id': None, 'dup_group': None, 'count': None, **r}
                for r in rows]
        if full:
            bind.execute(sa.insert(evidence), full)
        kept = {k: ev[k] for k in KEPT_EVIDENCE_KEYS if k in ev}
        bind.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(evidence=kept))


def _move_alert_position(bind: sa.engine.Connection) -> None:
    runs = sa.table('runs', sa.column('id', sa.Integer), sa.column('role', sa.String), sa.column('status', sa.String),
                    sa.column('counts', sa.JSON))
    cursors = sa.table('cursors', sa.column('source', sa.String), sa.column('key', sa.String),
                       sa.column('position', sa.Text), sa.column('updated_at', sa.DateTime))
    raw = bind.execute(sa.select(runs.c.counts).where(runs.c.role == 'alerts', runs.c.status == 'ok')
                       .order_by(runs.c.id.desc()).limit(1)).scalar()
    until = _json(raw).get('evaluated_until') if raw is not None else None
    if not until:
        return
    exists = bind.execute(sa.select(cursors.c.key).where(cursors.c.source == CURSOR_SOURCE,
                                                          cursors.c.key == CURSOR_KEY)).first()
    if exists is None:
        now = datetime.now(UTC)
        bind.execute(sa.insert(cursors).values(source=CURSOR_SOURCE, key=CURSOR_KEY, position=until,
                                               updated_at=now.replace(tzinfo=None) if bind.dialect.name == 'sqlite' else now))


def downgrade() -> None:
    with op.batch_alter_table('alert_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_evidence_mention_id'))
        batch_op.drop_index(batch_op.f('ix_alert_evidence_author_id'))
        batch_op.drop_index('ix_alert_evidence_alert')
    op.drop_table('alert_evidence')
    op.execute(sa.text(f"DELETE FROM cursors WHERE source = '{CURSOR_SOURCE}' AND key = '{CURSOR_KEY}'"))
