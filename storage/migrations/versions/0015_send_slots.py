"""A person's queued messages found by person (a claim leaves alone a person another sender is
sending to).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

"""
from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_person_status', 'outbox', ['person_id', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_person_status', table_name='outbox')
