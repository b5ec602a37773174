"""demo clinic flag

The demo clinic is marked, so it is never taken as an installation's default clinic and a
production server can refuse to start while its accounts are active.

Revision ID: 0007_clinic_is_demo
Revises: 0006_client_note
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_clinic_is_demo"
down_revision: str | None = "0006_client_note"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: no table copy, on SQLite and PostgreSQL alike.
    op.add_column("clinic", sa.Column("is_demo", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("is_demo")
