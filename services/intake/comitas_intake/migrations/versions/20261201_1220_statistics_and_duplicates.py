"""statistics and duplicates: the blind index, match notices, the de-identified statistics table.

Revision ID: 4af9dc4e30c0
Revises: 9e1c5a7d2b44
Create Date: 2026-12-01 12:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '4af9dc4e30c0'
down_revision: str | None = '9e1c5a7d2b44'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('duplicate_index',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('complaint_id', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('institution_kind', sa.String(length=32), nullable=True),
    sa.Column('coordination_consent', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'complaint_id', 'purpose', 'digest', name='uq_duplicate_index_entry')
    )
    op.create_index('ix_duplicate_index_digest', 'duplicate_index', ['digest'], unique=False)
    op.create_table('duplicate_notice',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('complaint_id', sa.String(length=36), nullable=False),
    sa.Column('basis', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=24), nullable=False),
    sa.Column('counterpart', sa.String(length=64), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'complaint_id', 'basis', 'scope', 'counterpart', name='uq_duplicate_notice')
    )
    op.create_index('ix_duplicate_notice_complaint', 'duplicate_notice',
                    ['institution_id', 'complaint_id', 'detected_at', 'id'], unique=False)
    op.create_table('statistics_case',
    sa.Column('complaint_id', sa.String(length=36), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('respondent_states', sa.JSON(), nullable=False),
    sa.Column('act_types', sa.JSON(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('victims', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('complaint_id')
    )
    op.create_index('ix_statistics_case_institution', 'statistics_case', ['institution_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_statistics_case_institution', table_name='statistics_case')
    op.drop_table('statistics_case')
    op.drop_index('ix_duplicate_notice_complaint', table_name='duplicate_notice')
    op.drop_table('duplicate_notice')
    op.drop_index('ix_duplicate_index_digest', table_name='duplicate_index')
    op.drop_table('duplicate_index')
