"""The job history: SQLAlchemy tables, Alembic migrations, and the store over them."""
