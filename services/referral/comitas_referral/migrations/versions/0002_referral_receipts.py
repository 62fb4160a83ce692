"""referral receipts: the attested receipt chain of each referral, and the keys that sign it

Revision ID: 0002_referral_receipts
Revises: 0001_referral_initial
Create Date: 2026-12-01 15:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002_referral_receipts'
down_revision: str | None = '0001_referral_initial'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('referral_receipt_key',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('sealed_private_key', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid')
    )
    with op.batch_alter_table('referral_receipt_key', schema=None) as batch_op:
        # One active key: replicas racing to create or rotate it cannot both win.
        batch_op.create_index('uq_referral_receipt_key_one_active', ['state'], unique=True,
                              sqlite_where=sa.text("state = 'active'"), postgresql_where=sa.text("state = 'active'"))

    op.create_table('referral_receipt',
    sa.Column('sender_institution_id', sa.String(length=64), nullable=False),
    sa.Column('recipient_institution_id', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('sequence', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('transition', sa.String(length=64), nullable=False),
    sa.Column('acting_institution_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('jws', sa.Text(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('previous_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], ),
    # The chain's guard: one receipt per (referral, sequence), written in the transition's transaction.
    sa.PrimaryKeyConstraint('referral_id', 'sequence')
    )
    with op.batch_alter_table('referral_receipt', schema=None) as batch_op:
        batch_op.create_index('ix_referral_receipt_kid', ['kid'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_receipt_recipient_institution_id'), ['recipient_institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_receipt_sender_institution_id'), ['sender_institution_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('referral_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_receipt_sender_institution_id'))
        batch_op.drop_index(batch_op.f('ix_referral_receipt_recipient_institution_id'))
        batch_op.drop_index('ix_referral_receipt_kid')

    op.drop_table('referral_receipt')
    with op.batch_alter_table('referral_receipt_key', schema=None) as batch_op:
        batch_op.drop_index('uq_referral_receipt_key_one_active',
                            sqlite_where=sa.text("state = 'active'"), postgresql_where=sa.text("state = 'active'"))

    op.drop_table('referral_receipt_key')
