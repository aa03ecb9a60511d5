"""Workers' tasks: the task clock on cases, after-photo drafts, check-ins, daily job marks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        for column in ('assigned_at', 'accepted_at', 'resolved_at', 'escalated_at', 'alarm_at'):
            batch_op.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('nudges', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reminders', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_cases_alarm_at'), ['alarm_at'], unique=False)
    # Cases already open get looked at by the timers once.
    op.execute("UPDATE cases SET alarm_at = updated_at WHERE state NOT IN ('closed', 'rejected')")
    op.create_table('resolution_drafts',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('photo_ids', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_resolution_drafts_case_id_cases')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_resolution_drafts_person_id_people')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_resolution_drafts'))
    )
    op.create_table('checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('live_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_checkins_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins'))
    )
    op.create_index('ix_checkins_person_at', 'checkins', ['person_id', 'at'], unique=False)
    op.create_table('job_runs',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_day', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_runs'))
    )


def downgrade() -> None:
    op.drop_table('job_runs')
    op.drop_index('ix_checkins_person_at', table_name='checkins')
    op.drop_table('checkins')
    op.drop_table('resolution_drafts')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_alarm_at'))
        for column in ('reminders', 'nudges', 'alarm_at', 'escalated_at', 'resolved_at', 'accepted_at', 'assigned_at'):
            batch_op.drop_column(column)
