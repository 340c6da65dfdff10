"""mention_brands: a mention linked to every brand it matched

Revision ID: 0007
Revises: 0001
Create Date: 2026-12-01 08:10:00

Existing data is carried over: every mention with a brand gets one link to that brand
(``mentions.brand`` stays as the primary brand, so existing readers keep working).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mention_brands",
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("brand", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("mention_id", "brand"),
    )
    op.create_index("ix_mention_brands_brand", "mention_brands", ["brand"], unique=False)
    op.execute(
        "INSERT INTO mention_brands (mention_id, brand) SELECT id, brand FROM mentions WHERE brand IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_mention_brands_brand", table_name="mention_brands")
    op.drop_table("mention_brands")
