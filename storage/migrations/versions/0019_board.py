"""The command-centre board: sign-in links and sessions (issue 17).

Released empty: it was a placeholder when a release went out, so a store may have passed it with
nothing done. What it was meant to hold is migration 0023 (0023_board.py); a released migration never changes.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

"""
from collections.abc import Sequence

revision: str = '0019'
down_revision: str | Sequence[str] | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
