"""Emergency call-outs of micro-grid responders and their roll call.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mobilizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commander_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('area_codes', sa.JSON(), nullable=False),
    sa.Column('center_lat', sa.Float(), nullable=True),
    sa.Column('center_lon', sa.Float(), nullable=True),
    sa.Column('radius_m', sa.Integer(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('template', sa.String(length=16), nullable=True),
    sa.Column('headline', sa.String(length=200), nullable=True),
    sa.Column('instruction', sa.Text(), nullable=True),
    sa.Column('meet_lat', sa.Float(), nullable=True),
    sa.Column('meet_lon', sa.Float(), nullable=True),
    sa.Column('need', sa.Integer(), nullable=True),
    sa.Column('drill', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('realerts', sa.Integer(), nullable=False),
    sa.Column('widen_offered', sa.Boolean(), nullable=False),
    sa.Column('board_message_id', sa.BigInteger(), nullable=True),
    sa.Column('board_text', sa.Text(), nullable=True),
    sa.Column('board_edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['commander_id'], ['people.id'], name=op.f('fk_mobilizations_commander_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mobilizations'))
    )
    op.create_table('mobilization_responders',
    sa.Column('mobilization_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unreachable', sa.Boolean(), nullable=False),
    sa.Column('alerts', sa.Integer(), nullable=False),
    sa.Column('arrived_lat', sa.Float(), nullable=True),
    sa.Column('arrived_lon', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['mobilization_id'], ['mobilizations.id'], name=op.f('fk_mobilization_responders_mobilization_id_mobilizations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_mobilization_responders_person_id_people')),
    sa.PrimaryKeyConstraint('mobilization_id', 'person_id', name=op.f('pk_mobilization_responders'))
    )
    op.create_index('ix_mobilization_responders_person', 'mobilization_responders', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_mobilization_responders_person', table_name='mobilization_responders')
    op.drop_table('mobilization_responders')
    op.drop_table('mobilizations')
