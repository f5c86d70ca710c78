"""SQL_DSN as One API users write it, including awkward passwords and mistakes, and the
connection URIs the free databases hand out, parsed into the arguments the drivers get."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

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
         "postgresql", "render_user", "Xy12abc", "dpg-abc123-a.oregon-postgres.render.com", None,
         "gateway_db"),
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
    assert _mysql_tls(target) == "REQUIRED"


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


def _mysql_tls(target: Any) -> str:
    """The MySQL client mode the driver arguments amount to."""
    if target.connect_args.get("ssl_disabled"):
        return "DISABLED"
    context = target.connect_args.get("ssl")
    if context is None:
        return "PREFERRED"  # PyMySQL's default: TLS when the server offers it
    assert isinstance(context, ssl.SSLContext)
    if context.verify_mode == ssl.CERT_NONE:
        return "REQUIRED"
    return "VERIFY_IDENTITY" if context.check_hostname else "VERIFY_CA"


CA = str(Path(ssl.get_default_verify_paths().openssl_cafile))


# (service, URI as the service shows it, host, port, user, MySQL TLS mode)
MYSQL_SERVICES = [
    ("Aiven MySQL", "mysql://avnadmin:s3cr3t@mysql-1a2b-proj.f.aivencloud.com:10906/defaultdb"
     "?ssl-mode=REQUIRED", "mysql-1a2b-proj.f.aivencloud.com", 10906, "avnadmin", "REQUIRED"),
    ("Aiven MySQL, TLS off", "mysql://avnadmin:s3cr3t@mysql-1a2b-proj.f.aivencloud.com:10906/defaultdb"
     "?ssl-mode=DISABLED", "mysql-1a2b-proj.f.aivencloud.com", 10906, "avnadmin", "DISABLED"),
    ("MySQL client, verify CA", f"mysql://u:s3cr3t@db.example.com:3306/app?ssl-mode=VERIFY_CA&ssl-ca={CA}",
     "db.example.com", 3306, "u", "VERIFY_CA"),
    ("TiDB Cloud, MySQL client", "mysql://4F9x.root:s3cr3t@gateway01.us-west-2.prod.aws.tidbcloud.com:4000/test"
     f"?ssl-mode=VERIFY_IDENTITY&ssl-ca={CA}", "gateway01.us-west-2.prod.aws.tidbcloud.com", 4000,
     "4F9x.root", "VERIFY_IDENTITY"),
    ("TiDB Cloud, Prisma", "mysql://4F9x.root:s3cr3t@gateway01.us-west-2.prod.aws.tidbcloud.com:4000/test"
     "?sslaccept=strict", "gateway01.us-west-2.prod.aws.tidbcloud.com", 4000, "4F9x.root", "VERIFY_IDENTITY"),
    ("TiDB Cloud, SQLAlchemy", "mysql+pymysql://4F9x.root:s3cr3t@gateway01.us-west-2.prod.aws.tidbcloud.com:4000"
     f"/test?ssl_ca={CA}&ssl_verify_cert=true&ssl_verify_identity=true",
     "gateway01.us-west-2.prod.aws.tidbcloud.com", 4000, "4F9x.root", "VERIFY_IDENTITY"),
    ("TiDB Cloud, Go driver", "4F9x.root:s3cr3t@tcp(gateway01.us-west-2.prod.aws.tidbcloud.com:4000)/test"
     "?tls=true", "gateway01.us-west-2.prod.aws.tidbcloud.com", 4000, "4F9x.root", "VERIFY_IDENTITY"),
    ("one-api Go DSN, no TLS asked", "root:s3cr3t@tcp(localhost:3306)/oneapi?charset=utf8mb4&parseTime=True",
     "localhost", 3306, "root", "PREFERRED"),
    ("Go driver, tls=false", "root:s3cr3t@tcp(localhost:3306)/oneapi?tls=false", "localhost", 3306, "root",
     "DISABLED"),
]


@pytest.mark.parametrize(("service", "dsn", "host", "port", "user", "mode"), MYSQL_SERVICES,
                         ids=[row[0] for row in MYSQL_SERVICES])
def test_mysql_services(service: str, dsn: str, host: str, port: int, user: str, mode: str) -> None:
    target = parse_dsn(dsn)
    assert (target.backend, target.url.drivername) == ("mysql", "mysql+pymysql")
    assert (target.url.host, target.url.port, target.url.username) == (host, port, user)
    assert target.url.password == "s3cr3t"
    assert _mysql_tls(target) == mode
    # only parameters PyMySQL takes reach it
    assert set(target.url.query) <= {"charset"}


# (service, URI, host, port, user, database, libpq parameters, psycopg prepare_threshold given as None)
PG_SERVICES = [
    ("Render internal", "postgresql://oneapi_user:s3cr3t@dpg-cs1abc2j1k6c73a0b1cg-a/oneapi_db",
     "dpg-cs1abc2j1k6c73a0b1cg-a", None, "oneapi_user", "oneapi_db", {}, False),
    ("Render external", "postgresql://oneapi_user:s3cr3t@dpg-cs1abc2j1k6c73a0b1cg-a.oregon-postgres.render.com"
     "/oneapi_db", "dpg-cs1abc2j1k6c73a0b1cg-a.oregon-postgres.render.com", None, "oneapi_user", "oneapi_db",
     {}, False),
    ("Neon", "postgresql://neondb_owner:s3cr3t@ep-cool-darkness-a1b2c3d4.us-east-2.aws.neon.tech/neondb"
     "?sslmode=require&channel_binding=require", "ep-cool-darkness-a1b2c3d4.us-east-2.aws.neon.tech", None,
     "neondb_owner", "neondb", {"sslmode": "require", "channel_binding": "require"}, False),
    ("Neon, endpoint for clients without SNI", "postgresql://neondb_owner:s3cr3t@ep-cool-darkness-a1b2c3d4"
     ".us-east-2.aws.neon.tech/neondb?sslmode=require&options=endpoint%3Dep-cool-darkness-a1b2c3d4",
     "ep-cool-darkness-a1b2c3d4.us-east-2.aws.neon.tech", None, "neondb_owner", "neondb",
     {"sslmode": "require", "options": "endpoint=ep-cool-darkness-a1b2c3d4"}, False),
    ("Supabase direct", "postgresql://postgres:s3cr3t@db.abcdefghijklmnop.supabase.co:5432/postgres",
     "db.abcdefghijklmnop.supabase.co", 5432, "postgres", "postgres", {}, False),
    ("Supabase session pooler", "postgresql://postgres.abcdefghijklmnop:s3cr3t@aws-0-eu-central-1.pooler"
     ".supabase.com:5432/postgres", "aws-0-eu-central-1.pooler.supabase.com", 5432,
     "postgres.abcdefghijklmnop", "postgres", {}, False),
    ("Supabase transaction pooler", "postgres://postgres.abcdefghijklmnop:s3cr3t@aws-0-eu-central-1.pooler"
     ".supabase.com:6543/postgres", "aws-0-eu-central-1.pooler.supabase.com", 6543,
     "postgres.abcdefghijklmnop", "postgres", {}, True),
    ("PgBouncer marked as Prisma does", "postgresql://u:s3cr3t@pool.example.com:5432/app?pgbouncer=true",
     "pool.example.com", 5432, "u", "app", {}, True),
    ("Aiven PostgreSQL", "postgres://avnadmin:s3cr3t@pg-1a2b-proj.f.aivencloud.com:10907/defaultdb"
     "?sslmode=require", "pg-1a2b-proj.f.aivencloud.com", 10907, "avnadmin", "defaultdb",
     {"sslmode": "require"}, False),
    ("verify against a CA file", f"postgres://u:s3cr3t@db.example.com/app?sslmode=verify-full&sslrootcert={CA}",
     "db.example.com", None, "u", "app", {"sslmode": "verify-full", "sslrootcert": CA}, False),
    ("verify against the system's CAs", "postgres://u:s3cr3t@db.example.com/app?sslmode=verify-full"
     "&sslrootcert=system", "db.example.com", None, "u", "app",
     {"sslmode": "verify-full", "sslrootcert": "system"}, False),
    ("Koyeb database", "postgres://koyeb-adm:s3cr3t@ep-silent-moon-a2b3c4d5.eu-central-1.pg.koyeb.app/koyebdb",
     "ep-silent-moon-a2b3c4d5.eu-central-1.pg.koyeb.app", None, "koyeb-adm", "koyebdb", {}, False),
]


@pytest.mark.parametrize(("service", "dsn", "host", "port", "user", "database", "params", "no_prepare"),
                         PG_SERVICES, ids=[row[0] for row in PG_SERVICES])
def test_postgres_services(service: str, dsn: str, host: str, port: int | None, user: str, database: str,
                           params: dict[str, str], no_prepare: bool) -> None:
    target = parse_dsn(dsn, connect_timeout=7)
    assert (target.backend, target.url.drivername) == ("postgresql", "postgresql+psycopg")
    assert (target.url.host, target.url.port, target.url.username, target.url.database) == (
        host, port, user, database)
    assert target.url.password == "s3cr3t"
    assert dict(target.url.query) == {**params, "connect_timeout": "7"}
    assert ("prepare_threshold" in target.connect_args) is no_prepare
    if no_prepare:
        assert target.connect_args["prepare_threshold"] is None


@pytest.mark.parametrize(
    ("dsn", "fragment"),
    [
        ("mysql://u:secretpw@h:3306/d?ssl-mode=REQUIRE", "ssl-mode='REQUIRE'"),
        ("mysql://u:secretpw@h:3306/d?sslmode=require", "'sslmode'"),
        ("mysql://u:secretpw@h:3306/d?ssl-ca=/nonexistent/ca.pem&ssl-mode=VERIFY_CA", "/nonexistent/ca.pem"),
        ("mysql://u:secretpw@h:3306/d?ssl={\"rejectUnauthorized\":true}", "'ssl'"),
        ("u:secretpw@tcp(h:3306)/d?autocommit=true", "'autocommit'"),
        ("mysql+pymysql://u:secretpw@h/d?ssl_verify_cert=maybe", "ssl_verify_cert"),
        ("postgres://u:secretpw@h/d?sslmode=required", "sslmode='required'"),
        ("postgres://u:secretpw@h/d?ssl=true", "'ssl'"),
        ("postgres://u:secretpw@h/d?sslmode=verify-ca&sslrootcert=/nonexistent/root.crt", "sslrootcert"),
        ("postgresql+psycopg2://u:secretpw@h/d", "'psycopg2'"),
        ("mysql+mysqldb://u:secretpw@h/d", "'mysqldb'"),
    ],
)
def test_unknown_parameters_name_themselves_and_the_variable(dsn: str, fragment: str) -> None:
    with pytest.raises(DSNError) as info:
        parse_dsn(dsn)
    message = str(info.value)
    assert fragment in message
    assert "SQL_DSN" in message
    assert "\n" not in message
    assert "secretpw" not in message


def test_sqlalchemy_sqlite_url_keeps_the_busy_timeout(tmp_path: Path) -> None:
    target = parse_dsn(f"sqlite:///{tmp_path}/x.db", sqlite_busy_timeout_ms=4000)
    assert (target.backend, target.url.database) == ("sqlite", f"{tmp_path}/x.db")
    assert target.connect_args["timeout"] == 4
