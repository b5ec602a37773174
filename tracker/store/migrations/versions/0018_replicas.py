"""replicas

The one-time codes that hand a sign-in to the browser's cookie move from one process's
memory into the database, so any app replica can redeem a code another issued (issue 13,
item 5). And two indexes for the dashboard of one clinic in a chain of many (item 8): its
signatures read the clinic's photo and result ids from indexes alone instead of scanning
every clinic's photos.

Revision ID: 0018_replicas
Revises: 0017_workers
Create Date: 2026-12-02 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_replicas"
down_revision: str | None = "0017_workers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cookie_code",
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("sealed_token", sa.String(length=400), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code_sha256", name=op.f("pk_cookie_code")),
    )
    op.create_index(op.f("ix_cookie_code_expires_at"), "cookie_code", ["expires_at"])
    op.create_index("ix_photo_client_id_id", "photo", ["client_id", "id"])
    op.create_index("ix_analysis_result_photo_id_id", "analysis_result", ["photo_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_analysis_result_photo_id_id", table_name="analysis_result")
    op.drop_index("ix_photo_client_id_id", table_name="photo")
    op.drop_index(op.f("ix_cookie_code_expires_at"), table_name="cookie_code")
    op.drop_table("cookie_code")
