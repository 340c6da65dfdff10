"""rollup dims: hourly counts and reach per emotion, platform and language; an index for the mentions feed

`rollup_dims` (model × dim × brand × hour × value) is filled from the stored scores, so a store that was
scored before this migration shows its emotion, platform and language charts at once. `ix_mentions_created_id`
lets the dashboard's feed page through the newest mentions by keyset without sorting the table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 09:30:00
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from brandpulse.store.schema import UTCDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

CHUNK = 5000


def _hour(ts: Any) -> datetime:
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _labels(emotions: Any) -> list[str]:
    import json

    if isinstance(emotions, str):
        try:
            emotions = json.loads(emotions)
        except ValueError:
            return []
    if isinstance(emotions, dict) and isinstance(emotions.get("labels"), list):
        return [str(e) for e in emotions["labels"]]
    return []


def upgrade() -> None:
    table = op.create_table('rollup_dims',
    sa.Column('model_key', sa.String(length=255), nullable=False),
    sa.Column('dim', sa.String(length=16), nullable=False),
    sa.Column('brand', sa.String(length=255), nullable=False),
    sa.Column('hour', UTCDateTime(), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('reach', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('model_key', 'dim', 'brand', 'hour', 'value')
    )
    op.create_index('ix_mentions_created_id', 'mentions', ['created_at', 'id'], unique=False)
    conn = op.get_bind()
    counts: Counter[tuple[str, str, str, datetime, str]] = Counter()
    reach: Counter[tuple[str, str, str, datetime, str]] = Counter()
    rows = conn.execute(sa.text(
        "SELECT s.model, s.revision, s.emotions, mb.brand, m.created_at, m.author_followers, m.platform, m.lang "
        "FROM scores s JOIN mentions m ON m.id = s.mention_id JOIN mention_brands mb ON mb.mention_id = m.id"))
    for r in rows:
        key, hour, followers = f"{r.model}@{r.revision}", _hour(r.created_at), int(r.author_followers or 0)
        pairs = [("platform", r.platform), ("language", (r.lang or "und")[:64])]
        pairs += [("emotion", e) for e in _labels(r.emotions)]
        for dim, value in pairs:
            k = (key, dim, r.brand, hour, value)
            counts[k] += 1
            reach[k] += followers
    out = [{"model_key": k[0], "dim": k[1], "brand": k[2], "hour": k[3], "value": k[4], "count": c, "reach": reach[k]}
           for k, c in sorted(counts.items())]
    for i in range(0, len(out), CHUNK):
        op.bulk_insert(table, out[i : i + CHUNK])


def downgrade() -> None:
    op.drop_index('ix_mentions_created_id', table_name='mentions')
    op.drop_table('rollup_dims')
