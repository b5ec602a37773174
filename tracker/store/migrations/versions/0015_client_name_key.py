"""client name key

One client per name in a clinic, kept by the database (issue 13 item 6): two imports
racing for a new client name made two clients. Each client stores its name's comparison
form (tracker.domain.client_name_key: compatibility form, case folded, white space
collapsed) and a number: 0 for the first client of a name, 1, 2, ... for others staff
confirmed to be different people. (clinic, key, number) is unique.

Clients of the same name that older versions made (by a race, or confirmed) are kept as
they are: numbered in the order they were created (the oldest keeps 0), so the upgrade
never fails and no record changes but for the two new columns.

Revision ID: 0015_client_name_key
Revises: 0014_auth
Create Date: 2026-12-02 03:40:00
"""

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tracker.domain import client_name_key

revision: str = "0015_client_name_key"
down_revision: str | None = "0014_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

client = sa.table(
    "client",
    sa.column("id", sa.Integer),
    sa.column("clinic_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
    sa.column("name_number", sa.Integer),
)


# SQLite copies the table for the constraint: the copy must keep AUTOINCREMENT, and the
# highest id ever given (ids are never reused: the audit log names deleted clients by id).
KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    conn = op.get_bind()
    last_id = _last_id(conn)
    with op.batch_alter_table("client", table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("name_number", sa.Integer(), server_default="0", nullable=False))
    seen: Counter[tuple[int, str]] = Counter()
    rows = conn.execute(sa.select(client.c.id, client.c.clinic_id, client.c.name).order_by(client.c.id))
    for row_id, clinic_id, name in rows.all():
        key = client_name_key(name)
        number = seen[(clinic_id, key)]
        seen[(clinic_id, key)] += 1
        conn.execute(
            sa.update(client).where(client.c.id == row_id).values(name_key=key, name_number=number)
        )
    with op.batch_alter_table("client", table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(), nullable=False)
        batch_op.create_unique_constraint("uq_client_name", ["clinic_id", "name_key", "name_number"])
    _keep_last_id(conn, last_id)


def downgrade() -> None:
    conn = op.get_bind()
    last_id = _last_id(conn)
    with op.batch_alter_table("client", table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_constraint("uq_client_name", type_="unique")
        batch_op.drop_column("name_number")
        batch_op.drop_column("name_key")
    _keep_last_id(conn, last_id)


def _last_id(conn: sa.Connection) -> int | None:
    if conn.dialect.name != "sqlite":
        return None  # PostgreSQL alters the table in place: its sequence is untouched
    return conn.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'client'")).scalar()


def _keep_last_id(conn: sa.Connection, last_id: int | None) -> None:
    if last_id is None:
        return
    kept = conn.execute(
        sa.text("UPDATE sqlite_sequence SET seq = max(seq, :last) WHERE name = 'client'"), {"last": last_id}
    )
    if kept.rowcount == 0:  # the copy had no rows to number
        conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('client', :last)"), {"last": last_id})
