"""OIDC and resource indicators: a code keeps its nonce, sign-in time and RFC 8707 resources; a client
keeps its post-logout redirect URIs.

Revision ID: e5a9b3c2d710
Revises: b7d2e41c9a03
Create Date: 2026-11-22 09:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e5a9b3c2d710'
down_revision: str | None = 'b7d2e41c9a03'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nonce', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('auth_time', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resources', sa.JSON(), nullable=True))
        batch_op.create_index('ix_authorization_code_client_id_nonce', ['client_id', 'nonce'], unique=False)

    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('post_logout_redirect_uris', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.drop_column('post_logout_redirect_uris')

    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.drop_index('ix_authorization_code_client_id_nonce')
        batch_op.drop_column('resources')
        batch_op.drop_column('auth_time')
        batch_op.drop_column('nonce')
