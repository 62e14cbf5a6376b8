"""Tables, in SQLAlchemy Core. Alembic migrations in ``store/migrations`` must produce exactly this."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

metadata = sa.MetaData()


class Timestamp(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both databases (SQLite keeps naive text, so UTC is re-attached)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


partners = sa.Table(
    "partners",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    # Sandbox rule (403/2008): only handles that messaged the partner first may be sent to.
    sa.Column("recipients_must_message_first", sa.Boolean, nullable=False, server_default=sa.false()),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the key: keys are 256-bit random tokens, so a fast hash is enough and lookups stay O(1).
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("key_prefix", sa.String(16), nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
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
    sa.Column("created_at", Timestamp(), nullable=False),
    # ACTIVE | FLAGGED: a flagged line is ineligible to send (403/2027) until active again.
    sa.Column("status", sa.String(16), nullable=False, server_default="ACTIVE"),
    sa.Index("ix_phone_numbers_partner", "partner_id"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    # queued → running → done | dead; a running job whose lease expired is claimable again.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("run_at", Timestamp(), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("locked_by", sa.String(64), nullable=True),
    sa.Column("locked_until", Timestamp(), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("finished_at", Timestamp(), nullable=True),
    # Jobs of one lane (a webhook delivery's subscription) run one batch at a time, so one slow target
    # holds only its own lane; jobs without a lane share the worker's batch slots.
    sa.Column("lane", sa.String(64), nullable=True),
    sa.Index("ix_jobs_due", "status", "run_at"),
)

# A running job worker checks in here every second. A job held by a worker that stopped checking in is
# claimable again within seconds, not after its whole lease; readiness reads the freshest check-in.
job_workers = sa.Table(
    "job_workers",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    # Wall-clock seconds since the epoch, not the sandbox's clock: a manual clock moved an hour ahead must not
    # make every live worker look dead.
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("seen_at", sa.Float, nullable=False),
)

webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    sa.Column("target_url", sa.Text, nullable=False),
    # The signing secret, encrypted (Fernet) with the server key; it is shown to the partner once.
    sa.Column("secret_ciphertext", sa.Text, nullable=False),
    sa.Column("subscribed_events", sa.JSON, nullable=False),
    sa.Column("phone_numbers", sa.JSON, nullable=True),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("routing_id_header", sa.String(100), nullable=True),
    sa.Column("routing_key_header", sa.String(100), nullable=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.UniqueConstraint("partner_id", "target_url", name="uq_webhook_subscriptions_target"),
)

webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("phone_number", sa.String(16), nullable=True),
    sa.Column("trace_id", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Index("ix_webhook_events_partner", "partner_id", "created_at"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("subscription_id", sa.String(36), nullable=False),
    # The exact bytes that are signed and sent on every attempt.
    sa.Column("body", sa.Text, nullable=False),
    # pending → delivered | failed | cancelled (subscription gone or disabled)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("finished_at", Timestamp(), nullable=True),
    sa.Index("ix_webhook_deliveries_event", "event_id"),
    sa.Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("delivery_id", sa.String(36), sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started_at", Timestamp(), nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("response_excerpt", sa.Text, nullable=True),
    # The headers sent (signatures included), so a sandbox user can check their verification code.
    sa.Column("request_headers", sa.JSON, nullable=True),
    sa.Index("ix_webhook_attempts_delivery", "delivery_id", "attempt"),
)

chats = sa.Table(
    "chats",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    sa.Column("line_id", sa.String(36), sa.ForeignKey("phone_numbers.id"), nullable=False),
    sa.Column("line_number", sa.String(16), nullable=False),
    sa.Column("is_group", sa.Boolean, nullable=False),
    sa.Column("service", sa.String(16), nullable=False),
    # The recipients the chat was created with, sorted and comma-joined: the key of chat reuse.
    sa.Column("recipient_key", sa.Text, nullable=False),
    # False once the chat was named, its membership changed, or our line left it (then never reused).
    sa.Column("reusable", sa.Boolean, nullable=False),
    sa.Column("custom_name", sa.Text, nullable=True),
    sa.Column("group_chat_icon", sa.Text, nullable=True),
    sa.Column("left_at", Timestamp(), nullable=True),
    # The sequence number of the chat's last message: a send takes the next under the chat row's lock.
    sa.Column("message_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.Index("ix_chats_partner_created", "partner_id", "created_at", "id"),
    sa.Index("ix_chats_partner_line_created", "partner_id", "line_number", "created_at", "id"),
    # At most one reusable chat per (line, recipients): a concurrent duplicate create fails instead.
    sa.Index(
        "uq_chats_reusable",
        "partner_id",
        "line_number",
        "recipient_key",
        unique=True,
        sqlite_where=sa.text("reusable"),
        postgresql_where=sa.text("reusable"),
    ),
)

chat_participants = sa.Table(
    "chat_participants",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("chat_id", sa.String(36), sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    sa.Column("handle", sa.String(320), nullable=False),
    sa.Column("is_me", sa.Boolean, nullable=False),
    # active | left | removed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("joined_at", Timestamp(), nullable=False),
    sa.Column("left_at", Timestamp(), nullable=True),
    sa.UniqueConstraint("chat_id", "handle", name="uq_chat_participants_handle"),
    sa.Index("ix_chat_participants_handle", "handle", "chat_id"),
)

chat_changes = sa.Table(
    "chat_changes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("chat_id", sa.String(36), sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    # add_participant | remove_participant | member_left | leave | rename | set_icon
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("value", sa.Text, nullable=True),
    # queued → applied | failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("trace_id", sa.String(32), nullable=False),
    sa.Column("requested_at", Timestamp(), nullable=False),
    sa.Column("finished_at", Timestamp(), nullable=True),
    sa.Index("ix_chat_changes_chat_status", "chat_id", "status"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("chat_id", sa.String(36), sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    # Acceptance order within the chat (1, 2, ...): lists page on (chat_id, seq).
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("is_from_me", sa.Boolean, nullable=False),
    sa.Column("sender_handle", sa.String(320), nullable=False),
    sa.Column("parts", sa.JSON, nullable=False),
    sa.Column("effect", sa.JSON, nullable=True),
    sa.Column("reply_to", sa.JSON, nullable=True),
    # The originator of the thread this message belongs to (itself when it starts one).
    sa.Column("thread_id", sa.String(36), nullable=True),
    sa.Column("service", sa.String(16), nullable=False),
    sa.Column("preferred_service", sa.String(16), nullable=True),
    sa.Column("delivery_status", sa.String(16), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("trace_id", sa.String(32), nullable=False),
    sa.Column("error_code", sa.Integer, nullable=True),
    sa.Column("error_reason", sa.Text, nullable=True),
    sa.Column("edit_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.Column("sent_at", Timestamp(), nullable=True),
    sa.Column("delivered_at", Timestamp(), nullable=True),
    sa.Column("read_at", Timestamp(), nullable=True),
    sa.Column("failed_at", Timestamp(), nullable=True),
    # Deleted through the API: gone from reads, but its idempotency key still answers 404.
    sa.Column("deleted_at", Timestamp(), nullable=True),
    sa.Index("ix_messages_chat_created", "chat_id", "created_at"),
    sa.Index("uq_messages_chat_seq", "chat_id", "seq", unique=True),
    sa.Index("ix_messages_thread", "thread_id", "seq"),
    # One message per key and partner, even for concurrent duplicates and across restarts.
    sa.Index(
        "uq_messages_idempotency_key",
        "partner_id",
        "idempotency_key",
        unique=True,
        sqlite_where=sa.text("idempotency_key IS NOT NULL"),
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    ),
)

message_recipients = sa.Table(
    "message_recipients",
    metadata,
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("handle", sa.String(320), primary_key=True),
    # pending → delivered → read, or failed: what this recipient's device did with the message.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("delivered_at", Timestamp(), nullable=True),
    sa.Column("read_at", Timestamp(), nullable=True),
    sa.Index("ix_message_recipients_handle_status", "handle", "status"),
)

message_reactions = sa.Table(
    "message_reactions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("part_index", sa.Integer, nullable=False),
    sa.Column("handle", sa.String(320), nullable=False),
    sa.Column("is_me", sa.Boolean, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("custom_emoji", sa.Text, nullable=True),
    # {"emoji" | "url" | "attachment_id", "placement": {x, y, scale, rotation}} for stickers.
    sa.Column("sticker", sa.JSON, nullable=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.Index("ix_message_reactions_message", "message_id", "part_index"),
)

opt_outs = sa.Table(
    "opt_outs",
    metadata,
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("handle", sa.String(320), primary_key=True),
    # The direct chat in which the keyword arrived.
    sa.Column("chat_id", sa.String(36), nullable=True),
    sa.Column("opted_out_at", Timestamp(), nullable=False),
    # Chat health reads the opt-out of a chat by its id.
    sa.Index("ix_opt_outs_chat", "chat_id"),
)

# The partner's blocklist: no direct sends to these handles (403/2026); their inbound is dropped.
blocked_handles = sa.Table(
    "blocked_handles",
    metadata,
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("handle", sa.String(320), primary_key=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("blocked_at", Timestamp(), nullable=False),
)

send_windows = sa.Table(
    "send_windows",
    metadata,
    sa.Column("line_number", sa.String(16), primary_key=True),
    sa.Column("recipient", sa.String(320), primary_key=True),
    # ISO times of the pair's sends in the last rolling minute (at most the limit): the rate-limit log.
    sa.Column("recent", sa.JSON, nullable=False),
)

sandbox_handles = sa.Table(
    "sandbox_handles",
    metadata,
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("handle", sa.String(320), primary_key=True),
    sa.Column("services", sa.JSON, nullable=False),
    # Carrier operations that involve this handle and must fail (fault injection for tests).
    sa.Column("failing_operations", sa.JSON, nullable=False),
    # Device behaviour: delivery latency, reading by itself after a delay, offline (no delivery until back).
    sa.Column("delivery_ms", sa.Integer, nullable=True),
    sa.Column("auto_read_ms", sa.Integer, nullable=True),
    sa.Column("offline", sa.Boolean, nullable=False, server_default=sa.false()),
    # Answers the device sends by itself: [{"match", "reply", "after_ms"}]; null = the handles file's.
    sa.Column("replies", sa.JSON, nullable=True),
    sa.Column("updated_at", Timestamp(), nullable=False),
)

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    # pending → complete; failed when an upload broke off (a new PUT may still complete it)
    sa.Column("status", sa.String(16), nullable=False),
    # Where the bytes are, once uploaded: each upload writes a key of its own, and the row names the winner.
    sa.Column("storage_key", sa.Text, nullable=True),
    sa.Column("upload_expires_at", Timestamp(), nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("completed_at", Timestamp(), nullable=True),
    sa.Index("ix_attachments_partner", "partner_id", "created_at"),
)

typing_indicators = sa.Table(
    "typing_indicators",
    metadata,
    sa.Column("chat_id", sa.String(36), sa.ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("started_at", Timestamp(), nullable=False),
    # The indicator shows until then, unless stopped or cleared by a send first.
    sa.Column("expires_at", Timestamp(), nullable=False),
)

# A member typing on their own phone (the far side), until stopped or until the indicator lapses.
member_typing = sa.Table(
    "member_typing",
    metadata,
    sa.Column("chat_id", sa.String(36), sa.ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("handle", sa.String(320), primary_key=True),
    sa.Column("expires_at", Timestamp(), nullable=False),
)

contact_cards = sa.Table(
    "contact_cards",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    sa.Column("line_id", sa.String(36), sa.ForeignKey("phone_numbers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("first_name", sa.Text, nullable=False),
    sa.Column("last_name", sa.Text, nullable=True),
    sa.Column("image_url", sa.Text, nullable=True),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.UniqueConstraint("line_id", name="uq_contact_cards_line"),
    sa.Index("ix_contact_cards_partner", "partner_id"),
)

rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
    # What is limited, e.g. "share_contact_card:<chat id>" or "check_rcs:<address>".
    sa.Column("scope", sa.String(400), primary_key=True),
    # A fixed window: calls counted since it started; a call after it ends starts a new one.
    sa.Column("window_started_at", Timestamp(), nullable=False),
    sa.Column("calls", sa.Integer, nullable=False),
)

sandbox_lines = sa.Table(
    "sandbox_lines",
    metadata,
    sa.Column("line_id", sa.String(36), sa.ForeignKey("phone_numbers.id", ondelete="CASCADE"), primary_key=True),
    # enabled | not_enabled | no_account | check_fails: what check_rcs meets on this line.
    sa.Column("rcs", sa.String(16), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
)

# Sandbox fault injection (PUT /sandbox/faults): one row per partner for webhook faults, one per API rule.
sandbox_faults = sa.Table(
    "sandbox_faults",
    metadata,
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("webhooks", sa.JSON, nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
)

sandbox_fault_rules = sa.Table(
    "sandbox_fault_rules",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("partner_id", sa.String(36), sa.ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("rule", sa.JSON, nullable=False),
    # How many more calls the rule may fail (its "times"), counted down atomically; NULL = every call.
    sa.Column("remaining", sa.Integer, nullable=True),
    sa.Index("ix_sandbox_fault_rules_partner", "partner_id", "position"),
)
