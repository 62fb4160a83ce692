"""complaint: whether the violation continues, and the filing date assessments answer for.

Revision ID: 3f8d21c7a4b9
Revises: c41f0a7be215
Create Date: 2026-12-01 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3f8d21c7a4b9'
down_revision: str | None = 'c41f0a7be215'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('complaint') as batch:
        batch.add_column(sa.Column('events_continuing', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('filing_date', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaint') as batch:
        batch.drop_column('filing_date')
        batch.drop_column('events_continuing')
