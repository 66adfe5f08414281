"""Alembic migrations of the driftline store; run them with ``driftline db upgrade``."""
