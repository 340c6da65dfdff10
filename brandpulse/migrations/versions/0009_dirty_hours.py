"""dirty hours: the rollup hours changed since the alert pass last evaluated them; severities renamed

Scoring marks each (model, brand, hour) whose rollups it changes, in the same transaction; the alert
pass evaluates exactly those hours, so late data is never skipped. On upgrade, the hours the old
pass would have looked at next (from 6 hours before its saved position; all hours if it never ran)
are marked, so nothing pending is lost. Stored severities move to notice / warning / critical
(medium → warning, high → critical).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from brandpulse.store.schema import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: How far before its saved position the old alert pass re-read (alerts/check.py's OVERLAP_HOURS then).
OLD_OVERLAP_HOURS = 6
SEVERITY_RENAMES = (("medium", "warning"), ("high", "critical"), ("low", "notice"))


def upgrade() -> None:
    op.create_table('dirty_hours',
    sa.Column('model_key', sa.String(length=255), nullable=False),
    sa.Column('brand', sa.String(length=255), nullable=False),
    sa.Column('hour', UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('model_key', 'brand', 'hour')
    )
    conn = op.get_bind()
    position = conn.execute(sa.text("SELECT position FROM cursors WHERE source = 'alerts' AND key = 'check'")).scalar()
    insert = ("INSERT INTO dirty_hours (model_key, brand, hour, version) "
              "SELECT DISTINCT model_key, brand, hour, 1 FROM rollups_hourly")
    if position:
        since = datetime.fromisoformat(str(position))
        since = (since if since.tzinfo else since.replace(tzinfo=UTC)) - timedelta(hours=OLD_OVERLAP_HOURS)
        stmt = sa.text(insert + " WHERE hour >= :since").bindparams(sa.bindparam("since", type_=UTCDateTime()))
        conn.execute(stmt, {"since": since})
    else:
        conn.execute(sa.text(insert))
    for old, new in SEVERITY_RENAMES:
        conn.execute(sa.text("UPDATE alerts SET severity = :new WHERE severity = :old"), {"old": old, "new": new})


def downgrade() -> None:
    conn = op.get_bind()
    for old, new in SEVERITY_RENAMES:
        conn.execute(sa.text("UPDATE alerts SET severity = :old WHERE severity = :new"), {"old": old, "new": new})
    op.drop_table('dirty_hours')
