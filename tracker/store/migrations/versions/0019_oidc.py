"""oidc

Staff accounts linked to their identity-provider account (issuer and subject) for OIDC
sign-in (issue 13, item 4).

Revision ID: 0019_oidc
Revises: 0018_replicas
Create Date: 2026-12-02 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_oidc"
down_revision: str | None = "0018_replicas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_identity",
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_oidc_identity_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("issuer", "subject", name=op.f("pk_oidc_identity")),
        sa.UniqueConstraint("user_id", name=op.f("uq_oidc_identity_user_id")),
    )


def downgrade() -> None:
    op.drop_table("oidc_identity")
