"""The demo-company generator."""
