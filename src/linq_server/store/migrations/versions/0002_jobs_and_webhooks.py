"""Job queue and webhooks: subscriptions, events, deliveries and attempts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_at", Timestamp, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("locked_by", sa.String(64), nullable=True),
        sa.Column("locked_until", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("target_url", sa.Text, nullable=False),
        sa.Column("secret_ciphertext", sa.Text, nullable=False),
        sa.Column("subscribed_events", sa.JSON, nullable=False),
        sa.Column("phone_numbers", sa.JSON, nullable=True),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("routing_id_header", sa.String(100), nullable=True),
        sa.Column("routing_key_header", sa.String(100), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.UniqueConstraint("partner_id", "target_url", name="uq_webhook_subscriptions_target"),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("phone_number", sa.String(16), nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("event_id", sa.String(36), sa.ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("subscription_id", sa.String(36), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "delivery_id", sa.String(36), sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("response_excerpt", sa.Text, nullable=True),
    )
    op.create_index("ix_jobs_due", "jobs", ["status", "run_at"])
    op.create_index("ix_webhook_events_partner", "webhook_events", ["partner_id", "created_at"])
    op.create_index("ix_webhook_deliveries_event", "webhook_deliveries", ["event_id"])
    op.create_index("ix_webhook_deliveries_subscription", "webhook_deliveries", ["subscription_id", "created_at"])
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "attempt"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    op.drop_table("webhook_subscriptions")
    op.drop_table("jobs")
