"""A call-out's case and waves; responders away until a date (issue 16).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('away_until', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('mobilizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wave', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('wave_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('wave_tags', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('waves_stopped', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('mobilization_responders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wave', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('away', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('mobilization_responders', schema=None) as batch_op:
        batch_op.drop_column('away')
        batch_op.drop_column('wave')
    with op.batch_alter_table('mobilizations', schema=None) as batch_op:
        batch_op.drop_column('waves_stopped')
        batch_op.drop_column('wave_tags')
        batch_op.drop_column('wave_at')
        batch_op.drop_column('wave')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('away_until')
