"""Send gates: line status (ACTIVE / FLAGGED), the partner's blocklist, the sandbox first-contact rule,
and the opt-out's chat looked up for chat health.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("phone_numbers") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="ACTIVE"))
    with op.batch_alter_table("partners") as batch:
        batch.add_column(
            sa.Column("recipients_must_message_first", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "blocked_handles",
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("handle", sa.String(320), primary_key=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("blocked_at", Timestamp, nullable=False),
    )
    op.create_index("ix_opt_outs_chat", "opt_outs", ["chat_id"])


def downgrade() -> None:
    op.drop_index("ix_opt_outs_chat", table_name="opt_outs")
    op.drop_table("blocked_handles")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("recipients_must_message_first")
    with op.batch_alter_table("phone_numbers") as batch:
        batch.drop_column("status")
