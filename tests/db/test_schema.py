"""A new database's schema, made from the models without Alembic, is the one the migrations build.

Run on SQLite, PostgreSQL and MySQL: each test compares a database :func:`upgrade` set up
(the models' metadata and the revision row) with one Alembic migrated, column by column,
server default and index name included.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from oneapi.db.dsn import parse_dsn
from oneapi.db.migrate import HEAD_REVISION, _alembic_config, current_revision, run_migrations, upgrade
from tests.support.databases import temporary_database
from tests.support.db import get_engine

pytestmark = pytest.mark.usefixtures("db_env")


def _schema(engine: sa.Engine) -> dict[str, Any]:
    """Everything the inspector reports about every table, and the stored revision."""
    inspector = sa.inspect(engine)
    tables: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        tables[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement"))
                        for c in inspector.get_columns(table)],
            "primary key": inspector.get_pk_constraint(table),
            "indexes": sorted((i["name"] or "", i["column_names"], bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
            "unique constraints": sorted((u["name"] or "", u["column_names"])
                                         for u in inspector.get_unique_constraints(table)),
            "foreign keys": inspector.get_foreign_keys(table),
        }
    with engine.connect() as connection:
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return {"tables": tables, "alembic_version": versions}


@contextmanager
def _second_database(backend: str, tmp_path: Path) -> Iterator[sa.Engine]:
    with temporary_database(backend, tmp_path) as dsn:
        target = parse_dsn(dsn) if dsn else None
        engine = (sa.create_engine(target.url, connect_args=dict(target.connect_args)) if target
                  else sa.create_engine(f"sqlite:///{tmp_path / 'migrated.db'}"))
        try:
            yield engine
        finally:
            engine.dispose()


def test_a_new_database_gets_the_schema_the_migrations_build(backend: str, tmp_path: Path) -> None:
    created = get_engine()
    assert upgrade(created) == HEAD_REVISION
    with _second_database(backend, tmp_path) as migrated:
        assert run_migrations(migrated, None) == HEAD_REVISION
        expected = _schema(migrated)
    assert expected["alembic_version"] == [HEAD_REVISION]
    assert {"users", "tokens", "channels", "abilities", "logs", "options", "redemptions"} <= set(
        expected["tables"])
    actual = _schema(created)
    for table in expected["tables"]:  # one table at a time: a readable difference
        assert actual["tables"].get(table) == expected["tables"][table], table
    assert actual == expected


def test_an_older_revision_is_migrated_to_head(backend: str, tmp_path: Path) -> None:
    from alembic import command

    engine = get_engine()
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0001")
    assert current_revision(engine) == "0001"
    assert upgrade(engine) == HEAD_REVISION
    with _second_database(backend, tmp_path) as created:
        upgrade(created)
        assert _schema(engine) == _schema(created)
