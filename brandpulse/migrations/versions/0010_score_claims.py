"""score claims: scoring workers lease mentions (works on SQLite, where FOR UPDATE does not)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import brandpulse.store.schema

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('score_claims',
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('model_key', sa.String(length=255), nullable=False),
    sa.Column('claimed_by', sa.String(length=255), nullable=False),
    sa.Column('claimed_at', brandpulse.store.schema.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('mention_id', 'model_key')
    )


def downgrade() -> None:
    op.drop_table('score_claims')
