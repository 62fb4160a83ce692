"""Refresh tokens for confidential web clients (ADR 0071): stored by hash, in families, rotated at each
use. Confidential web clients registered before get the refresh_token grant, as new ones do.

Revision ID: 7c1e5d2a9f40
Revises: b47f90ab4603
Create Date: 2026-12-01 18:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7c1e5d2a9f40'
down_revision: str | None = 'b47f90ab4603'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLIENTS = sa.table('oauth_client', sa.column('client_id', sa.String), sa.column('auth_method', sa.String),
                    sa.column('redirect_uris', sa.JSON), sa.column('grant_types', sa.JSON))


def upgrade() -> None:
    op.create_table(
        'refresh_token',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('family_id', sa.String(length=64), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('institution_id', sa.String(length=64), nullable=False),
        sa.Column('scope', sa.Text(), nullable=False),
        sa.Column('resources', sa.JSON(), nullable=True),
        sa.Column('access_jti', sa.String(length=64), nullable=False),
        sa.Column('access_expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('family_expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['oauth_client.client_id'],
                                name=op.f('fk_refresh_token_client_id_oauth_client')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_refresh_token_user_id_user_account')),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_refresh_token')),
    )
    op.create_index(op.f('ix_refresh_token_family_id'), 'refresh_token', ['family_id'], unique=False)
    op.create_index(op.f('ix_refresh_token_family_expires_at'), 'refresh_token', ['family_expires_at'], unique=False)
    _set_refresh_grant(True)


def downgrade() -> None:
    _set_refresh_grant(False)
    op.drop_index(op.f('ix_refresh_token_family_expires_at'), table_name='refresh_token')
    op.drop_index(op.f('ix_refresh_token_family_id'), table_name='refresh_token')
    op.drop_table('refresh_token')


def _set_refresh_grant(allowed: bool) -> None:
    """Confidential web clients (redirect URIs, a secret or a key) get, or lose, the refresh_token grant."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(_CLIENTS.c.client_id, _CLIENTS.c.auth_method, _CLIENTS.c.redirect_uris,
                                        _CLIENTS.c.grant_types)).all()
    for client_id, auth_method, redirect_uris, grant_types in rows:
        grants = [g for g in (grant_types or []) if g != 'refresh_token']
        if allowed and redirect_uris and auth_method != 'none':
            grants.append('refresh_token')
        if grants != list(grant_types or []):
            connection.execute(sa.update(_CLIENTS).where(_CLIENTS.c.client_id == client_id)
                               .values(grant_types=grants))
