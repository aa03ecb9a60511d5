"""The durable outbox of the sync with the city's platform, one row per case.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('upstream_sync',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('maybe_posted', sa.Boolean(), nullable=False),
    sa.Column('upstream_id', sa.String(length=64), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('upstream_status', sa.String(length=16), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_upstream_sync_case_id_cases')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_upstream_sync'))
    )
    op.create_index('ix_upstream_sync_state_next', 'upstream_sync', ['state', 'next_at'], unique=False)
    op.create_index(op.f('ix_upstream_sync_upstream_id'), 'upstream_sync', ['upstream_id'], unique=False)
    # Cases already in the store are queued for their first push.
    op.execute("INSERT INTO upstream_sync (case_id, state, attempts, next_at, maybe_posted, created_at) "
               "SELECT id, 'new', 0, created_at, false, created_at FROM cases")


def downgrade() -> None:
    op.drop_index(op.f('ix_upstream_sync_upstream_id'), table_name='upstream_sync')
    op.drop_index('ix_upstream_sync_state_next', table_name='upstream_sync')
    op.drop_table('upstream_sync')
