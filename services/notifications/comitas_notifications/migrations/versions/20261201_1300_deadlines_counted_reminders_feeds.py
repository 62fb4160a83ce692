"""deadlines counted like the law, per institution concerned; reminder settings; inbox read state and
case; calendar feeds.

- ``deadline``: the owner and the institutions concerned (one row per institution that must act), the
  timer token, the counting rule, pauses, extensions, the library and data versions, the explanation,
  when the last day starts, and the reminders set in NATS. Existing rows are their owner's own copy:
  ``timer_token`` keeps the hash their timers already have in NATS, and open rows get a new revision so
  the reconciler sets the new default reminders (14, 3, 1 days, the last day, overdue) and purges the
  old ones (30 and 7 days, "due").
- ``reminder_setting``: an institution's reminders per kind of deadline.
- ``inbox_item``: the case, the last day and its zone, the reminder event's id, when it was read.
- ``calendar_feed``: private iCalendar feeds (only the token's hash).

Revision ID: 3f6c2a8e41d7
Revises: 7b2e4f1a9c30
Create Date: 2026-12-01 13:00:00
"""
import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '3f6c2a8e41d7'
down_revision: str | None = '7b2e4f1a9c30'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The reminders releases before this one set (deadline_reminder_days 30, 7, 1 and one at due_at).
OLD_REMINDERS = ["d30", "d7", "d1", "due"]


def _as_date(value):
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def upgrade() -> None:
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_institution_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('timer_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('concerns', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('day_starts_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('holidays_version', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('calendar_data_version', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('complete', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('explanation', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('counting', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('announced_last_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('pauses', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('extensions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('paused_since', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('scheduled_reminders', sa.JSON(), nullable=True))

    bind = op.get_bind()
    deadline = sa.table('deadline', sa.column('id', sa.String), sa.column('institution_id', sa.String),
                        sa.column('deadline_key', sa.String), sa.column('last_day', sa.Date),
                        sa.column('time_zone', sa.String), sa.column('state', sa.String),
                        sa.column('revision', sa.Integer), sa.column('schedule_revision', sa.Integer),
                        sa.column('owner_institution_id', sa.String), sa.column('timer_token', sa.String),
                        sa.column('concerns', sa.JSON), sa.column('day_starts_at', sa.DateTime(timezone=True)),
                        sa.column('explanation', sa.JSON), sa.column('pauses', sa.JSON),
                        sa.column('extensions', sa.JSON), sa.column('scheduled_reminders', sa.JSON))
    rows = bind.execute(sa.select(deadline.c.id, deadline.c.institution_id, deadline.c.deadline_key,
                                  deadline.c.last_day, deadline.c.time_zone, deadline.c.state, deadline.c.revision,
                                  deadline.c.schedule_revision)).all()
    for row in rows:
        token = hashlib.sha256(f"{row.institution_id}\x00{row.deadline_key}".encode()).hexdigest()[:32]
        starts = datetime.combine(_as_date(row.last_day), time(0), tzinfo=ZoneInfo(row.time_zone)).astimezone(UTC)
        is_open = row.state == 'open'
        bind.execute(deadline.update().where(deadline.c.id == row.id).values(
            owner_institution_id=row.institution_id, timer_token=token, concerns=[row.institution_id],
            day_starts_at=starts, explanation=[], pauses=[], extensions=[],
            scheduled_reminders=OLD_REMINDERS if is_open and row.schedule_revision is not None else [],
            revision=row.revision + (1 if is_open else 0)))

    with op.batch_alter_table('deadline', schema=None) as batch_op:
        for name in ('owner_institution_id', 'timer_token', 'concerns', 'day_starts_at', 'explanation', 'pauses',
                     'extensions', 'scheduled_reminders'):
            batch_op.alter_column(name, nullable=False)
        batch_op.drop_constraint('uq_deadline_institution_key', type_='unique')
        batch_op.create_unique_constraint('uq_deadline_party_key',
                                          ['institution_id', 'owner_institution_id', 'deadline_key'])
        batch_op.create_unique_constraint('uq_deadline_timer_token', ['timer_token'])
        batch_op.create_index('ix_deadline_owner_key', ['owner_institution_id', 'deadline_key'], unique=False)
        batch_op.create_index('ix_deadline_institution_case', ['institution_id', 'case_ref'], unique=False)

    op.create_table('reminder_setting',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('on_the_day', sa.Boolean(), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'kind', name='uq_reminder_setting_institution_kind')
    )

    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_ref', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('last_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('event_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('read_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_inbox_item_institution_case', ['institution_id', 'case_ref', 'created_at'],
                              unique=False)
    # Items already there: the case and last day of their deadline.
    op.execute("UPDATE inbox_item SET case_ref = (SELECT deadline.case_ref FROM deadline "
               "WHERE deadline.id = inbox_item.deadline_id), last_day = (SELECT deadline.last_day FROM deadline "
               "WHERE deadline.id = inbox_item.deadline_id), time_zone = (SELECT deadline.time_zone FROM deadline "
               "WHERE deadline.id = inbox_item.deadline_id) WHERE inbox_item.deadline_id IS NOT NULL")

    op.create_table('calendar_feed',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('institution_id', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name='uq_calendar_feed_token_hash')
    )
    with op.batch_alter_table('calendar_feed', schema=None) as batch_op:
        batch_op.create_index('ix_calendar_feed_institution_created', ['institution_id', 'created_at', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calendar_feed', schema=None) as batch_op:
        batch_op.drop_index('ix_calendar_feed_institution_created')
    op.drop_table('calendar_feed')

    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_item_institution_case')
        for name in ('read_at', 'event_id', 'time_zone', 'last_day', 'case_ref'):
            batch_op.drop_column(name)

    op.drop_table('reminder_setting')

    # Copies for institutions other than the owner have no place in the old shape.
    op.execute("DELETE FROM deadline WHERE institution_id <> owner_institution_id")
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_index('ix_deadline_institution_case')
        batch_op.drop_index('ix_deadline_owner_key')
        batch_op.drop_constraint('uq_deadline_timer_token', type_='unique')
        batch_op.drop_constraint('uq_deadline_party_key', type_='unique')
        batch_op.create_unique_constraint('uq_deadline_institution_key', ['institution_id', 'deadline_key'])
        for name in ('scheduled_reminders', 'paused_since', 'extensions', 'pauses', 'announced_last_day', 'counting',
                     'explanation', 'complete', 'calendar_data_version', 'holidays_version', 'day_starts_at',
                     'concerns', 'timer_token', 'owner_institution_id'):
            batch_op.drop_column(name)
