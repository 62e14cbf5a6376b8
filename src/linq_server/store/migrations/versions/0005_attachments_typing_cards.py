"""Attachments, typing indicators, contact cards, rate-limit windows and sandbox line settings.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("storage_key", sa.Text, nullable=True),
        sa.Column("upload_expires_at", Timestamp, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("completed_at", Timestamp, nullable=True),
    )
    op.create_index("ix_attachments_partner", "attachments", ["partner_id", "created_at"])
    op.create_table(
        "typing_indicators",
        sa.Column("chat_id", sa.String(36), sa.ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
    )
    op.create_table(
        "contact_cards",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("line_id", sa.String(36), sa.ForeignKey("phone_numbers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("first_name", sa.Text, nullable=False),
        sa.Column("last_name", sa.Text, nullable=True),
        sa.Column("image_url", sa.Text, nullable=True),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.UniqueConstraint("line_id", name="uq_contact_cards_line"),
    )
    op.create_index("ix_contact_cards_partner", "contact_cards", ["partner_id"])
    op.create_table(
        "rate_limits",
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("scope", sa.String(400), primary_key=True),
        sa.Column("window_started_at", Timestamp, nullable=False),
        sa.Column("calls", sa.Integer, nullable=False),
    )
    op.create_table(
        "sandbox_lines",
        sa.Column("line_id", sa.String(36), sa.ForeignKey("phone_numbers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("rcs", sa.String(16), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    for table in ("sandbox_lines", "rate_limits", "contact_cards", "typing_indicators", "attachments"):
        op.drop_table(table)
