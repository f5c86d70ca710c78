"""Turn ``SQL_DSN`` as One API users write it into a SQLAlchemy URL.

Accepted forms:

* empty: SQLite at ``SQLITE_PATH``;
* ``postgres://`` or ``postgresql://`` URLs (One API, Render, Neon, Supabase): psycopg 3;
* the Go MySQL driver's form ``user:pass@tcp(host:port)/db?charset=utf8mb4&parseTime=True``
  (also ``unix(/path)``, ``tls=``), where the password may hold ``@`` or ``:`` unescaped;
* ``mysql://`` URLs and any full SQLAlchemy URL (``dialect+driver://``).

Errors never contain the password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy.engine import URL, make_url

__all__ = ("DSNError", "DatabaseTarget", "parse_dsn")

Backend = Literal["sqlite", "postgresql", "mysql"]

# user[:password]@protocol(address)/dbname[?params]; the user-info part ends at the
# last "@" that is followed by a protocol, so passwords need no escaping.
_GO_MYSQL = re.compile(
    r"^(?:(?P<userinfo>.*)@)?(?P<protocol>tcp|unix)?(?:\((?P<address>[^)]*)\))?/(?P<database>[^?]*)(?:\?(?P<params>.*))?$",
    re.DOTALL,
)
# Go driver parameters that have no PyMySQL meaning.
_GO_ONLY_PARAMS = {"parseTime", "loc", "allowNativePasswords", "multiStatements", "interpolateParams",
                   "columnsWithAlias", "clientFoundRows", "collation", "maxAllowedPacket", "rejectReadOnly"}


class DSNError(ValueError):
    """``SQL_DSN`` cannot be understood; the message says why, never the password."""


@dataclass(frozen=True)
class DatabaseTarget:
    """Where the data lives: a SQLAlchemy URL plus driver arguments."""

    backend: Backend
    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)

    @property
    def safe_description(self) -> str:
        """Host and database for logs and errors, with the password hidden."""
        return self.url.render_as_string(hide_password=True)

    @property
    def host(self) -> str:
        return self.url.host or self.url.query.get("unix_socket", "") or (self.url.database or "")


def parse_dsn(dsn: str, *, sqlite_path: str = "./data/one-api.db", sqlite_busy_timeout_ms: int = 3000,
              connect_timeout: float = 10.0) -> DatabaseTarget:
    """Parse ``SQL_DSN``; see the module docstring for the accepted forms.

    Raises:
        DSNError: the DSN is malformed.
    """
    dsn = dsn.strip()
    if not dsn:
        return _sqlite(sqlite_path, sqlite_busy_timeout_ms)
    scheme = dsn.split("://", 1)[0].lower() if "://" in dsn else ""
    if scheme in ("postgres", "postgresql"):
        return _postgres_url(dsn, connect_timeout)
    if scheme == "mysql":
        return _mysql_url(dsn, connect_timeout)
    if scheme:
        return _sqlalchemy_url(dsn, connect_timeout)
    return _go_mysql(dsn, connect_timeout)


def _sqlite(path: str, busy_timeout_ms: int) -> DatabaseTarget:
    if path == ":memory:":
        return DatabaseTarget("sqlite", URL.create("sqlite", database=":memory:"))
    resolved = Path(path).expanduser()
    return DatabaseTarget(
        "sqlite",
        URL.create("sqlite", database=str(resolved)),
        {"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    )


def _split_url(dsn: str, kind: str) -> tuple[str | None, str | None, str, int | None, str, dict[str, str]]:
    try:
        parts = urlsplit(dsn)
        port = parts.port
    except ValueError as exc:
        raise DSNError(f"{kind} SQL_DSN has an invalid host or port: {_redact_error(exc, dsn)}") from None
    if not parts.hostname and "host" not in dict(parse_qsl(parts.query)):
        raise DSNError(f"{kind} SQL_DSN has no host (expected {kind.lower()}://user:password@host:port/dbname)")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise DSNError(f"{kind} SQL_DSN names no database (expected .../dbname at the end)")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return user, password, parts.hostname or "", port, database, dict(parse_qsl(parts.query))


def _postgres_url(dsn: str, connect_timeout: float) -> DatabaseTarget:
    user, password, host, port, database, query = _split_url(dsn, "PostgreSQL")
    query.setdefault("connect_timeout", str(max(1, int(connect_timeout))))
    url = URL.create("postgresql+psycopg", username=user, password=password, host=host or None,
                     port=port, database=database, query=query)
    return DatabaseTarget("postgresql", url)


def _mysql_url(dsn: str, connect_timeout: float) -> DatabaseTarget:
    user, password, host, port, database, query = _split_url(dsn, "MySQL")
    return _mysql_target(user, password, host, port, None, database, query, connect_timeout)


def _go_mysql(dsn: str, connect_timeout: float) -> DatabaseTarget:
    match = _GO_MYSQL.match(dsn)
    if not match:
        raise DSNError(
            "SQL_DSN is neither a URL nor a MySQL DSN of the form user:password@tcp(host:3306)/dbname"
        )
    userinfo = match["userinfo"]
    user: str | None = None
    password: str | None = None
    if userinfo is not None:
        user, _, password_part = userinfo.partition(":")
        password = password_part if ":" in userinfo else None
    protocol = match["protocol"] or "tcp"
    address = match["address"] or ""
    database = match["database"]
    if not database:
        raise DSNError("MySQL SQL_DSN names no database (expected user:password@tcp(host:3306)/dbname)")
    query = dict(parse_qsl(match["params"] or "", keep_blank_values=True))
    host: str | None = None
    port: int | None = None
    socket: str | None = None
    if protocol == "unix":
        socket = address or "/var/run/mysqld/mysqld.sock"
    else:
        host, port = _host_port(address or "127.0.0.1:3306")
    return _mysql_target(user, password, host, port, socket, database, query, connect_timeout)


def _host_port(address: str) -> tuple[str, int]:
    if address.startswith("["):  # [ipv6]:port
        host, _, rest = address[1:].partition("]")
        port_text = rest.lstrip(":") or "3306"
    else:
        host, _, port_text = address.rpartition(":") if ":" in address else (address, "", "3306")
    try:
        port = int(port_text)
    except ValueError:
        raise DSNError(f"MySQL SQL_DSN has a non-numeric port {port_text!r} in tcp({address})") from None
    if not host:
        raise DSNError("MySQL SQL_DSN has an empty host in tcp(...)")
    return host, port


def _mysql_target(user: str | None, password: str | None, host: str | None, port: int | None,
                  socket: str | None, database: str, query: dict[str, str],
                  connect_timeout: float) -> DatabaseTarget:
    connect_args: dict[str, Any] = {"connect_timeout": max(1, int(connect_timeout))}
    clean: dict[str, str] = {}
    for key, value in query.items():
        if key in _GO_ONLY_PARAMS:
            continue
        if key == "tls":
            ssl = _mysql_tls(value)
            if ssl is not None:
                connect_args["ssl"] = ssl
        elif key in ("timeout", "readTimeout", "writeTimeout"):
            seconds = _go_duration_seconds(value, key)
            target = {"timeout": "connect_timeout", "readTimeout": "read_timeout",
                      "writeTimeout": "write_timeout"}[key]
            connect_args[target] = max(1, int(seconds))
        else:
            clean[key] = value
    clean.setdefault("charset", "utf8mb4")
    if socket:
        clean["unix_socket"] = socket
    url = URL.create("mysql+pymysql", username=user, password=password, host=host, port=port,
                     database=database, query=clean)
    return DatabaseTarget("mysql", url, connect_args)


def _mysql_tls(value: str) -> dict[str, Any] | None:
    value = value.lower()
    if value in ("", "false", "0"):
        return None
    if value == "skip-verify":
        return {"check_hostname": False, "verify_mode": 0}
    if value in ("true", "1", "preferred"):
        return {"check_hostname": True}
    raise DSNError(f"MySQL SQL_DSN tls={value!r} is not supported (use true, false or skip-verify)")


def _go_duration_seconds(value: str, key: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value.strip())
    if not match:
        raise DSNError(f"MySQL SQL_DSN {key}={value!r} is not a Go duration such as 10s")
    return float(match[1]) * units[match[2]]


def _sqlalchemy_url(dsn: str, connect_timeout: float) -> DatabaseTarget:
    try:
        url = make_url(dsn)
    except Exception:
        raise DSNError("SQL_DSN is not a valid database URL") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        return DatabaseTarget("postgresql", url)
    if backend in ("mysql", "mariadb"):
        return DatabaseTarget("mysql", url, {"connect_timeout": max(1, int(connect_timeout))})
    if backend == "sqlite":
        return DatabaseTarget("sqlite", url, {"check_same_thread": False})
    raise DSNError(f"SQL_DSN uses the unsupported database {backend!r} (use PostgreSQL, MySQL or SQLite)")


def _redact_error(exc: Exception, dsn: str) -> str:
    message = str(exc)
    try:
        password = urlsplit(dsn).password
    except ValueError:
        password = None
    if password:
        message = message.replace(password, "***")
    return message
