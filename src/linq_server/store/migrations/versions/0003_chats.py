"""Chats, participants, queued chat changes, messages and sandbox handle overrides.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("line_id", sa.String(36), sa.ForeignKey("phone_numbers.id"), nullable=False),
        sa.Column("line_number", sa.String(16), nullable=False),
        sa.Column("is_group", sa.Boolean, nullable=False),
        sa.Column("service", sa.String(16), nullable=False),
        sa.Column("recipient_key", sa.Text, nullable=False),
        sa.Column("reusable", sa.Boolean, nullable=False),
        sa.Column("custom_name", sa.Text, nullable=True),
        sa.Column("group_chat_icon", sa.Text, nullable=True),
        sa.Column("left_at", Timestamp, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_index("ix_chats_partner_created", "chats", ["partner_id", "created_at", "id"])
    op.create_index("ix_chats_partner_line_created", "chats", ["partner_id", "line_number", "created_at", "id"])
    op.create_index(
        "uq_chats_reusable",
        "chats",
        ["partner_id", "line_number", "recipient_key"],
        unique=True,
        sqlite_where=sa.text("reusable"),
        postgresql_where=sa.text("reusable"),
    )
    op.create_table(
        "chat_participants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("chat_id", sa.String(36), sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
        sa.Column("handle", sa.String(320), nullable=False),
        sa.Column("is_me", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("joined_at", Timestamp, nullable=False),
        sa.Column("left_at", Timestamp, nullable=True),
        sa.UniqueConstraint("chat_id", "handle", name="uq_chat_participants_handle"),
    )
    op.create_index("ix_chat_participants_handle", "chat_participants", ["handle", "chat_id"])
    op.create_table(
        "chat_changes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("chat_id", sa.String(36), sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("requested_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
    )
    op.create_index("ix_chat_changes_chat_status", "chat_changes", ["chat_id", "status"])
    op.create_table(
        "messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("chat_id", sa.String(36), sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
        sa.Column("is_from_me", sa.Boolean, nullable=False),
        sa.Column("sender_handle", sa.String(320), nullable=False),
        sa.Column("parts", sa.JSON, nullable=False),
        sa.Column("effect", sa.JSON, nullable=True),
        sa.Column("reply_to", sa.JSON, nullable=True),
        sa.Column("service", sa.String(16), nullable=False),
        sa.Column("preferred_service", sa.String(16), nullable=True),
        sa.Column("delivery_status", sa.String(16), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.Column("delivered_at", Timestamp, nullable=True),
        sa.Column("read_at", Timestamp, nullable=True),
    )
    op.create_index("ix_messages_chat_created", "messages", ["chat_id", "created_at"])
    op.create_table(
        "sandbox_handles",
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("handle", sa.String(320), primary_key=True),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("failing_operations", sa.JSON, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    for table in ("sandbox_handles", "messages", "chat_changes", "chat_participants", "chats"):
        op.drop_table(table)
