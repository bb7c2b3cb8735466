"""Alembic migrations of the operational store (all capabilities' tables)."""
