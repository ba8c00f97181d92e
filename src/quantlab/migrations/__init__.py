"""Alembic migrations (run through ``quantlab db ...``)."""
