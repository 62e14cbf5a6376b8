"""The far side: device replies of sandbox handles, and members typing until their indicator lapses.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sandbox_handles") as batch:
        batch.add_column(sa.Column("replies", sa.JSON, nullable=True))
    op.create_table(
        "member_typing",
        sa.Column("chat_id", sa.String(36), sa.ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("handle", sa.String(320), primary_key=True),
        sa.Column("expires_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("member_typing")
    with op.batch_alter_table("sandbox_handles") as batch:
        batch.drop_column("replies")
