"""CRM contacts and author ↔ contact links

Revision ID: 0004_crm_contacts
Revises: 0001
Create Date: 2026-12-01 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import brandpulse.store.schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("company", sa.String(length=255), nullable=True),
        sa.Column("handles", sa.JSON(), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("updated_at", brandpulse.store.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id", name="uq_crm_contacts_source_external"),
    )
    op.create_table(
        "author_contact_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", brandpulse.store.schema.UTCDateTime(), nullable=False),
        sa.Column("updated_at", brandpulse.store.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["authors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("author_id", "contact_id", name="uq_author_contact_links_pair"),
    )
    op.create_index("ix_author_contact_links_status", "author_contact_links", ["status"])


def downgrade() -> None:
    op.drop_index("ix_author_contact_links_status", table_name="author_contact_links")
    op.drop_table("author_contact_links")
    op.drop_table("crm_contacts")
