"""The map: districts, streets, communities, grids and micro-grids with their boundaries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('areas',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('parent_code', sa.String(length=40), nullable=True),
    sa.Column('boundary', sa.LargeBinary(), nullable=False),
    sa.Column('min_lon', sa.Float(), nullable=False),
    sa.Column('min_lat', sa.Float(), nullable=False),
    sa.Column('max_lon', sa.Float(), nullable=False),
    sa.Column('max_lat', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['areas.code'], name=op.f('fk_areas_parent_code_areas')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_areas'))
    )
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.create_index('ix_areas_level', ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_areas_parent_code'), ['parent_code'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_areas_parent_code'))
        batch_op.drop_index('ix_areas_level')

    op.drop_table('areas')
