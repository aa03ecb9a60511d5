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
    # Part A: the plans themselves.
    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('area_codes', sa.JSON(), nullable=False),
    sa.Column('center_lat', sa.Float(), nullable=True),
    sa.Column('center_lon', sa.Float(), nullable=True),
    sa.Column('radius_m', sa.Integer(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('headline_zh', sa.String(length=200), nullable=False),
    sa.Column('headline_en', sa.String(length=200), nullable=False),
    sa.Column('instruction_zh', sa.Text(), nullable=True),
    sa.Column('instruction_en', sa.Text(), nullable=True),
    sa.Column('meet_lat', sa.Float(), nullable=True),
    sa.Column('meet_lon', sa.Float(), nullable=True),
    sa.Column('need', sa.Integer(), nullable=True),
    sa.Column('wave_minutes', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_plans_created_by_people')),
    sa.ForeignKeyConstraint(['updated_by'], ['people.id'], name=op.f('fk_plans_updated_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sa.UniqueConstraint('area_code', 'name', name='uq_plans_area_name')
    )
    op.create_index(op.f('ix_plans_area_code'), 'plans', ['area_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_plans_area_code'), table_name='plans')
    op.drop_table('plans')
    with op.batch_alter_table('mobilizations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_mobilizations_case_id_cases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_mobilizations_case_id'))
        batch_op.drop_column('wave_minutes')
        batch_op.drop_column('case_id')
        batch_op.drop_column('plan_id')
