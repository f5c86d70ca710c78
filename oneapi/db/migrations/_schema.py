"""Idempotent schema steps shared by the migrations.

A database made by one-api has our tables but no Alembic version, and possibly fewer
columns (older one-api releases). These steps create what is missing and leave every
existing table, column and row alone, so adopting such a database loses nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ("ensure_columns", "ensure_index", "ensure_table")


def _inspector() -> sa.Inspector:
    return sa.inspect(op.get_bind())


def ensure_table(name: str, *columns: sa.Column,
                 indexes: tuple[tuple[str, tuple[str, ...], bool], ...] = ()) -> None:
    """Create the table, or add the columns it lacks when it already exists."""
    if name not in _inspector().get_table_names():
        op.create_table(name, *columns)
        for index_name, index_columns, unique in indexes:
            op.create_index(index_name, name, list(index_columns), unique=unique)
        return
    ensure_columns(name, *(column for column in columns if not column.primary_key))


def ensure_columns(table: str, *columns: sa.Column) -> None:
    """Add each column the table does not have yet."""
    existing = {column["name"] for column in _inspector().get_columns(table)}
    missing = [column for column in columns if column.name not in existing]
    if not missing:
        return
    with op.batch_alter_table(table) as batch:
        for column in missing:
            batch.add_column(column)


def ensure_index(table: str, name: str, columns: tuple[str, ...], *, unique: bool = False) -> None:
    """Create an index unless one already covers exactly these columns."""
    for index in _inspector().get_indexes(table):
        if tuple(index["column_names"]) == columns:
            return
    op.create_index(name, table, list(columns), unique=unique)
