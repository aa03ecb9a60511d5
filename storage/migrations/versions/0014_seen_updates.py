"""The update ids the webhook took lately, in the store, so an update Telegram sends again is
handled once even when the load balancer gives it to another web process.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('seen_updates',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_seen_updates'))
    )
    op.create_index(op.f('ix_seen_updates_seen_at'), 'seen_updates', ['seen_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_seen_updates_seen_at'), table_name='seen_updates')
    op.drop_table('seen_updates')
