"""The command-centre board: sign-in links and sessions (issue 17).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | Sequence[str] | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('board_passes',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_board_passes_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_board_passes'))
    )
    with op.batch_alter_table('board_passes', schema=None) as batch_op:
        batch_op.create_index('ix_board_passes_person', ['person_id'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_board', ['state', 'lat', 'lon', 'deadline_at', 'area_code', 'assignee_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_board')
    with op.batch_alter_table('board_passes', schema=None) as batch_op:
        batch_op.drop_index('ix_board_passes_person')
    op.drop_table('board_passes')
