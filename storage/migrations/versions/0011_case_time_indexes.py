"""Indexes for lists of cases by time (Open311 requests, export, statistics).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23

"""
from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_cases_created', 'cases', ['created_at'], unique=False)
    op.create_index('ix_cases_category_created', 'cases', ['category_code', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_category_created', table_name='cases')
    op.drop_index('ix_cases_created', table_name='cases')
