"""encryption

Encryption at rest (issue 13 item 3): the keyring table, and the date of birth and intake
answers as text, so they can hold an encrypted value (tracker/store/encrypted_columns.py).
A store without a key keeps plain values: the ISO date and the JSON text, as before.

Revision ID: 0016_encryption
Revises: 0015_client_name_key
Create Date: 2026-12-02 03:40:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0016_encryption"
down_revision: str | None = "0015_client_name_key"
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
    with _ids_never_reused():
        with op.batch_alter_table("client", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
            batch_op.alter_column(
                "date_of_birth",
                type_=sa.Text(),
                existing_nullable=True,
                postgresql_using="date_of_birth::text",
            )
            batch_op.alter_column(
                "intake", type_=sa.Text(), existing_nullable=False, postgresql_using="intake::text"
            )


def downgrade() -> None:
    # Only a store without a key can go back: an encrypted value is not a date. SQLite keeps
    # the text columns: its copy would CAST an ISO date to DATE's numeric affinity ('1987'),
    # and the date and JSON types read the text as it is.
    if op.get_bind().dialect.name == "sqlite":
        op.drop_table("encryption_key")
        return
    with _ids_never_reused():
        with op.batch_alter_table("client", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
            batch_op.alter_column(
                "intake", type_=sa.JSON(), existing_nullable=False, postgresql_using="intake::json"
            )
            batch_op.alter_column(
                "date_of_birth",
                type_=sa.Date(),
                existing_nullable=True,
                postgresql_using="date_of_birth::date",
            )
    op.drop_table("encryption_key")


@contextmanager
def _ids_never_reused() -> Iterator[None]:
    """SQLite's copy of `client` would start its id counter at the largest id left, so a
    deleted newest client's id would be given again (the audit log names clients by id):
    the counter is carried over."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        yield
        return
    seq = conn.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'client'")).scalar()
    yield
    if seq is None:
        return
    updated = conn.execute(
        sa.text("UPDATE sqlite_sequence SET seq = MAX(seq, :seq) WHERE name = 'client'"), {"seq": seq}
    )
    if not updated.rowcount:
        conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('client', :seq)"), {"seq": seq})
