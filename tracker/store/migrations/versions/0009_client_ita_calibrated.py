"""client ITA calibrated

Whether the client's skin-tone angle (ITA) comes from a photo with a colour chart. ITA from
a home photo balanced by estimate can be 20–40° off, so without a calibrated ITA the PIH
watch uses its more sensitive threshold (issue 9). False for every existing client: their
ITA is re-derived, calibrated or not, when their photos are analysed again.

Revision ID: 0009_client_ita_calibrated
Revises: 0008_course_regions
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_client_ita_calibrated"
down_revision: str | None = "0008_course_regions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: no table copy (a copy of client would cascade on SQLite).
    op.add_column(
        "client", sa.Column("ita_calibrated", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("ita_calibrated")
