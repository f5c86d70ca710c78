"""Turn ``SQL_DSN`` as One API users write it into a SQLAlchemy URL.

Accepted forms:

* empty: SQLite at ``SQLITE_PATH``;
* ``postgres://`` or ``postgresql://`` URLs (One API, Render, Neon, Supabase, Aiven, Koyeb): psycopg 3,
  every libpq parameter (``sslmode``, ``sslrootcert``, ``channel_binding``, Neon's
  ``options=endpoint%3D...``) handed to libpq as written;
* the Go MySQL driver's form ``user:pass@tcp(host:port)/db?charset=utf8mb4&parseTime=True``
  (also ``unix(/path)``, ``tls=``), where the password may hold ``@`` or ``:`` unescaped;
* ``mysql://`` URLs (Aiven, TiDB Cloud) with the MySQL client's ``ssl-mode`` / ``ssl-ca``;
* the SQLAlchemy spellings of these (``postgresql+psycopg://``, ``mysql+pymysql://`` with
  PyMySQL's ``ssl_ca`` / ``ssl_verify_cert`` / ``ssl_verify_identity``, ``sqlite:///``).

The free databases hand out URIs in their own client's dialect, and a user pastes them
as they are: Aiven's MySQL says ``?ssl-mode=REQUIRED``, TiDB Cloud ``ssl-mode=VERIFY_IDENTITY``
(or Prisma's ``sslaccept=strict``), Neon ``?sslmode=require&channel_binding=require``. MySQL's
modes become a TLS context here with the MySQL client's meaning: ``REQUIRED`` encrypts
without checking the certificate, ``VERIFY_CA`` checks it against ``ssl-ca`` (or the
system's CAs), ``VERIFY_IDENTITY`` checks the host name too, ``DISABLED`` never encrypts;
with no mode PyMySQL encrypts when the server offers TLS. A connection that asks for TLS
fails when the server has none.

Supabase's transaction pooler (port 6543) and any PgBouncer marked ``pgbouncer=true``
cannot keep server-side prepared statements across transactions, so psycopg's are
turned off there (``prepare_threshold=None``).

A parameter this module does not know is refused with a one-line :class:`DSNError` naming
it, instead of a driver's ``TypeError`` at the first connection. Errors never contain the
password.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy.engine import URL

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
# PyMySQL parameters a URL may set as they are (SQLAlchemy's dialect converts the numbers).
_MYSQL_PASSTHROUGH = {"charset", "init_command", "local_infile", "read_timeout", "write_timeout",
                      "connect_timeout", "unix_socket", "program_name"}
_MYSQL_SSL_MODES = ("DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")
_PG_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# Supabase's transaction pooler listens here (its session pooler and the database on 5432).
_TRANSACTION_POOLER_PORT = 6543
_MYSQL_SCHEMES = ("mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql")
_PG_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg")


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
    if scheme in _PG_SCHEMES:
        return _postgres_url(dsn, connect_timeout)
    if scheme in _MYSQL_SCHEMES:
        return _mysql_url(dsn, connect_timeout)
    if scheme.split("+")[0] == "sqlite":  # sqlite:///relative.db, sqlite:////absolute.db
        path = dsn.split("://", 1)[1]
        return _sqlite(path[1:] if path.startswith("/") else path or ":memory:", sqlite_busy_timeout_ms)
    if scheme:
        dialect, _, driver = scheme.partition("+")
        if dialect in ("postgres", "postgresql", "mysql", "mariadb", "sqlite"):
            raise DSNError(f"SQL_DSN asks for the driver {driver!r}, which is not installed "
                           f"(write {dialect}://... and the right driver is used)")
        raise DSNError(f"SQL_DSN uses the unsupported database {dialect!r} (use PostgreSQL, MySQL or SQLite)")
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
    connect_args: dict[str, Any] = {}
    pgbouncer = query.pop("pgbouncer", "false").lower()
    if pgbouncer in ("true", "1") or port == _TRANSACTION_POOLER_PORT:
        connect_args["prepare_threshold"] = None
    for key, value in query.items():
        if key not in _libpq_parameters():
            raise DSNError(f"SQL_DSN has the parameter {key!r}, which PostgreSQL does not know "
                           "(remove it, or use one of libpq's connection parameters)")
        if key == "sslmode" and value not in _PG_SSL_MODES:
            raise DSNError(f"SQL_DSN has sslmode={value!r}; use one of {', '.join(_PG_SSL_MODES)}")
        if key in ("sslrootcert", "sslcert", "sslkey") and value != "system":
            _require_file(key, value)
    query.setdefault("connect_timeout", str(max(1, int(connect_timeout))))
    url = URL.create("postgresql+psycopg", username=user, password=password, host=host or None,
                     port=port, database=database, query=query)
    return DatabaseTarget("postgresql", url, connect_args)


@cache
def _libpq_parameters() -> frozenset[str]:
    """The connection parameters of the libpq psycopg runs on, asked of libpq itself."""
    from psycopg import pq

    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def _require_file(key: str, path: str) -> None:
    if not Path(path).expanduser().is_file():
        raise DSNError(f"SQL_DSN's {key} names {path!r}, which is not a readable file here")


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
    tls: dict[str, str] = {}
    for key, value in query.items():
        if key in _GO_ONLY_PARAMS:
            continue
        if key in ("timeout", "readTimeout", "writeTimeout"):
            seconds = _go_duration_seconds(value, key)
            target = {"timeout": "connect_timeout", "readTimeout": "read_timeout",
                      "writeTimeout": "write_timeout"}[key]
            connect_args[target] = max(1, int(seconds))
        elif key in _MYSQL_PASSTHROUGH:
            clean[key] = value
        elif key.replace("-", "_") in _MYSQL_TLS_PARAMS:
            tls[key.replace("-", "_")] = value
        else:
            raise DSNError(f"SQL_DSN has the parameter {key!r}, which the MySQL driver does not know "
                           "(remove it; TLS is set with ssl-mode and ssl-ca)")
    mode, files = _mysql_tls_mode(tls)
    if mode == "DISABLED":
        connect_args["ssl_disabled"] = True
    elif mode != "PREFERRED":
        connect_args["ssl"] = _mysql_tls_context(mode, files)
    clean.setdefault("charset", "utf8mb4")
    if socket:
        clean["unix_socket"] = socket
    url = URL.create("mysql+pymysql", username=user, password=password, host=host, port=port,
                     database=database, query=clean)
    return DatabaseTarget("mysql", url, connect_args)


# How MySQL-flavoured URIs ask for TLS, keys with "-" spelled "_": the MySQL client's
# ssl-mode / ssl-ca / ssl-cert / ssl-key, the Go driver's tls, Prisma's sslaccept, PyMySQL's own.
_MYSQL_TLS_PARAMS = {"ssl_mode", "ssl_ca", "ssl_cert", "ssl_key", "tls", "sslaccept",
                     "ssl_verify_cert", "ssl_verify_identity", "ssl_check_hostname"}
# The Go driver's tls= values, in MySQL client modes (true verifies, like Go's default TLS config).
_GO_TLS_MODES = {"true": "VERIFY_IDENTITY", "1": "VERIFY_IDENTITY", "skip-verify": "REQUIRED",
                 "preferred": "PREFERRED", "false": "DISABLED", "0": "DISABLED", "": "DISABLED"}


def _mysql_tls_mode(tls: dict[str, str]) -> tuple[str, dict[str, str]]:
    """One MySQL client mode (``_MYSQL_SSL_MODES``) from however the URI spelled it."""
    files = {key[4:]: path for key in ("ssl_ca", "ssl_cert", "ssl_key") if (path := tls.get(key))}
    for key, path in files.items():
        _require_file(f"ssl-{key}", path)
    if "ssl_mode" in tls:
        mode = tls["ssl_mode"].upper()
        if mode not in _MYSQL_SSL_MODES:
            raise DSNError(f"SQL_DSN has ssl-mode={tls['ssl_mode']!r}; "
                           f"use one of {', '.join(_MYSQL_SSL_MODES)}")
        return mode, files
    if "tls" in tls:
        value = tls["tls"].lower()
        if value not in _GO_TLS_MODES:
            raise DSNError(f"MySQL SQL_DSN tls={value!r} is not supported (use true, false, skip-verify "
                           "or preferred)")
        return _GO_TLS_MODES[value], files
    if "sslaccept" in tls:
        value = tls["sslaccept"].lower()
        if value not in ("strict", "accept_invalid_certs"):
            raise DSNError(f"SQL_DSN has sslaccept={value!r}; use strict or accept_invalid_certs")
        return ("VERIFY_IDENTITY" if value == "strict" else "REQUIRED"), files
    verify_cert = _flag(tls, "ssl_verify_cert")
    verify_identity = _flag(tls, "ssl_verify_identity") or _flag(tls, "ssl_check_hostname")
    if verify_identity:
        return "VERIFY_IDENTITY", files
    if verify_cert or "ca" in files:  # the MySQL client verifies when given a CA and no mode
        return "VERIFY_CA", files
    return ("REQUIRED" if files or "ssl_verify_cert" in tls else "PREFERRED"), files


def _flag(tls: dict[str, str], key: str) -> bool:
    value = tls.get(key, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise DSNError(f"SQL_DSN has {key}={value!r}; use true or false")
    return value in ("true", "1")


def _mysql_tls_context(mode: str, files: dict[str, str]) -> ssl.SSLContext:
    """A TLS context with the MySQL client's meaning of ``mode``; the CA is ssl-ca or the system's."""
    try:
        context = ssl.create_default_context(cafile=files.get("ca"))
        if "cert" in files:
            context.load_cert_chain(files["cert"], keyfile=files.get("key"))
    except (ssl.SSLError, OSError) as exc:
        raise DSNError(f"SQL_DSN's ssl-ca / ssl-cert files cannot be loaded: {exc}") from None
    context.check_hostname = mode == "VERIFY_IDENTITY"
    context.verify_mode = ssl.CERT_NONE if mode == "REQUIRED" else ssl.CERT_REQUIRED
    return context


def _go_duration_seconds(value: str, key: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value.strip())
    if not match:
        raise DSNError(f"MySQL SQL_DSN {key}={value!r} is not a Go duration such as 10s")
    return float(match[1]) * units[match[2]]


def _redact_error(exc: Exception, dsn: str) -> str:
    message = str(exc)
    try:
        password = urlsplit(dsn).password
    except ValueError:
        password = None
    if password:
        message = message.replace(password, "***")
    return message
