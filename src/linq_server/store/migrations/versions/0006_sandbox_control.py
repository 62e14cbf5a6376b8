"""Sandbox control: fault rules, webhook faults, and the headers of every delivery attempt.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("webhook_attempts", sa.Column("request_headers", sa.JSON, nullable=True))
    op.create_table(
        "sandbox_faults",
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("webhooks", sa.JSON, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_table(
        "sandbox_fault_rules",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("rule", sa.JSON, nullable=False),
        sa.Column("remaining", sa.Integer, nullable=True),
    )
    op.create_index("ix_sandbox_fault_rules_partner", "sandbox_fault_rules", ["partner_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_sandbox_fault_rules_partner", table_name="sandbox_fault_rules")
    op.drop_table("sandbox_fault_rules")
    op.drop_table("sandbox_faults")
    with op.batch_alter_table("webhook_attempts") as batch:
        batch.drop_column("request_headers")
