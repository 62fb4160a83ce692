"""complaint_institution_kind

The kind of the submitting institution, as its token said, kept on the complaint: possible duplicates
are now found by intake's own consumer of comitas.complaint.submitted, after the request, and who may
be told of a match depends on that kind (docs/adr/0015, revised).

Revision ID: 5d0c1f7a9e21
Revises: b84196931de9
Create Date: 2026-12-01 18:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5d0c1f7a9e21'
down_revision: str | None = 'b84196931de9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('institution_kind', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_column('institution_kind')
