"""client notes

Practitioners' notes on a client (tracker/app/notes.py), shown in the client review.

Revision ID: 0006_client_note
Revises: 0005_login_session
Create Date: 2026-11-21 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_client_note"
down_revision: str | None = "0005_login_session"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_user_id"], ["user_account.id"], name=op.f("fk_client_note_author_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_client_note_client_id_client"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_note")),
    )
    with op.batch_alter_table("client_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_note_client_id"), ["client_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("client_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_note_client_id"))
    op.drop_table("client_note")
