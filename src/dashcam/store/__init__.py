"""Persistence: SQLAlchemy schema, the results repository, the durable task queue."""
