"""Official warnings in: CAP 1.2 alerts and the call-outs drafted from them (issue 16).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | Sequence[str] | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cap_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=255), nullable=False),
    sa.Column('msg_type', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('mobilization_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('via', sa.String(length=80), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['mobilization_id'], ['mobilizations.id'], name=op.f('fk_cap_alerts_mobilization_id_mobilizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cap_alerts')),
    sa.UniqueConstraint('identifier', 'sender', name='uq_cap_alerts_identifier_sender')
    )
    with op.batch_alter_table('cap_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cap_alerts_mobilization_id'), ['mobilization_id'], unique=False)
    op.create_table('callout_changes',
    sa.Column('mobilization_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('what', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['mobilization_id'], ['mobilizations.id'], name=op.f('fk_callout_changes_mobilization_id_mobilizations')),
    sa.PrimaryKeyConstraint('mobilization_id', 'revision', name=op.f('pk_callout_changes'))
    )


def downgrade() -> None:
    op.drop_table('callout_changes')
    with op.batch_alter_table('cap_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cap_alerts_mobilization_id'))
    op.drop_table('cap_alerts')
