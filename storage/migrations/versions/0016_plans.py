"""Call-out plans (预案): saved call-outs a commander fires in one tap (issue 16).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mobilizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('wave_minutes', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_mobilizations_case_id'), ['case_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_mobilizations_case_id_cases'), 'cases', ['case_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('mobilizations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_mobilizations_case_id_cases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_mobilizations_case_id'))
        batch_op.drop_column('wave_minutes')
        batch_op.drop_column('case_id')
        batch_op.drop_column('plan_id')
