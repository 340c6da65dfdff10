"""alert reopens: how often an alert was reopened, so each of its resolutions is announced once

A resolved alert that gets new hours within `[alerts] cooldown_hours` is reopened; its next resolution is a new
lifecycle event with its own outbox key ("resolved:<n>", alerts/delivery/enqueue.py). `alerts.reopens` counts the
reopenings. An alert already announced as resolved but active now was reopened once before this migration
(the earlier code did not count it), so it starts at 1 and its next resolution is announced.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('reopens', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE alerts SET reopens = 1 WHERE state <> 'resolved' AND EXISTS "
               "(SELECT 1 FROM deliveries d WHERE d.alert_id = alerts.id AND d.event = 'resolved')")


def downgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('reopens')
