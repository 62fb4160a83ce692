"""complaint: the record as the forums need it (victims, representative, petitioner, actors, incidents,
structured rights, relief, disclosure, languages; identities and free text sealed with the complaint's
key), the lifecycle (received, under assessment, active, closed, withdrawn), erasure, and referrals and
filings as child records.

The plaintext ``summary`` of complaints written before becomes ``legacy_summary``: a migration holds no
key to seal it, so `python -m comitas_intake.complaints seal-legacy` does, after the upgrade, while the
service runs (and empties the column). A downgrade cannot unseal what was sealed: those summaries come
back empty.

Revision ID: 5b0d7e3a91c2
Revises: 7c2e9b4d1f60
Create Date: 2026-12-01 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5b0d7e3a91c2'
down_revision: str | None = '7c2e9b4d1f60'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTS = ('rights', 'victims', 'actors', 'incidents')
MAPPINGS = ('relief', 'disclosure', 'languages', 'sealed')


def upgrade() -> None:
    with op.batch_alter_table('complaint') as batch:
        batch.add_column(sa.Column('status_reason', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        for name in LISTS:
            batch.add_column(sa.Column(name, sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        for name in MAPPINGS:
            batch.add_column(sa.Column(name, sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch.add_column(sa.Column('representative', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('petitioner', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('no_other_procedures', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('signed_on', sa.Date(), nullable=True))
        batch.alter_column('summary', new_column_name='legacy_summary', existing_type=sa.String(),
                           type_=sa.Text(), nullable=True)
    op.execute("UPDATE complaint SET status = 'received' WHERE status = 'submitted'")
    op.create_table('complaint_track',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('complaint_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=500), nullable=True),
    sa.Column('occurred_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_complaint_track_complaint', 'complaint_track',
                    ['institution_id', 'complaint_id', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_complaint_track_complaint', table_name='complaint_track')
    op.drop_table('complaint_track')
    op.execute("UPDATE complaint SET status = 'submitted' WHERE status = 'received'")
    op.execute("UPDATE complaint SET legacy_summary = '' WHERE legacy_summary IS NULL")
    with op.batch_alter_table('complaint') as batch:
        batch.alter_column('legacy_summary', new_column_name='summary', existing_type=sa.Text(),
                           type_=sa.String(), nullable=False)
        for name in ('signed_on', 'no_other_procedures', 'petitioner', 'representative', *MAPPINGS, *LISTS,
                     'erased_at', 'status_changed_at', 'status_reason'):
            batch.drop_column(name)
