"""channels: e-mail subscriptions with case and urgency filters and daily digests; deliveries with a
channel and a kind (event or digest) and the events a digest gathered; the read model of identity's
institutions directory (entries and notification contacts).

Existing subscriptions and deliveries become webhook, immediate, every case and urgency (the server
defaults), so nothing changes for them. ``url`` and ``secret_ciphertext`` become nullable (an e-mail
subscription has neither).

Revision ID: 9d41c7e2b5a3
Revises: 3f6c2a8e41d7
Create Date: 2026-12-01 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9d41c7e2b5a3'
down_revision: str | None = '3f6c2a8e41d7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('subscription') as batch:
        batch.add_column(sa.Column('channel', sa.String(length=16), server_default='webhook', nullable=False))
        batch.add_column(sa.Column('email_address', sa.String(length=320), nullable=True))
        batch.add_column(sa.Column('cases', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('urgency', sa.String(length=16), server_default='all', nullable=False))
        batch.add_column(sa.Column('delivery_mode', sa.String(length=16), server_default='immediate', nullable=False))
        batch.add_column(sa.Column('digest_hour', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch.alter_column('url', existing_type=sa.String(length=2048), nullable=True)
        batch.alter_column('secret_ciphertext', existing_type=sa.Text(), nullable=True)

    with op.batch_alter_table('delivery') as batch:
        batch.add_column(sa.Column('channel', sa.String(length=16), server_default='webhook', nullable=False))
        batch.add_column(sa.Column('kind', sa.String(length=16), server_default='event', nullable=False))
        batch.add_column(sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('digest_item',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('delivery_id', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=128), nullable=False),
    sa.Column('envelope', sa.JSON(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['delivery.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('delivery_id', 'event_id', name='uq_digest_item_delivery_event')
    )
    with op.batch_alter_table('digest_item') as batch:
        batch.create_index('ix_digest_item_delivery_added', ['delivery_id', 'added_at'], unique=False)

    op.create_table('directory_entry',
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('contact_emails', sa.JSON(), nullable=True),
    sa.Column('contact_language', sa.String(length=8), nullable=True),
    sa.Column('contact_generation', sa.Integer(), nullable=False),
    sa.Column('contact_read_generation', sa.Integer(), nullable=True),
    sa.Column('contact_read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contact_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('institution_id')
    )


def downgrade() -> None:
    op.drop_table('directory_entry')
    with op.batch_alter_table('digest_item') as batch:
        batch.drop_index('ix_digest_item_delivery_added')
    op.drop_table('digest_item')
    with op.batch_alter_table('delivery') as batch:
        batch.drop_column('sealed_at')
        batch.drop_column('kind')
        batch.drop_column('channel')
    # E-mail subscriptions have no URL or secret: they cannot survive going back to webhooks only.
    op.execute("DELETE FROM delivery_attempt WHERE delivery_id IN (SELECT d.id FROM delivery d JOIN subscription s "
               "ON s.id = d.subscription_id WHERE s.url IS NULL)")
    op.execute("DELETE FROM delivery WHERE subscription_id IN (SELECT id FROM subscription WHERE url IS NULL)")
    op.execute("DELETE FROM subscription WHERE url IS NULL")
    with op.batch_alter_table('subscription') as batch:
        batch.alter_column('secret_ciphertext', existing_type=sa.Text(), nullable=False)
        batch.alter_column('url', existing_type=sa.String(length=2048), nullable=False)
        batch.drop_column('updated_at')
        batch.drop_column('digest_hour')
        batch.drop_column('delivery_mode')
        batch.drop_column('urgency')
        batch.drop_column('cases')
        batch.drop_column('email_address')
        batch.drop_column('channel')
