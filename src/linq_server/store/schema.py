"""Tables, in SQLAlchemy Core. Alembic migrations in ``store/migrations`` must produce exactly this."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Timestamps are timezone-aware UTC everywhere.
Timestamp = sa.DateTime(timezone=True)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the key: keys are 256-bit random tokens, so a fast hash is enough and lookups stay O(1).
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("key_prefix", sa.String(16), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

phone_numbers = sa.Table(
    "phone_numbers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    sa.Column("phone_number", sa.String(16), nullable=False, unique=True),
    sa.Column("line_type", sa.String(16), nullable=False),
    sa.Column("country_code", sa.String(2), nullable=True),
    sa.Column("capabilities", sa.JSON, nullable=False),
    sa.Column("forwarding_number", sa.String(16), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_phone_numbers_partner", "partner_id"),
)
