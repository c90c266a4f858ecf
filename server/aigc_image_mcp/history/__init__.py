"""Where tasks are kept: one interface, two stores (SQLite, PostgreSQL)."""
