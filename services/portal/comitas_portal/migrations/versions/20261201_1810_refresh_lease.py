"""A session's refresh lease (ADR 0071): one portal replica at a time presents its refresh token.

Revision ID: 3b9e6f1c2d57
Revises: d6878cffc48b
Create Date: 2026-12-01 18:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3b9e6f1c2d57'
down_revision: str | None = 'd6878cffc48b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('portal_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresh_claimed_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('portal_session', schema=None) as batch_op:
        batch_op.drop_column('refresh_claimed_until')
