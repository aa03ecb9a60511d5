"""Outbound messages carry a priority: emergencies first, reminders and digests last.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='5'))
    op.create_index('ix_outbox_status_priority', 'outbox', ['status', 'priority', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_status_priority', table_name='outbox')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('priority')
