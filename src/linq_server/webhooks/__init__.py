"""Webhooks: subscriptions, event building, Standard Webhooks signing, and the delivery job."""
