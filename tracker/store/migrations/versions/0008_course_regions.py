"""course regions

Which face regions a course treats and, optionally, which untreated regions are its
reference (issue 9). Both NULL for every existing course: the treated regions follow the
course's concern and the reference is chosen automatically, so old data reads as before.

Revision ID: 0008_course_regions
Revises: 0007_clinic_is_demo
Create Date: 2026-12-08 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_course_regions"
down_revision: str | None = "0007_clinic_is_demo"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no table copy (a copy of treatment_course would cascade on SQLite).
    op.add_column("treatment_course", sa.Column("treated_regions", sa.JSON(), nullable=True))
    op.add_column("treatment_course", sa.Column("reference_regions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("treatment_course", schema=None) as batch_op:
        batch_op.drop_column("reference_regions")
        batch_op.drop_column("treated_regions")
