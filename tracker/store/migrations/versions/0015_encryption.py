"""encryption

Encryption at rest (issue 13 item 3): the keyring table, and the date of birth and intake
answers as text, so they can hold an encrypted value (tracker/store/encrypted_columns.py).
A store without a key keeps plain values: the ISO date and the JSON text, as before.

Revision ID: 0015_encryption
Revises: 0014_auth
Create Date: 2026-12-02 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_encryption"
down_revision: str | None = "0014_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "encryption_key",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("sealed", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_encryption_key")),
    )
    # SQLite copies the table (foreign keys off: tracker/store/migrations/env.py); its values
    # are text already. PostgreSQL converts in place: a date to YYYY-MM-DD, json to its text.
    with op.batch_alter_table("client") as batch_op:
        batch_op.alter_column(
            "date_of_birth", type_=sa.Text(), existing_nullable=True, postgresql_using="date_of_birth::text"
        )
        batch_op.alter_column("intake", type_=sa.Text(), existing_nullable=False, postgresql_using="intake::text")


def downgrade() -> None:
    # Only a store without a key can go back: an encrypted value is not a date.
    with op.batch_alter_table("client") as batch_op:
        batch_op.alter_column(
            "intake", type_=sa.JSON(), existing_nullable=False, postgresql_using="intake::json"
        )
        batch_op.alter_column(
            "date_of_birth", type_=sa.Date(), existing_nullable=True, postgresql_using="date_of_birth::date"
        )
    op.drop_table("encryption_key")
