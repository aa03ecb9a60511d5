"""Indexes for a worker's and a leader's open tasks among a million cases.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

"""
from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_cases_assignee_state', 'cases', ['assignee_id', 'state'], unique=False)
    op.create_index('ix_cases_area_state', 'cases', ['area_code', 'state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_area_state', table_name='cases')
    op.drop_index('ix_cases_assignee_state', table_name='cases')
