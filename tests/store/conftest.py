"""The database fixtures (SQLite and PostgreSQL) live in tests/conftest.py, shared by
the store, server and client tests."""
