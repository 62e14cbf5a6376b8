"""JSON shapes: chats, messages and webhook event payloads, each written once."""
