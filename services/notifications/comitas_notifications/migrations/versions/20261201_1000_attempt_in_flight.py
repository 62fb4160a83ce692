"""delivery attempts recorded before the request is sent: ``finished`` is false until its outcome is in.

Revision ID: 7b2e4f1a9c30
Revises: d93a6c0f1e58
Create Date: 2026-12-01 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7b2e4f1a9c30'
down_revision: str | None = 'd93a6c0f1e58'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('delivery_attempt') as batch:
        batch.add_column(sa.Column('finished', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('delivery_attempt') as batch:
        batch.drop_column('finished')
