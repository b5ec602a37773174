"""flag review

Practitioners' actions on flags (acknowledge, resolve, snooze, reopen; tracker/app/flags.py),
one row per action: the latest row of a flag is its state.

Revision ID: 0011_flag_review
Revises: 0010_remeasure_job
Create Date: 2026-12-01 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_flag_review"
down_revision: str | None = "0010_remeasure_job"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flag_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("flag_key", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("by", sa.String(length=320), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('acknowledged', 'resolved', 'snoozed', 'reopened')", name=op.f("ck_flag_review_state_known")
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"], ["user_account.id"], name=op.f("fk_flag_review_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_flag_review_client_id_client"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_review")),
    )
    with op.batch_alter_table("flag_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_review_client_id"), ["client_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("flag_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_review_client_id"))
    op.drop_table("flag_review")
