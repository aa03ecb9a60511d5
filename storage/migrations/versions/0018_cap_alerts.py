"""Official warnings in: CAP 1.2 alerts and the call-outs drafted from them (issue 16).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 - used once the tables are written
from alembic import op  # noqa: F401

revision: str = '0018'
down_revision: str | Sequence[str] | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
