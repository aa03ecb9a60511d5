"""People's roles in areas, one-time invites, and where each case was routed and to whom.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('invites',
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('area_code', sa.String(length=40), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_invites_area_code_areas')),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_invites_created_by_people')),
    sa.ForeignKeyConstraint(['used_by'], ['people.id'], name=op.f('fk_invites_used_by_people')),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_invites'))
    )
    op.create_table('roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('area_code', sa.String(length=40), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('on_duty', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_roles_area_code_areas')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_roles_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles')),
    sa.UniqueConstraint('person_id', 'role', 'area_code', name=op.f('uq_roles_person_id'))
    )
    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.create_index('ix_roles_area_role', ['area_code', 'role'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('placement', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('area_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_area_code_areas'), 'areas', ['area_code'], ['code'])
        batch_op.create_foreign_key(batch_op.f('fk_cases_assignee_id_people'), 'people', ['assignee_id'], ['id'])



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_assignee_id_people'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_cases_area_code_areas'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_assignee_id'))
        batch_op.drop_index(batch_op.f('ix_cases_area_code'))
        batch_op.drop_column('assignee_id')
        batch_op.drop_column('area_code')
        batch_op.drop_column('placement')

    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.drop_index('ix_roles_area_role')

    op.drop_table('roles')
    op.drop_table('invites')
