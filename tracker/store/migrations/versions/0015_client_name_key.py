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


def upgrade() -> None:
    with op.batch_alter_table("client") as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("name_number", sa.Integer(), server_default="0", nullable=False))
    conn = op.get_bind()
    seen: Counter[tuple[int, str]] = Counter()
    rows = conn.execute(sa.select(client.c.id, client.c.clinic_id, client.c.name).order_by(client.c.id))
    for row_id, clinic_id, name in rows.all():
        key = client_name_key(name)
        number = seen[(clinic_id, key)]
        seen[(clinic_id, key)] += 1
        conn.execute(
            sa.update(client).where(client.c.id == row_id).values(name_key=key, name_number=number)
        )
    with op.batch_alter_table("client") as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(), nullable=False)
        batch_op.create_unique_constraint("uq_client_name", ["clinic_id", "name_key", "name_number"])


def downgrade() -> None:
    with op.batch_alter_table("client") as batch_op:
        batch_op.drop_constraint("uq_client_name", type_="unique")
        batch_op.drop_column("name_number")
        batch_op.drop_column("name_key")
