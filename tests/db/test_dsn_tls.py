"""The free databases' TLS modes against real servers: a PostgreSQL cluster and a MariaDB
server of the test's own, started with a throw-away CA's certificate, then without TLS.

The certificate names only 127.0.0.1, so connecting to ``localhost`` tells the modes that
check the host name (verify-full, VERIFY_IDENTITY) from those that check only the CA.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from oneapi.db.dsn import parse_dsn
from tests.scale.conftest import ThrowAwayPostgres, throwaway_postgres
from tests.support.gateway import free_port


@dataclass
class Certificates:
    ca: Path  # the CA that signed the server's certificate
    other_ca: Path  # a CA that did not
    cert: Path
    key: Path


def _certificates(directory: Path) -> Certificates:
    ca, other = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    paths = Certificates(directory / "ca.pem", directory / "other-ca.pem", directory / "server.crt",
                         directory / "server.key")
    ca.cert_pem.write_to_path(str(paths.ca))
    other.cert_pem.write_to_path(str(paths.other_ca))
    server.cert_chain_pems[0].write_to_path(str(paths.cert))
    server.private_key_pem.write_to_path(str(paths.key))
    paths.key.chmod(0o600)
    return paths


def _uses_tls(dsn: str, query: str) -> bool:
    """Connect through SQL_DSN's own parsing and ask the server whether the session is encrypted."""
    target = parse_dsn(dsn, connect_timeout=5)
    engine = create_engine(target.url, connect_args=target.connect_args)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text(query)).scalar())
    finally:
        engine.dispose()


def _refused(dsn: str, query: str) -> str:
    with pytest.raises(OperationalError) as info:
        _uses_tls(dsn, query)
    return str(info.value.orig)


# -- PostgreSQL ---------------------------------------------------------------------------------------

PG_TLS = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.fixture
def pg_cluster() -> Iterator[ThrowAwayPostgres]:
    with throwaway_postgres("the TLS test") as server:
        yield server


def test_postgres_tls_modes(pg_cluster: ThrowAwayPostgres) -> None:
    certs = _certificates(pg_cluster.directory)
    for path in (certs.cert, certs.key):
        shutil.chown(path, "postgres")
    pg_cluster.settings = f"-c ssl=on -c ssl_cert_file={certs.cert} -c ssl_key_file={certs.key}"
    pg_cluster.start()
    base = f"postgres://postgres@127.0.0.1:{pg_cluster.port}/postgres"
    local = f"postgres://postgres@localhost:{pg_cluster.port}/postgres"

    assert _uses_tls(f"{base}?sslmode=require", PG_TLS)  # Neon's, Aiven's form
    assert _uses_tls(f"{base}?sslmode=require&channel_binding=prefer", PG_TLS)
    assert _uses_tls(f"{base}?sslmode=verify-ca&sslrootcert={certs.ca}", PG_TLS)
    assert _uses_tls(f"{base}?sslmode=verify-full&sslrootcert={certs.ca}", PG_TLS)
    assert _uses_tls(f"{local}?sslmode=verify-ca&sslrootcert={certs.ca}", PG_TLS)
    assert "certificate" in _refused(f"{base}?sslmode=verify-ca&sslrootcert={certs.other_ca}", PG_TLS)
    assert "localhost" in _refused(f"{local}?sslmode=verify-full&sslrootcert={certs.ca}", PG_TLS)
    assert not _uses_tls(f"{base}?sslmode=disable", PG_TLS)

    pg_cluster.stop()
    pg_cluster.settings = "-c ssl=off"
    pg_cluster.start()
    assert "SSL" in _refused(f"{base}?sslmode=require", PG_TLS)
    assert not _uses_tls(base, PG_TLS)  # libpq's default (prefer) still connects


# -- MariaDB ------------------------------------------------------------------------------------------

MYSQL_TLS = ("SELECT VARIABLE_VALUE <> '' FROM information_schema.SESSION_STATUS "
             "WHERE VARIABLE_NAME = 'SSL_CIPHER'")


class ThrowAwayMariaDB:
    """A MariaDB server of our own on a free port, with or without TLS."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={directory / 'data'}",
                        "--user=root", "--skip-test-db", "--auth-root-authentication-method=normal"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self, *tls: str) -> None:
        log = open(self.directory / "server.log", "ab")  # noqa: SIM115 - the server's for its life
        self.process = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={self.directory / 'data'}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.directory / 'mysqld.sock'}", "--user=root",
             "--skip-grant-tables", "--skip-name-resolve", "--innodb-buffer-pool-size=16M",
             f"--pid-file={self.directory / 'mysqld.pid'}", *tls],
            stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.directory / "server.log").read_text()[-2000:]
            with suppress(OperationalError):
                _uses_tls(f"root@tcp(127.0.0.1:{self.port})/mysql?tls=false", "SELECT 1")
                return
            time.sleep(0.2)
        raise TimeoutError("MariaDB did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None


@pytest.fixture
def mariadb() -> Iterator[ThrowAwayMariaDB]:
    if shutil.which("mariadbd") is None or shutil.which("mariadb-install-db") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the TLS test needs mariadbd and mariadb-install-db")
        pytest.skip("MariaDB's server is not installed")
    directory = Path(tempfile.mkdtemp(prefix="oneapi-mytls-"))
    server = ThrowAwayMariaDB(directory)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_mysql_tls_modes(mariadb: ThrowAwayMariaDB) -> None:
    certs = _certificates(mariadb.directory)
    mariadb.start(f"--ssl-cert={certs.cert}", f"--ssl-key={certs.key}", f"--ssl-ca={certs.ca}")
    base = f"mysql://root@127.0.0.1:{mariadb.port}/mysql"
    local = f"mysql://root@localhost:{mariadb.port}/mysql"

    assert _uses_tls(f"{base}?ssl-mode=REQUIRED", MYSQL_TLS)  # Aiven's form
    assert _uses_tls(f"{base}?ssl-mode=VERIFY_CA&ssl-ca={certs.ca}", MYSQL_TLS)
    assert _uses_tls(f"{base}?ssl-mode=VERIFY_IDENTITY&ssl-ca={certs.ca}", MYSQL_TLS)  # TiDB Cloud's
    assert _uses_tls(f"{local}?ssl-mode=VERIFY_CA&ssl-ca={certs.ca}", MYSQL_TLS)
    assert _uses_tls(f"root@tcp(127.0.0.1:{mariadb.port})/mysql?tls=skip-verify", MYSQL_TLS)
    assert "certificate" in _refused(f"{base}?ssl-mode=VERIFY_CA&ssl-ca={certs.other_ca}", MYSQL_TLS)
    assert "localhost" in _refused(f"{local}?ssl-mode=VERIFY_IDENTITY&ssl-ca={certs.ca}", MYSQL_TLS)
    assert not _uses_tls(f"{base}?ssl-mode=DISABLED", MYSQL_TLS)

    mariadb.stop()
    mariadb.start("--skip-ssl")
    assert "SSL is required" in _refused(f"{base}?ssl-mode=REQUIRED", MYSQL_TLS)
    assert "SSL is required" in _refused(f"{base}?sslaccept=strict", MYSQL_TLS)
    assert not _uses_tls(base, MYSQL_TLS)  # no mode asked: PyMySQL's PREFERRED connects in the clear
