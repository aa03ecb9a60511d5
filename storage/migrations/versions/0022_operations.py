"""Photos in object storage, personal-data retention (issue 20).

Released empty: it was a placeholder when a release went out, so a store may have passed it with
nothing done. What it was meant to hold is migration 0026 (0026_operations.py); a released migration never changes.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02

"""
from collections.abc import Sequence

revision: str = '0022'
down_revision: str | Sequence[str] | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
