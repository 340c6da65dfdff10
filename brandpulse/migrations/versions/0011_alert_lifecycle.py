"""alert lifecycle: who acknowledged / resolved an alert and when

Alerts move open → acknowledged → resolved (by a person with `brandpulse alerts ack|resolve`, or "auto" once the
brand is back at baseline for `[alerts] auto_resolve_hours`). Alerts already resolved keep resolved_at empty.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from brandpulse.store.schema import UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('acknowledged_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('acknowledged_by', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('resolved_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('resolved_by', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('resolved_by')
        batch.drop_column('resolved_at')
        batch.drop_column('acknowledged_by')
        batch.drop_column('acknowledged_at')
