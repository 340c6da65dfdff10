"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:42:51.294881
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import brandpulse.store.schema

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand', sa.String(length=255), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('window_start', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.Column('window_end', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.Column('updated_at', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('brand', 'rule', 'window_start', name='uq_alerts_brand_rule_window')
    )
    op.create_table('authors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('handle', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=True),
    sa.Column('followers', sa.BigInteger(), nullable=True),
    sa.Column('profile', sa.JSON(), nullable=True),
    sa.Column('crm_contact_id', sa.String(length=255), nullable=True),
    sa.Column('crm_match_method', sa.String(length=32), nullable=True),
    sa.Column('crm_confidence', sa.Float(), nullable=True),
    sa.Column('crm_confirmed', sa.Boolean(), nullable=False),
    sa.Column('first_seen', brandpulse.store.schema.UTCDateTime(), nullable=True),
    sa.Column('last_seen', brandpulse.store.schema.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'handle', name='uq_authors_platform_handle')
    )
    op.create_table('cursors',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('position', sa.Text(), nullable=False),
    sa.Column('updated_at', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'key')
    )
    op.create_table('rollups_hourly',
    sa.Column('model_key', sa.String(length=255), nullable=False),
    sa.Column('brand', sa.String(length=255), nullable=False),
    sa.Column('hour', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.Column('sentiment', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('reach', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('model_key', 'brand', 'hour', 'sentiment')
    )
    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('started_at', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.Column('finished_at', brandpulse.store.schema.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_role'), ['role'], unique=False)

    op.create_table('source_health',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('last_success', brandpulse.store.schema.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', brandpulse.store.schema.UTCDateTime(), nullable=True),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('lag_seconds', sa.Float(), nullable=True),
    sa.Column('rate_limit_remaining', sa.Integer(), nullable=True),
    sa.Column('rate_limit_reset', brandpulse.store.schema.UTCDateTime(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('updated_at', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'key')
    )
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', brandpulse.store.schema.UTCDateTime(), nullable=True),
    sa.Column('delivered_at', brandpulse.store.schema.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('alert_id', 'destination', name='uq_deliveries_alert_dest')
    )
    op.create_table('mentions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('native_id', sa.String(length=255), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('author_handle', sa.String(length=255), nullable=False),
    sa.Column('author_followers', sa.BigInteger(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=True),
    sa.Column('created_at', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.Column('likes', sa.Integer(), nullable=False),
    sa.Column('reposts', sa.Integer(), nullable=False),
    sa.Column('replies', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.String(length=255), nullable=True),
    sa.Column('brand', sa.String(length=255), nullable=True),
    sa.Column('query', sa.Text(), nullable=True),
    sa.Column('dup_group', sa.Integer(), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=True),
    sa.Column('ingested_at', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['authors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'native_id', name='uq_mentions_platform_native_id')
    )
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.create_index('ix_mentions_author', ['author_id'], unique=False)
        batch_op.create_index('ix_mentions_brand_created', ['brand', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mentions_dup_group'), ['dup_group'], unique=False)

    op.create_table('human_labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('sentiment', sa.String(length=16), nullable=True),
    sa.Column('emotions', sa.String(length=128), nullable=True),
    sa.Column('labeled_by', sa.String(length=255), nullable=True),
    sa.Column('labeled_at', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mention_id', name='uq_human_labels_mention')
    )
    op.create_table('scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=255), nullable=False),
    sa.Column('revision', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('p_negative', sa.Float(), nullable=False),
    sa.Column('p_neutral', sa.Float(), nullable=False),
    sa.Column('p_positive', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('emotions', sa.JSON(), nullable=False),
    sa.Column('scored_at', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mention_id', 'model', 'revision', name='uq_scores_mention_model')
    )
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.create_index('ix_scores_model', ['model', 'revision'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_index('ix_scores_model')

    op.drop_table('scores')
    op.drop_table('human_labels')
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mentions_dup_group'))
        batch_op.drop_index('ix_mentions_brand_created')
        batch_op.drop_index('ix_mentions_author')

    op.drop_table('mentions')
    op.drop_table('deliveries')
    op.drop_table('source_health')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_role'))

    op.drop_table('runs')
    op.drop_table('rollups_hourly')
    op.drop_table('cursors')
    op.drop_table('authors')
    op.drop_table('alerts')

