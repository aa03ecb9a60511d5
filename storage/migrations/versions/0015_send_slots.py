"""The sending slots several worker processes share to keep to one Bot API limit; a person's
queued messages found by person (a claim leaves alone a person another sender is sending to).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_person_status', 'outbox', ['person_id', 'status'], unique=False)
    op.create_table('send_slots',
    sa.Column('pool', sa.String(length=16), nullable=False),
    sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('held_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('pool', 'slot', name=op.f('pk_send_slots'))
    )


def downgrade() -> None:
    op.drop_table('send_slots')
    op.drop_index('ix_outbox_person_status', table_name='outbox')
