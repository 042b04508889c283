"""Alembic migrations of the bookplan database (applied by `bookplan migrate`)."""
