"""Questions per category and time limits per step (issue 18).

Released empty: it was a placeholder when a release went out, so a store may have passed it with
nothing done. What it was meant to hold is migration 0024 (0024_category_questions.py); a released migration never changes.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02

"""
from collections.abc import Sequence

revision: str = '0020'
down_revision: str | Sequence[str] | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
