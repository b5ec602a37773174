"""result_client

Each analysis result carries its photo's client id, indexed with the result id, so the
dashboard's signatures read one clinic's result ids per client from an index alone instead
of joining every clinic's photos (issue 13, item 8: one clinic's warm dashboard in a chain
of 10,000 clients). A plain copy, no foreign key: a photo never changes client, and its
results go with it.

Revision ID: 0020_result_client
Revises: 0019_oidc
Create Date: 2026-12-02 04:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_result_client"
down_revision: str | None = "0019_oidc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("analysis_result", sa.Column("client_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE analysis_result SET client_id ="
        " (SELECT photo.client_id FROM photo WHERE photo.id = analysis_result.photo_id)"
    )
    op.create_index("ix_analysis_result_client_id_id", "analysis_result", ["client_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_analysis_result_client_id_id", table_name="analysis_result")
    with op.batch_alter_table("analysis_result") as batch_op:
        batch_op.drop_column("client_id")
