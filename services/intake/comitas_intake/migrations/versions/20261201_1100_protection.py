"""protection: the complaint key store, the audit chain, its heads and signed checkpoints.

Revision ID: 9e1c5a7d2b44
Revises: 3f8d21c7a4b9
Create Date: 2026-12-01 11:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9e1c5a7d2b44'
down_revision: str | None = '3f8d21c7a4b9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('complaint_key',
    sa.Column('complaint_id', sa.String(length=36), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('wrapped_key', sa.Text(), nullable=True),
    sa.Column('master_key_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rewrapped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('complaint_id')
    )
    op.create_index(op.f('ix_complaint_key_institution_id'), 'complaint_key', ['institution_id'], unique=False)
    op.create_table('audit_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.JSON(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_kind', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'seq', name='uq_audit_entry_institution_seq')
    )
    op.create_index('ix_audit_entry_institution_at', 'audit_entry', ['institution_id', 'at', 'id'], unique=False)
    op.create_table('audit_head',
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('institution_id')
    )
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('signature', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_checkpoint_institution_seq', 'audit_checkpoint', ['institution_id', 'seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_checkpoint_institution_seq', table_name='audit_checkpoint')
    op.drop_table('audit_checkpoint')
    op.drop_table('audit_head')
    op.drop_index('ix_audit_entry_institution_at', table_name='audit_entry')
    op.drop_table('audit_entry')
    op.drop_index(op.f('ix_complaint_key_institution_id'), table_name='complaint_key')
    op.drop_table('complaint_key')
