"""Call-out plans (预案): saved call-outs a commander fires in one tap (issue 16).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 - used once the tables are written
from alembic import op  # noqa: F401

revision: str = '0016'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
