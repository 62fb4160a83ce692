"""throttle hits: the platform table behind comitas_shared.throttle (moving windows shared by replicas).

Revision ID: c41f0a7be215
Revises: a96037b62c2d
Create Date: 2026-11-22 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c41f0a7be215'
down_revision: str | None = 'a96037b62c2d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('throttle_hit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_throttle_hit_expires_at', 'throttle_hit', ['expires_at'], unique=False)
    op.create_index('ix_throttle_hit_key_at', 'throttle_hit', ['key', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_throttle_hit_key_at', table_name='throttle_hit')
    op.drop_index('ix_throttle_hit_expires_at', table_name='throttle_hit')
    op.drop_table('throttle_hit')
