"""Partners, API keys and phone numbers.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "phone_numbers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("phone_number", sa.String(16), nullable=False, unique=True),
        sa.Column("line_type", sa.String(16), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=True),
        sa.Column("capabilities", sa.JSON, nullable=False),
        sa.Column("forwarding_number", sa.String(16), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_index("ix_phone_numbers_partner", "phone_numbers", ["partner_id"])


def downgrade() -> None:
    op.drop_table("phone_numbers")
    op.drop_table("api_keys")
    op.drop_table("partners")
