"""Questions per category and time limits per step (issue 18).

The categories get separate limits to accept and to arrive on site; a report in the making and a
case keep the answers to their category's questions; a case keeps its limits per step, when its
holder arrived, and how far the reminders of those steps have gone. Every new column may be empty
(or starts at 0), so existing rows stay as they were: a case made before has no step limits and no
answers, and its one deadline works as before.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024'
down_revision: str | Sequence[str] | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accept_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('arrive_hours', sa.Integer(), nullable=True))
    with op.batch_alter_table('report_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('questions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('accept_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('arrive_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('step_alerts', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        for column in ('step_alerts', 'first_accepted_at', 'arrived_at', 'arrive_due_at', 'accept_due_at', 'answers'):
            batch_op.drop_column(column)
    with op.batch_alter_table('report_drafts', schema=None) as batch_op:
        batch_op.drop_column('answers')
        batch_op.drop_column('questions')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('arrive_hours')
        batch_op.drop_column('accept_hours')
