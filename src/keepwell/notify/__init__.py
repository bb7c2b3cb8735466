"""Notifications: an outbox delivered exactly once by email (SMTP), Slack incoming
webhooks and signed outbound webhooks, with retries and backoff; tech-touch emails."""
