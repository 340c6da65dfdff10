"""partial dup_group index: only mentions in a near-duplicate group are indexed by it

Most mentions belong to no group (dup_group NULL) and are never looked up by it; indexing them cost every bulk
insert an index write per mention.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

WHERE = sa.text("dup_group IS NOT NULL")


def upgrade() -> None:
    op.drop_index('ix_mentions_dup_group', table_name='mentions')
    op.create_index('ix_mentions_dup_group', 'mentions', ['dup_group'], unique=False, sqlite_where=WHERE,
                    postgresql_where=WHERE)


def downgrade() -> None:
    op.drop_index('ix_mentions_dup_group', table_name='mentions')
    op.create_index('ix_mentions_dup_group', 'mentions', ['dup_group'], unique=False)
