"""Cases from other channels (Open311): no chat reporter, the channel and the reporter's contact;
API keys for the systems that post them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('reporter_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False, server_default='telegram'))
        batch_op.add_column(sa.Column('reporter_contact', sa.JSON(), nullable=True))
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_api_keys_name'))
    )


def downgrade() -> None:
    op.drop_table('api_keys')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('reporter_contact')
        batch_op.drop_column('channel')
        batch_op.alter_column('reporter_id', existing_type=sa.Integer(), nullable=False)
