"""Throwaway MariaDB (MySQL-compatible) server for tests.

Register the fixtures in ``tests/conftest.py`` with::

    pytest_plugins = ["tests.mysql_server"]

Fixtures:

* ``mysql_server`` (session scope): a running :class:`MySQLServer` with one utf8mb4 database
  and a password user that can use it (and every database made by ``create_database``).
* ``mysql_database`` (function scope): a fresh, empty utf8mb4 database as a :class:`MySQLDatabase`
  (name, SQLAlchemy URL, ``dagster_env()``); dropped after the test.

Needs ``/usr/sbin/mariadbd`` (install with ``bash .ci/mariadb.sh``). Without it the fixtures skip,
or fail when the ``CI`` environment variable is set, so CI can never silently skip these tests.
The server is started with ``--no-defaults`` (no system my.cnf), on 127.0.0.1 with a free port
and a unix socket inside its own temp dir, and is stopped with SIGTERM at the end of the session.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus

import pytest

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_HINT = "run `bash .ci/mariadb.sh` (as root) to install MariaDB"

_START_ATTEMPTS = 3
_PING_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


class MariaDBNotInstalled(RuntimeError):
    pass


def _find_tool(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin:/usr/local/bin")
        if path:
            return path
    return None


def mariadbd_path() -> str | None:
    if os.access(MARIADBD, os.X_OK):
        return MARIADBD
    return _find_tool("mariadbd")


def _ci() -> bool:
    return bool(os.environ.get("CI", "").strip())


def require_mariadb() -> str:
    """Path of mariadbd; otherwise skip the test, or raise if ``CI`` is set."""
    path = mariadbd_path()
    if path and _find_tool("mariadb-install-db") and _find_tool("mariadb", "mysql"):
        return path
    msg = f"MariaDB server not installed ({MARIADBD} or mariadb-install-db missing): {INSTALL_HINT}"
    if _ci():
        raise MariaDBNotInstalled(msg + " (CI is set, so this is an error, not a skip)")
    pytest.skip(msg)
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _new_db_name(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@dataclass
class MySQLServer:
    host: str
    port: int
    user: str
    password: str
    db_name: str
    socket_path: str
    base_dir: str
    admin_user: str
    startup_seconds: float
    process: subprocess.Popen = field(repr=False)

    def sqlalchemy_url(self, db: str | None = None) -> str:
        """``mysql+mysqlconnector://user:pw@127.0.0.1:port/db`` (default: the server's db)."""
        return (
            f"mysql+mysqlconnector://{quote_plus(self.user)}:{quote_plus(self.password)}"
            f"@{self.host}:{self.port}/{db or self.db_name}"
        )

    def admin_sql(self, sql: str) -> str:
        """Run SQL as the admin (unix-socket authenticated) account; returns stdout."""
        client = _find_tool("mariadb", "mysql")
        assert client, INSTALL_HINT
        proc = subprocess.run(
            [
                client,
                "--no-defaults",
                f"--socket={self.socket_path}",
                f"-u{self.admin_user}",
                "-N",
                "-B",
                "-e",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"mariadb client failed ({proc.returncode}) for {sql!r}: {proc.stderr}")
        return proc.stdout

    def create_database(self, name: str | None = None) -> str:
        """Create a utf8mb4 database the test user may use fully; returns its name."""
        name = name or _new_db_name()
        if not name.replace("_", "").isalnum():
            raise ValueError(f"unsafe database name {name!r}")
        grants = " ".join(
            f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{self.user}'@'{h}';" for h in ("127.0.0.1", "localhost")
        )
        self.admin_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; {grants}")
        return name

    def drop_database(self, name: str) -> None:
        self.admin_sql(f"DROP DATABASE IF EXISTS `{name}`;")

    def stop(self) -> None:
        _stop_process(self.process)
        shutil.rmtree(self.base_dir, ignore_errors=True)


@dataclass(frozen=True)
class MySQLDatabase:
    name: str
    url: str
    server: MySQLServer

    def dagster_env(self) -> dict[str, str]:
        """The DAGSTER_MYSQL_* variables read by deploy/dagster.mysql.yaml."""
        return {
            "DAGSTER_MYSQL_USER": self.server.user,
            "DAGSTER_MYSQL_PASSWORD": self.server.password,
            "DAGSTER_MYSQL_HOST": self.server.host,
            "DAGSTER_MYSQL_PORT": str(self.server.port),
            "DAGSTER_MYSQL_DB": self.name,
        }


def _stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "<no error log>"


def _run_checked(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def start_mariadb(
    user: str = "dagster",
    password: str = "dagster-pw",
    db_name: str = "dagster",
) -> MySQLServer:
    """Install a datadir in a temp dir and start mariadbd on it. Call ``.stop()`` when done."""
    mariadbd = require_mariadb()
    install_db = _find_tool("mariadb-install-db")
    admin = _find_tool("mariadb-admin", "mysqladmin")
    assert install_db and admin, INSTALL_HINT
    os_user = getpass.getuser()

    t0 = time.monotonic()
    # Short path under /tmp: a unix socket path must stay below ~107 bytes.
    base = Path(tempfile.mkdtemp(prefix="mdb-", dir="/tmp" if os.path.isdir("/tmp") else None))
    datadir, sock, pid, err = base / "data", base / "mysqld.sock", base / "mysqld.pid", base / "error.log"
    try:
        _run_checked(
            [
                install_db,
                "--no-defaults",
                f"--datadir={datadir}",
                f"--user={os_user}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ],
            "mariadb-install-db",
        )
        last_error = ""
        for _ in range(_START_ATTEMPTS):
            port = free_port()
            proc = subprocess.Popen(
                [
                    mariadbd,
                    "--no-defaults",
                    f"--datadir={datadir}",
                    f"--socket={sock}",
                    f"--pid-file={pid}",
                    f"--port={port}",
                    "--bind-address=127.0.0.1",
                    f"--user={os_user}",
                    f"--log-error={err}",
                    "--character-set-server=utf8mb4",
                    "--collation-server=utf8mb4_unicode_ci",
                    "--skip-name-resolve",
                    "--innodb-buffer-pool-size=64M",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            deadline = time.monotonic() + _PING_TIMEOUT_S
            ok = False
            while time.monotonic() < deadline and proc.poll() is None:
                ping = subprocess.run(
                    [admin, "--no-defaults", f"--socket={sock}", f"-u{os_user}", "ping"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                )
                if ping.returncode == 0:
                    ok = True
                    break
                time.sleep(0.1)
            if ok:
                break
            last_error = _tail(err)
            _stop_process(proc)  # port taken (race) or slow start: try again with a new port
        else:
            raise RuntimeError(f"mariadbd did not start after {_START_ATTEMPTS} attempts:\n{last_error}")

        server = MySQLServer(
            host="127.0.0.1",
            port=port,
            user=user,
            password=password,
            db_name=db_name,
            socket_path=str(sock),
            base_dir=str(base),
            admin_user=os_user,
            startup_seconds=0.0,
            process=proc,
        )
        # mariadb-install-db leaves anonymous ''@'localhost' accounts, and a TCP login from
        # 127.0.0.1 may match 'localhost': create the user for both hosts.
        server.admin_sql(
            f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';"
            f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}';"
        )
        server.create_database(db_name)
        server.startup_seconds = time.monotonic() - t0
        return server
    except BaseException:
        if "proc" in locals():
            _stop_process(proc)
        shutil.rmtree(base, ignore_errors=True)
        raise


@contextlib.contextmanager
def running_mariadb(**kwargs: str) -> Iterator[MySQLServer]:
    server = start_mariadb(**kwargs)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[MySQLServer]:
    """A MariaDB server for the whole test session (skips, or fails under CI, if not installed)."""
    with running_mariadb() as server:
        print(f"\nMariaDB started on {server.host}:{server.port} in {server.startup_seconds:.2f}s")
        yield server


@pytest.fixture
def mysql_database(mysql_server: MySQLServer) -> Iterator[MySQLDatabase]:
    """A fresh, empty utf8mb4 database on the session server; dropped after the test."""
    name = mysql_server.create_database()
    yield MySQLDatabase(name=name, url=mysql_server.sqlalchemy_url(name), server=mysql_server)
    with contextlib.suppress(Exception):
        mysql_server.drop_database(name)
