"""audit ids

The audit log names people by id, never by email, and keeps no file names, photo hashes or
intake answers (issue 12, item 2). Existing rows are rewritten the same way: an email in
`actor` becomes "user N" (or "unknown account" for a sign-in attempt with an email no
account had), and the personal values are dropped from `detail`; on rows about clients
deleted before this version, typed reasons and notes go too. Also the queue of files a
deletion still has to remove (`blob_purge`), so fsck can finish a deletion cut short.
And ids of clients, accounts and photos are never reused on SQLite (AUTOINCREMENT): the
log's "client 7" must not become a new client after client 7 was deleted.

Revision ID: 0013_audit_ids
Revises: 0012_account_links
Create Date: 2026-12-02 01:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_audit_ids"
down_revision: str | None = "0012_account_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEVER_REUSED = ("client", "user_account", "photo")
PERSONAL_KEYS = ("file", "sha256", "email")
UPDATE = sa.text("UPDATE audit_event SET actor = :actor, detail = :detail WHERE id = :id").bindparams(
    sa.bindparam("detail", type_=sa.JSON)
)
FREE_TEXT_KEYS = ("reason", "note")


def upgrade() -> None:
    op.create_table(
        "blob_purge",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_blob_purge")),
    )
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for table in NEVER_REUSED:
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass
    clients = {int(i) for (i,) in conn.execute(sa.text("SELECT id FROM client"))}
    rows = conn.execute(
        sa.text("SELECT id, actor, actor_user_id, entity, entity_id, detail FROM audit_event")
    ).fetchall()
    for row_id, actor, user_id, entity, entity_id, detail in rows:
        new_actor = _actor(actor, user_id)
        old = json.loads(detail) if isinstance(detail, str) else dict(detail or {})
        new = _detail(old, entity, entity_id, clients)
        if new_actor != actor or new != old:
            conn.execute(UPDATE, {"actor": new_actor, "detail": new, "id": row_id})


def _actor(actor: str, user_id: int | None) -> str:
    if "@" not in actor:
        return actor  # "cli", "system", "(empty)", "(link)"
    return f"user {user_id}" if user_id is not None else "unknown account"


def _detail(detail: dict, entity: str, entity_id: int | None, clients: set[int]) -> dict:
    kept = {k: v for k, v in detail.items() if k not in PERSONAL_KEYS}
    if "yes" in kept:  # intake answers: which, not their values
        kept["changed"] = "not recorded before this version"
        del kept["yes"]
    if isinstance(kept.get("contraindications"), list):
        kept["contraindications"] = len(kept["contraindications"])
    client_id = entity_id if entity == "client" else kept.get("client_id")
    if isinstance(client_id, int) and client_id not in clients:
        kept = {k: v for k, v in kept.items() if k not in FREE_TEXT_KEYS}
    return kept


def downgrade() -> None:
    # The emails and values dropped from the audit rows cannot be brought back.
    op.drop_table("blob_purge")
