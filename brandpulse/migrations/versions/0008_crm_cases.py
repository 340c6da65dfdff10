"""crm_cases: the outbox of CRM cases opened for linked contacts' negative mentions

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-01 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import brandpulse.store.schema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", brandpulse.store.schema.UTCDateTime(), nullable=False),
        sa.Column("updated_at", brandpulse.store.schema.UTCDateTime(), nullable=False),
        sa.Column("sent_at", brandpulse.store.schema.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mention_id", "crm", name="uq_crm_cases_mention_crm"),
    )
    op.create_index("ix_crm_cases_status", "crm_cases", ["crm", "status"])
    op.create_index("ix_crm_cases_contact_id", "crm_cases", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_crm_cases_contact_id", table_name="crm_cases")
    op.drop_index("ix_crm_cases_status", table_name="crm_cases")
    op.drop_table("crm_cases")
