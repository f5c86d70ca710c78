"""Alembic environment: always run on the connection that oneapi.db.migrate hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import oneapi.db.models  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
