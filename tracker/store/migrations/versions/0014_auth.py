"""auth

Sign-in attempts counted atomically before the password is checked, and the idle timeout
of signed-in browsers (issue 12, items 1 and 9).

Revision ID: 0014_auth
Revises: 0013_audit_ids
Create Date: 2026-12-02 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_auth"
down_revision: str | None = "0013_audit_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("locked_event_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttle")),
    )
    op.create_index(op.f("ix_sign_in_throttle_window_start"), "sign_in_throttle", ["window_start"])
    with op.batch_alter_table("login_session") as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_session") as batch_op:
        batch_op.drop_column("last_used_at")
    op.drop_index(op.f("ix_sign_in_throttle_window_start"), table_name="sign_in_throttle")
    op.drop_table("sign_in_throttle")
