"""delivery outbox: events, leases, response status

Revision ID: 0005
Revises: 0001
Create Date: 2026-12-01 08:15:00

Adds to `deliveries`: `event` (opened / escalated:<severity> / resolved; one row per alert × destination × event),
the claim lease (`claimed_by`, `claimed_at`) and `response_status`; an index for the sender's claim query.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import brandpulse.store.schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event", sa.String(length=32), server_default="opened", nullable=False))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", brandpulse.store.schema.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("response_status", sa.Integer(), nullable=True))
        batch_op.drop_constraint("uq_deliveries_alert_dest", type_="unique")
        batch_op.create_unique_constraint("uq_deliveries_alert_dest_event", ["alert_id", "destination", "event"])
        batch_op.create_index("ix_deliveries_status_next", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE event <> 'opened'")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_next")
        batch_op.drop_constraint("uq_deliveries_alert_dest_event", type_="unique")
        batch_op.create_unique_constraint("uq_deliveries_alert_dest", ["alert_id", "destination"])
        batch_op.drop_column("response_status")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("event")
