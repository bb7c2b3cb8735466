"""Event ingestion: the Segment-compatible tracking API and Stripe webhooks."""
