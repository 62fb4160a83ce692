"""consent and evidence: consent records, disclosures, evidence items and their custody chains.

Revision ID: 7c2e9b4d1f60
Revises: 4af9dc4e30c0
Create Date: 2026-12-01 12:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7c2e9b4d1f60'
down_revision: str | None = '4af9dc4e30c0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('consent_record',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('complaint_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('purposes', sa.JSON(), nullable=False),
    sa.Column('recipient_type', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('expressed_by', sa.String(length=32), nullable=False),
    sa.Column('justified_purposes', sa.JSON(), nullable=False),
    sa.Column('legal_basis', sa.String(length=200), nullable=True),
    sa.Column('justification_sealed', sa.Text(), nullable=True),
    sa.Column('note_sealed', sa.Text(), nullable=True),
    sa.Column('withdraws', sa.String(length=36), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_consent_record_complaint', 'consent_record',
                    ['institution_id', 'complaint_id', 'recorded_at', 'id'], unique=False)
    op.create_table('disclosure',
    sa.Column('grant_id', sa.String(length=36), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('complaint_id', sa.String(length=36), nullable=False),
    sa.Column('recipient_institution_id', sa.String(length=64), nullable=False),
    sa.Column('recipient_kind', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('basis', sa.String(length=16), nullable=False),
    sa.Column('consent_record_ids', sa.JSON(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('snapshot_sealed', sa.Text(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('digests', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.JSON(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('grant_id')
    )
    op.create_index('ix_disclosure_complaint', 'disclosure',
                    ['institution_id', 'complaint_id', 'created_at', 'grant_id'], unique=False)
    op.create_index('ix_disclosure_recipient', 'disclosure', ['recipient_institution_id', 'grant_id'], unique=False)
    op.create_table('evidence_item',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('owner_kind', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=False),
    sa.Column('filename_sealed', sa.Text(), nullable=False),
    sa.Column('declared_type', sa.String(length=255), nullable=True),
    sa.Column('detected_type', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=128), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('derived_from', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('storage_key')
    )
    op.create_index('ix_evidence_item_owner', 'evidence_item', ['institution_id', 'owner_kind', 'owner_id'],
                    unique=False)
    op.create_table('evidence_custody',
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('actor_institution_id', sa.String(length=64), nullable=False),
    sa.Column('actor_client_id', sa.String(length=255), nullable=True),
    sa.Column('actor_user_id', sa.String(length=255), nullable=True),
    sa.Column('actor_act', sa.JSON(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('item_id', 'seq')
    )
    op.create_index('ix_evidence_custody_institution_at', 'evidence_custody', ['institution_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_evidence_custody_institution_at', table_name='evidence_custody')
    op.drop_table('evidence_custody')
    op.drop_index('ix_evidence_item_owner', table_name='evidence_item')
    op.drop_table('evidence_item')
    op.drop_index('ix_disclosure_recipient', table_name='disclosure')
    op.drop_index('ix_disclosure_complaint', table_name='disclosure')
    op.drop_table('disclosure')
    op.drop_index('ix_consent_record_complaint', table_name='consent_record')
    op.drop_table('consent_record')
