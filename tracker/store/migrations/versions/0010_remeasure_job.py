"""remeasure job

Series re-measured off the upload's request path (issue 10): a follow-up whose chart teaches
the series its scale queues a job instead of measuring every earlier photo while the
uploader waits.

Revision ID: 0010_remeasure_job
Revises: 0009_client_ita_calibrated
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_remeasure_job"
down_revision: str | None = "0009_client_ita_calibrated"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "remeasure_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("skip", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["course_id"], ["treatment_course.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_remeasure_job_course_id", "remeasure_job", ["course_id"])
    op.create_index("ix_remeasure_job_finished_at", "remeasure_job", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_remeasure_job_finished_at", table_name="remeasure_job")
    op.drop_index("ix_remeasure_job_course_id", table_name="remeasure_job")
    op.drop_table("remeasure_job")
