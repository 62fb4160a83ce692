"""Directory entries grow what routing and delivery need (subdivision, time zone, languages, mandate,
referrals accepted, periods, closures, contact, version); a platform service's client may exchange
tokens (RFC 8693) for some resources and scopes.

Existing institutions keep their kind and country; a central authority becomes a state institution, the
mandate's countries are the institution's own, the time zone is its country's when CLDR knows only one,
and everything else starts empty (not accepting referrals) until the institution or an administrator
fills it in.

Revision ID: b47f90ab4603
Revises: e5a9b3c2d710
Create Date: 2026-12-01 12:06:47.886226
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b47f90ab4603'
down_revision: str | None = 'e5a9b3c2d710'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subdivision', sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('languages', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('mandate', sa.JSON(), server_default=sa.text('\'{"subject_areas": [], "investigates": [], "countries": []}\''), nullable=False))
        batch_op.add_column(sa.Column('state_institution', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('accepts_referrals', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('referral_kinds', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('referral_purposes', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('acknowledgement_period', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('response_period', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('closures', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('contact_emails', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('contact_language', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_resource', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('exchange_resources', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('exchange_scopes', sa.JSON(), nullable=True))

    _fill_existing_institutions()


def _fill_existing_institutions() -> None:
    from babel.core import get_global

    zones = get_global("territory_zones")
    institution = sa.table('institution', sa.column('id', sa.String), sa.column('kind', sa.String),
                           sa.column('country', sa.String), sa.column('time_zone', sa.String),
                           sa.column('mandate', sa.JSON), sa.column('state_institution', sa.Boolean),
                           sa.column('created_at', sa.DateTime(timezone=True)),
                           sa.column('updated_at', sa.DateTime(timezone=True)))
    connection = op.get_bind()
    rows = connection.execute(sa.select(institution.c.id, institution.c.kind, institution.c.country,
                                        institution.c.created_at)).all()
    for row in rows:
        country_zones = zones.get(row.country) or []
        connection.execute(
            institution.update().where(institution.c.id == row.id).values(
                time_zone=country_zones[0] if len(country_zones) == 1 else None,
                mandate={"subject_areas": [], "investigates": [], "countries": [row.country]},
                state_institution=row.kind == "central_authority",
                updated_at=row.created_at))


def downgrade() -> None:
    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.drop_column('exchange_scopes')
        batch_op.drop_column('exchange_resources')
        batch_op.drop_column('service_resource')

    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('version')
        batch_op.drop_column('contact_language')
        batch_op.drop_column('contact_emails')
        batch_op.drop_column('closures')
        batch_op.drop_column('response_period')
        batch_op.drop_column('acknowledgement_period')
        batch_op.drop_column('referral_purposes')
        batch_op.drop_column('referral_kinds')
        batch_op.drop_column('accepts_referrals')
        batch_op.drop_column('state_institution')
        batch_op.drop_column('mandate')
        batch_op.drop_column('languages')
        batch_op.drop_column('time_zone')
        batch_op.drop_column('subdivision')
