"""Messages: acceptance order, idempotency keys, delivery per recipient, reactions, edits, deletion,
opt-outs, the rate-limit log, and device behaviour of sandbox handles.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("chats", sa.Column("message_seq", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("partner_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("seq", sa.Integer, nullable=True))
        batch.add_column(sa.Column("thread_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("idempotency_key", sa.String(255), nullable=True))
        batch.add_column(sa.Column("error_code", sa.Integer, nullable=True))
        batch.add_column(sa.Column("error_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("edit_count", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("updated_at", Timestamp, nullable=True))
        batch.add_column(sa.Column("failed_at", Timestamp, nullable=True))
        batch.add_column(sa.Column("deleted_at", Timestamp, nullable=True))
    # Messages stored before this revision: their partner, their order in the chat, their update time.
    op.execute("UPDATE messages SET partner_id = (SELECT partner_id FROM chats WHERE chats.id = messages.chat_id)")
    op.execute(
        "UPDATE messages SET updated_at = created_at, seq = (SELECT COUNT(*) FROM messages AS earlier"
        " WHERE earlier.chat_id = messages.chat_id AND (earlier.created_at < messages.created_at"
        " OR (earlier.created_at = messages.created_at AND earlier.id <= messages.id)))"
    )
    op.execute("UPDATE chats SET message_seq = (SELECT COUNT(*) FROM messages WHERE messages.chat_id = chats.id)")
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("partner_id", existing_type=sa.String(36), nullable=False)
        batch.alter_column("seq", existing_type=sa.Integer, nullable=False)
        batch.alter_column("updated_at", existing_type=Timestamp, nullable=False)
        batch.create_foreign_key(
            "fk_messages_partner_id_partners", "partners", ["partner_id"], ["id"], ondelete="CASCADE"
        )
    op.create_index("uq_messages_chat_seq", "messages", ["chat_id", "seq"], unique=True)
    op.create_index("ix_messages_thread", "messages", ["thread_id", "seq"])
    op.create_index(
        "uq_messages_idempotency_key",
        "messages",
        ["partner_id", "idempotency_key"],
        unique=True,
        sqlite_where=sa.text("idempotency_key IS NOT NULL"),
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_table(
        "message_recipients",
        sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("handle", sa.String(320), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("delivered_at", Timestamp, nullable=True),
        sa.Column("read_at", Timestamp, nullable=True),
    )
    op.create_index("ix_message_recipients_handle_status", "message_recipients", ["handle", "status"])
    op.create_table(
        "message_reactions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("part_index", sa.Integer, nullable=False),
        sa.Column("handle", sa.String(320), nullable=False),
        sa.Column("is_me", sa.Boolean, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("custom_emoji", sa.Text, nullable=True),
        sa.Column("sticker", sa.JSON, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_index("ix_message_reactions_message", "message_reactions", ["message_id", "part_index"])
    op.create_table(
        "opt_outs",
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("handle", sa.String(320), primary_key=True),
        sa.Column("chat_id", sa.String(36), nullable=True),
        sa.Column("opted_out_at", Timestamp, nullable=False),
    )
    op.create_table(
        "send_windows",
        sa.Column("line_number", sa.String(16), primary_key=True),
        sa.Column("recipient", sa.String(320), primary_key=True),
        sa.Column("recent", sa.JSON, nullable=False),
    )
    op.add_column("sandbox_handles", sa.Column("delivery_ms", sa.Integer, nullable=True))
    op.add_column("sandbox_handles", sa.Column("auto_read_ms", sa.Integer, nullable=True))
    op.add_column("sandbox_handles", sa.Column("offline", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    for column in ("offline", "auto_read_ms", "delivery_ms"):
        op.drop_column("sandbox_handles", column)
    for table in ("send_windows", "opt_outs", "message_reactions", "message_recipients"):
        op.drop_table(table)
    op.drop_index("uq_messages_idempotency_key", "messages")
    op.drop_index("ix_messages_thread", "messages")
    op.drop_index("uq_messages_chat_seq", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("fk_messages_partner_id_partners", type_="foreignkey")
        for column in ("deleted_at", "failed_at", "updated_at", "edit_count", "error_reason", "error_code",
                       "idempotency_key", "thread_id", "seq", "partner_id"):  # fmt: skip
            batch.drop_column(column)
    op.drop_column("chats", "message_seq")
