"""SQL_DSN as One API users write it, including awkward passwords and mistakes."""

from __future__ import annotations

import pytest

from oneapi.db.dsn import DSNError, parse_dsn


@pytest.mark.parametrize(
    ("dsn", "backend", "user", "password", "host", "port", "database"),
    [
        ("root:123456@tcp(localhost:3306)/oneapi", "mysql", "root", "123456", "localhost", 3306, "oneapi"),
        ("root:123456@tcp(localhost:3306)/oneapi?charset=utf8mb4&parseTime=True&loc=Local",
         "mysql", "root", "123456", "localhost", 3306, "oneapi"),
        ("oneapi:p@ss:w@rd@tcp(db.example.com:3307)/one", "mysql", "oneapi", "p@ss:w@rd", "db.example.com",
         3307, "one"),
        ("u:a/b?c#d@tcp(10.0.0.5)/db", "mysql", "u", "a/b?c#d", "10.0.0.5", 3306, "db"),
        ("root:@tcp(127.0.0.1:3306)/test", "mysql", "root", "", "127.0.0.1", 3306, "test"),
        ("root@tcp([::1]:3306)/test", "mysql", "root", None, "::1", 3306, "test"),
        ("tcp(localhost:3306)/db", "mysql", None, None, "localhost", 3306, "db"),
        ("mysql://u:p%40x@host:3306/db", "mysql", "u", "p@x", "host", 3306, "db"),
        ("postgres://postgres:123456@localhost:5432/oneapi", "postgresql", "postgres", "123456", "localhost",
         5432, "oneapi"),
        ("postgresql://u:p%40ss%3Aw@db.internal/oneapi?sslmode=require", "postgresql", "u", "p@ss:w",
         "db.internal", None, "oneapi"),
        ("postgres://render_user:Xy12abc@dpg-abc123-a.oregon-postgres.render.com/gateway_db",
         "postgresql", "render_user", "Xy12abc", "dpg-abc123-a.oregon-postgres.render.com", None, "gateway_db"),
        ("postgresql+psycopg://u:pw-9z@h:5433/d", "postgresql", "u", "pw-9z", "h", 5433, "d"),
    ],
)
def test_accepted_dsns(dsn: str, backend: str, user: str | None, password: str | None, host: str,
                       port: int | None, database: str) -> None:
    target = parse_dsn(dsn)
    assert target.backend == backend
    assert target.url.username == user
    assert target.url.password == password
    assert target.url.host == host
    assert target.url.port == port
    assert target.url.database == database
    if password:
        assert password not in target.safe_description


def test_postgres_uses_psycopg_driver() -> None:
    assert parse_dsn("postgres://u:p@h/d").url.drivername == "postgresql+psycopg"


def test_go_mysql_params_are_translated() -> None:
    target = parse_dsn("u:p@tcp(h:3306)/d?charset=utf8&parseTime=True&loc=Local&timeout=5s&tls=skip-verify")
    assert target.url.drivername == "mysql+pymysql"
    assert dict(target.url.query) == {"charset": "utf8"}
    assert target.connect_args["connect_timeout"] == 5
    assert target.connect_args["ssl"] == {"check_hostname": False, "verify_mode": 0}


def test_unix_socket() -> None:
    target = parse_dsn("root:pw@unix(/run/mysqld/mysqld.sock)/oneapi")
    assert target.url.host is None
    assert target.url.query["unix_socket"] == "/run/mysqld/mysqld.sock"


def test_empty_dsn_is_sqlite_at_path(tmp_path) -> None:
    target = parse_dsn("", sqlite_path=str(tmp_path / "x.db"), sqlite_busy_timeout_ms=5000)
    assert target.backend == "sqlite"
    assert target.url.database == str(tmp_path / "x.db")
    assert target.connect_args["timeout"] == 5


@pytest.mark.parametrize(
    ("dsn", "fragment"),
    [
        ("root:secretpw@localhost:3306/oneapi", "tcp(host:3306)"),
        ("root:secretpw@tcp(localhost:3306)/", "names no database"),
        ("root:secretpw@tcp(localhost:abc)/db", "non-numeric port"),
        ("postgres://u:secretpw@/db", "no host"),
        ("postgres://u:secretpw@host:99999/db", "invalid host or port"),
        ("postgres://u:secretpw@host", "names no database"),
        ("u:secretpw@tcp(h)/d?tls=maybe", "tls"),
        ("oracle://u:secretpw@h/d", "unsupported database"),
    ],
)
def test_malformed_dsns_explain_without_password(dsn: str, fragment: str) -> None:
    with pytest.raises(DSNError) as info:
        parse_dsn(dsn)
    assert fragment in str(info.value)
    assert "secretpw" not in str(info.value)
