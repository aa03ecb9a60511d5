"""Verification, joint handling and case updates to the city platform (issue 18).

Existing stores move forward with nothing to rewrite: a case that was "resolved" before stays
"resolved" (it was resolved under the rules of its time, and its citizen was already asked to rate
it), so it counts as verified; no category asks for verification until the catalog says so; no
update is queued for the steps taken before the upgrade (the platform had its status pull for them).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | Sequence[str] | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verify', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verifier_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cases_verifier_id_people'), 'people', ['verifier_id'], ['id'])
    op.create_table('case_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('given_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('alarm_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_parts_case_id_cases')),
    sa.ForeignKeyConstraint(['given_by'], ['people.id'], name=op.f('fk_case_parts_given_by_people')),
    sa.ForeignKeyConstraint(['holder_id'], ['people.id'], name=op.f('fk_case_parts_holder_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_parts')),
    sa.UniqueConstraint('case_id', 'holder_id', name='uq_case_parts_case_holder')
    )
    with op.batch_alter_table('case_parts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_parts_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_parts_holder_state', ['holder_id', 'state'], unique=False)
        batch_op.create_index('ix_case_parts_state_alarm', ['state', 'alarm_at'], unique=False)
    op.create_table('upstream_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('update_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_upstream_updates_case_id_cases')),
    sa.ForeignKeyConstraint(['event_id'], ['case_events.id'], name=op.f('fk_upstream_updates_event_id_case_events')),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_upstream_updates_photo_id_photos')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upstream_updates')),
    sa.UniqueConstraint('event_id', name=op.f('uq_upstream_updates_event_id')),
    sa.UniqueConstraint('update_id', name=op.f('uq_upstream_updates_update_id'))
    )
    with op.batch_alter_table('upstream_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upstream_updates_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_upstream_updates_state_next', ['state', 'next_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('upstream_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_upstream_updates_state_next')
        batch_op.drop_index(batch_op.f('ix_upstream_updates_case_id'))
    op.drop_table('upstream_updates')
    with op.batch_alter_table('case_parts', schema=None) as batch_op:
        batch_op.drop_index('ix_case_parts_state_alarm')
        batch_op.drop_index('ix_case_parts_holder_state')
        batch_op.drop_index(batch_op.f('ix_case_parts_case_id'))
    op.drop_table('case_parts')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_verifier_id_people'), type_='foreignkey')
        batch_op.drop_column('verifier_id')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('verify')
