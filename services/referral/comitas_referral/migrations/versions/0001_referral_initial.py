"""referral: the directory read model, referrals, their information requests, transitions and thread

Revision ID: 0001_referral_initial
Revises:
Create Date: 2026-12-01 15:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001_referral_initial'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('directory_entry',
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('subdivision', sa.String(length=6), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('mandate', sa.JSON(), nullable=False),
    sa.Column('accepts_referrals', sa.Boolean(), nullable=False),
    sa.Column('referral_kinds', sa.JSON(), nullable=False),
    sa.Column('referral_purposes', sa.JSON(), nullable=False),
    sa.Column('acknowledgement_period', sa.JSON(), nullable=True),
    sa.Column('response_period', sa.JSON(), nullable=True),
    sa.Column('closures', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('institution_id')
    )
    op.create_table('idempotency_key',
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('operation', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('institution_id', 'operation', 'key')
    )
    op.create_table('inbox',
    sa.Column('consumer', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )
    op.create_table('outbox',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=128), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('envelope', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_unpublished', ['published_at', 'seq'], unique=False)

    op.create_table('referral',
    sa.Column('sender_institution_id', sa.String(length=64), nullable=False),
    sa.Column('recipient_institution_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('complaint_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('consent_overridden', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('grant_id', sa.String(length=64), nullable=True),
    sa.Column('disclosure_salt', sa.String(length=64), nullable=True),
    sa.Column('digests', sa.JSON(), nullable=False),
    sa.Column('disclosure_revoked', sa.String(length=32), nullable=True),
    sa.Column('filing_deadlines', sa.JSON(), nullable=False),
    sa.Column('duplicate_at_recipient', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('recipient_calendar', sa.JSON(), nullable=False),
    sa.Column('acknowledgement_due', sa.Date(), nullable=True),
    sa.Column('acknowledgement_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_due', sa.Date(), nullable=True),
    sa.Column('response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_pauses', sa.JSON(), nullable=False),
    sa.Column('decline_reason', sa.String(length=40), nullable=True),
    sa.Column('decline_text', sa.Text(), nullable=True),
    sa.Column('transferred_complaint_id', sa.String(length=64), nullable=True),
    sa.Column('sender_closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sender_outcome', sa.String(length=40), nullable=True),
    sa.Column('recipient_closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recipient_outcome', sa.String(length=40), nullable=True),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('failure', sa.JSON(), nullable=True),
    sa.Column('receipt_sequence', sa.Integer(), nullable=True),
    sa.Column('receipt_hash', sa.String(length=64), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sender_institution_id', 'idempotency_key', name='uq_referral_sender_idempotency_key')
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index('ix_referral_grant', ['grant_id'], unique=False)
        batch_op.create_index('ix_referral_recipient_created', ['recipient_institution_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_recipient_institution_id'), ['recipient_institution_id'], unique=False)
        batch_op.create_index('ix_referral_sender_created', ['sender_institution_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_sender_institution_id'), ['sender_institution_id'], unique=False)
        batch_op.create_index('ix_referral_state_updated', ['state', 'updated_at'], unique=False)

    op.create_table('throttle_hit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('throttle_hit', schema=None) as batch_op:
        batch_op.create_index('ix_throttle_hit_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_throttle_hit_key_at', ['key', 'at'], unique=False)

    op.create_table('referral_information_request',
    sa.Column('sender_institution_id', sa.String(length=64), nullable=False),
    sa.Column('recipient_institution_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_message_id', sa.String(length=36), nullable=True),
    sa.Column('closed_by', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('referral_information_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_information_request_recipient_institution_id'), ['recipient_institution_id'], unique=False)
        batch_op.create_index('ix_referral_information_request_referral', ['referral_id', 'asked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_information_request_sender_institution_id'), ['sender_institution_id'], unique=False)

    op.create_table('referral_message',
    sa.Column('sender_institution_id', sa.String(length=64), nullable=False),
    sa.Column('recipient_institution_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('author', sa.String(length=16), nullable=False),
    sa.Column('author_institution_id', sa.String(length=64), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('answers', sa.String(length=36), nullable=True),
    sa.Column('message_hash', sa.String(length=64), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('referral_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_message_recipient_institution_id'), ['recipient_institution_id'], unique=False)
        batch_op.create_index('ix_referral_message_referral_posted', ['referral_id', 'posted_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_message_sender_institution_id'), ['sender_institution_id'], unique=False)

    op.create_table('referral_transition',
    sa.Column('sender_institution_id', sa.String(length=64), nullable=False),
    sa.Column('recipient_institution_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=False),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('actor_institution_id', sa.String(length=64), nullable=False),
    sa.Column('actor_side', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('receipt_sequence', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('referral_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_transition_recipient_institution_id'), ['recipient_institution_id'], unique=False)
        batch_op.create_index('ix_referral_transition_referral_at', ['referral_id', 'at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_transition_sender_institution_id'), ['sender_institution_id'], unique=False)


def downgrade() -> None:

    with op.batch_alter_table('referral_transition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_transition_sender_institution_id'))
        batch_op.drop_index('ix_referral_transition_referral_at')
        batch_op.drop_index(batch_op.f('ix_referral_transition_recipient_institution_id'))

    op.drop_table('referral_transition')
    with op.batch_alter_table('referral_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_message_sender_institution_id'))
        batch_op.drop_index('ix_referral_message_referral_posted')
        batch_op.drop_index(batch_op.f('ix_referral_message_recipient_institution_id'))

    op.drop_table('referral_message')
    with op.batch_alter_table('referral_information_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_information_request_sender_institution_id'))
        batch_op.drop_index('ix_referral_information_request_referral')
        batch_op.drop_index(batch_op.f('ix_referral_information_request_recipient_institution_id'))

    op.drop_table('referral_information_request')
    with op.batch_alter_table('throttle_hit', schema=None) as batch_op:
        batch_op.drop_index('ix_throttle_hit_key_at')
        batch_op.drop_index('ix_throttle_hit_expires_at')

    op.drop_table('throttle_hit')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_state_updated')
        batch_op.drop_index(batch_op.f('ix_referral_sender_institution_id'))
        batch_op.drop_index('ix_referral_sender_created')
        batch_op.drop_index(batch_op.f('ix_referral_recipient_institution_id'))
        batch_op.drop_index('ix_referral_recipient_created')
        batch_op.drop_index('ix_referral_grant')
        batch_op.drop_index(batch_op.f('ix_referral_complaint_id'))

    op.drop_table('referral')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unpublished')

    op.drop_table('outbox')
    op.drop_table('inbox')
    op.drop_table('idempotency_key')
    op.drop_table('directory_entry')
