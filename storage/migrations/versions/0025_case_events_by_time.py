"""Case events found by time: the steps since a time, for GET servicerequestupdates (issue 18).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03

"""
from collections.abc import Sequence

from alembic import op

revision: str = '0025'
down_revision: str | Sequence[str] | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_at')
