"""Storage: SQLAlchemy 2 + GeoAlchemy2 models, Alembic migrations, repository functions."""
