"""Start real, throwaway services (PostgreSQL, Redis, SMTP) for the test suite.

Plain helpers with no pytest dependency: fixtures in ``tests/conftest.py`` call
``start_*()`` once and ``.stop()`` at teardown. Every server listens on 127.0.0.1
only, on a free port, and keeps nothing after ``stop()``.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from psycopg import sql

from tests.support.tls import Certificates

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

CHROMIUM_ARGS: list[str] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now.

    The port is released before the caller binds it, so another process could
    grab it in between; callers that start a server retry or fail loudly.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(check: Any, timeout: float, what: str) -> None:
    """Poll ``check()`` until it returns true, or raise TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(0.05)


# --------------------------------------------------------------------------- PostgreSQL


class PostgresServer:
    """A PostgreSQL server reachable at ``admin_url`` (superuser, trust auth)."""

    def __init__(
        self,
        admin_url: str,
        *,
        pg_ctl: list[str] | None = None,
        data_dir: Path | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.admin_url = admin_url
        # Only set when we started the cluster ourselves; an existing server is left alone.
        self._pg_ctl = pg_ctl
        self._data_dir = data_dir
        self._base_dir = base_dir

    @property
    def owned(self) -> bool:
        """True when this helper started the cluster (and ``stop()`` will remove it)."""
        return self._pg_ctl is not None

    def stop(self) -> None:
        """Stop and delete our own cluster; a no-op for a server that was already running."""
        if self._pg_ctl is not None and self._data_dir is not None:
            # Immediate mode: the data is thrown away anyway, no need for a clean checkpoint.
            subprocess.run(
                [*self._pg_ctl, "-D", str(self._data_dir), "-m", "immediate", "stop"],
                cwd=self._base_dir,
                capture_output=True,
                check=False,
            )
            self._pg_ctl = None
        if self._base_dir is not None:
            shutil.rmtree(self._base_dir, ignore_errors=True)
            self._base_dir = None


def _pg_answers(url: str) -> bool:
    """True when ``url`` accepts a connection and answers ``SELECT 1`` within 2 s."""
    try:
        with psycopg.connect(url, connect_timeout=2, autocommit=True) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.Error:
        return False


def _pg_bindir() -> Path:
    """Find the directory holding ``initdb`` and ``pg_ctl`` (Debian keeps them off PATH)."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(out.stdout.strip())
        # libpq-dev's pg_config may point at a folder without the server binaries.
        if out.returncode == 0 and (bindir / "initdb").is_file():
            return bindir

    def major(path: str) -> tuple[int, ...]:
        version = Path(path).parent.name
        return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)

    candidates = [
        path for path in glob.glob("/usr/lib/postgresql/*/bin") if Path(path, "initdb").is_file()
    ]
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found (no pg_config, nothing in "
            "/usr/lib/postgresql/*/bin); run scripts/ensure-system-packages"
        )
    return Path(max(candidates, key=major))


def _start_own_postgres() -> PostgresServer:
    bindir = _pg_bindir()
    base = Path(tempfile.mkdtemp(prefix="campaigns-pg-"))
    # The postgres user must be able to traverse into the folder when we run as root.
    base.chmod(0o755)
    data = base / "data"
    log = base / "server.log"

    run_as: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the cluster as the postgres user, who must
        # own the folder (data dir, socket dir -k and log file all live in it).
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    pg_ctl = [*run_as, str(bindir / "pg_ctl")]
    server = PostgresServer("", pg_ctl=pg_ctl, data_dir=data, base_dir=base)

    def run(cmd: list[str]) -> None:
        # cwd=base: root's cwd (e.g. /root) is not readable by the postgres user.
        done = subprocess.run(cmd, cwd=base, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}{server_log}"
            )

    try:
        run([*run_as, str(bindir / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(data)])
        port = free_port()
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {base} "
            # Durability is pointless for a cluster deleted after the run; this is much faster.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        # -l: the server must not inherit our pipes, or capture_output would wait on it forever.
        run([*pg_ctl, "-D", str(data), "-l", str(log), "-w", "-o", options, "start"])
    except BaseException:
        server.stop()
        raise
    server.admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    return server


def start_postgres() -> PostgresServer:
    """Return a reachable PostgreSQL server, reusing a running one when possible.

    Tries ``$TEST_PG_ADMIN_URL`` (default: trust-auth server on 127.0.0.1:5432) first,
    because a fresh database on a running server is as isolated as a new cluster and
    much faster; otherwise initdb's a throwaway cluster on a free port.
    """
    url = os.environ.get("TEST_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL
    if _pg_answers(url):
        return PostgresServer(url)
    return _start_own_postgres()


def _check_prefix(prefix: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", prefix):
        raise ValueError(f"database prefix must be a lowercase identifier: {prefix!r}")


def _with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def create_database(admin_url: str, prefix: str = "campaigns_test") -> str:
    """Create a uniquely named database on ``admin_url``'s server and return its URL.

    The URL keeps the admin URL's ``postgresql://`` scheme; see ``sqlalchemy_url``.
    """
    _check_prefix(prefix)
    name = f"{prefix}_{secrets.token_hex(6)}"
    # CREATE DATABASE cannot run inside a transaction block.
    with psycopg.connect(admin_url, connect_timeout=5, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_dbname(admin_url, name)


def drop_database(admin_url: str, url: str, prefix: str = "campaigns_test") -> None:
    """Drop a database made by ``create_database``, closing its open connections.

    Refuses any name ``create_database`` could not have produced, so a wrong URL
    can never drop a real database on a shared server.
    """
    _check_prefix(prefix)
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(rf"{prefix}_[0-9a-f]{{12}}", name):
        raise ValueError(f"refusing to drop {name!r}: not a {prefix}_<hex> test database")
    # WITH (FORCE) (PostgreSQL 13+) ends connections a test or a pool left open.
    with psycopg.connect(admin_url, connect_timeout=5, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def sqlalchemy_url(url: str) -> str:
    """Turn ``postgresql://`` into ``postgresql+psycopg://``.

    SQLAlchemy's bare ``postgresql://`` means psycopg2, which is not installed.
    """
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres") and sep:
        return f"postgresql+psycopg://{rest}"
    return url


# --------------------------------------------------------------------------- Redis


class RedisServer:
    """A redis-server subprocess we own, reachable at ``url``."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], base_dir: Path) -> None:
        self.url = url
        self._process = process
        self._base_dir = base_dir

    def stop(self) -> None:
        """Terminate the server and remove its folder (idempotent)."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._base_dir, ignore_errors=True)


def _redis_pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _spawn_redis(binary: str, timeout: float) -> RedisServer | str:
    """Start one redis-server; return it once it answers PING, or its log if it exited."""
    base = Path(tempfile.mkdtemp(prefix="campaigns-redis-"))
    log = base / "redis.log"
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    # Not daemonized, so the Popen is the server and stop() can terminate it. The log
    # goes to a file: an unread PIPE would eventually block the server.
    cmd += ["--daemonize", "no", "--dir", str(base), "--logfile", str(log)]
    process = subprocess.Popen(cmd, cwd=base, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    server = RedisServer(f"redis://127.0.0.1:{port}/0", process, base)
    try:
        _wait_until(
            lambda: process.poll() is not None or _redis_pings(port),
            timeout,
            f"redis-server on port {port}",
        )
    except BaseException:
        server.stop()
        raise
    if process.poll() is None:
        return server
    output = log.read_text(errors="replace") if log.exists() else ""
    server.stop()
    return output or f"redis-server exited with code {process.returncode}"


def start_redis(timeout: float = 10) -> RedisServer:
    """Start a private ``redis-server`` on a free port and wait until it answers PING.

    Always our own process (never the machine's Redis on 6379), so tests may FLUSHALL
    freely. Nothing is written to disk: no RDB snapshots, no AOF.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found; run scripts/ensure-system-packages")
    result: RedisServer | str = ""
    for _attempt in range(3):  # free_port() can race with another process: retry.
        result = _spawn_redis(binary, timeout)
        if isinstance(result, RedisServer):
            return result
    raise RuntimeError(f"redis-server failed to start:\n{result}")


# --------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class CapturedMail:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The parsed message (``email.policy.default``, so headers are decoded)."""
        return cast(EmailMessage, email.message_from_bytes(self.data, policy=email.policy.default))


class _Handler:
    """aiosmtpd handler: rejects chosen recipients, records every accepted message."""

    def __init__(self, capture: SmtpCapture) -> None:
        self._capture = capture

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        rejection = self._capture._rejection_for(address)
        if rejection is not None:
            # A real 4xx/5xx at RCPT time: the sender sees a soft or hard failure for
            # this recipient, exactly as with a real MTA.
            return rejection
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        if self._capture.delay_seconds:
            # A slow but steady server, for throughput measurements.
            await asyncio.sleep(self._capture.delay_seconds)
        self._capture._record(CapturedMail(envelope.mail_from, list(envelope.rcpt_tos), data))
        if any(self._capture._drops(address) for address in envelope.rcpt_tos):
            # The mail is taken, but the connection dies before the sender hears so:
            # from the sender's side the outcome is unknown.
            session.peer and server.transport.abort()
        return "250 Message accepted for delivery"


class SmtpCapture:
    """A real SMTP server in this process that keeps what it receives in ``messages``.

    With ``tls="starttls"`` it offers STARTTLS and refuses mail before it; with ``tls="ssl"``
    it speaks TLS from the first byte. With ``login=(user, password)`` it takes AUTH (over
    TLS only) and refuses other credentials.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        tls: str = "none",
        certificates: Certificates | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port()
        self.messages: list[CapturedMail] = []
        # aiosmtpd serves on its own thread (an asyncio loop) while tests read from
        # theirs: one Condition guards messages and rejections and wakes wait_for().
        self._cond = threading.Condition()
        self._rejections: dict[str, str] = {}
        self._dropped: set[str] = set()
        self.delay_seconds = 0.0
        self.logins: list[str] = []  # the user names that logged in
        self._login = login
        options: dict[str, Any] = {}
        if tls != "none":
            if certificates is None:
                raise ValueError("a TLS server needs certificates")
            if tls == "starttls":
                options.update(tls_context=certificates.server_context(), require_starttls=True)
            elif tls == "ssl":
                options.update(ssl_context=certificates.server_context())
            else:
                raise ValueError(f"tls must be none, starttls or ssl, got {tls!r}")
        if login is not None:
            # aiosmtpd knows only its own STARTTLS; with tls="ssl" every byte is TLS anyway.
            options.update(authenticator=self._authenticate, auth_require_tls=tls == "starttls")
        self._controller: Controller | None = Controller(
            _Handler(self), hostname=self.host, port=self.port, **options
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword) or self._login is None:
            return AuthResult(success=False, handled=False)
        given = (data.login.decode(), data.password.decode())
        if given != self._login:
            return AuthResult(success=False, handled=False)
        with self._cond:
            self.logins.append(given[0])
        return AuthResult(success=True)

    def start(self) -> None:
        """Start listening (returns once the server accepts connections)."""
        if self._controller is not None:
            self._controller.start()

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def reject(self, address: str, code: int, text: str) -> None:
        """Answer ``RCPT TO:<address>`` with ``code text``, e.g. 550 "5.1.1 User unknown"."""
        if not 400 <= code <= 599:
            raise ValueError(f"rejection code must be 4xx or 5xx, got {code}")
        with self._cond:
            self._rejections[address.strip().lower()] = f"{code} {text}"

    def drop_after_data(self, address: str) -> None:
        """Take mail for ``address`` but cut the connection instead of answering 250."""
        with self._cond:
            self._dropped.add(address.strip().lower())

    def _drops(self, address: str) -> bool:
        with self._cond:
            return address.strip().lower() in self._dropped

    def clear(self) -> None:
        """Forget received messages and rejections, as for a fresh server."""
        with self._cond:
            self.messages.clear()
            self._rejections.clear()
            self._dropped.clear()

    def wait_for(self, count: int, timeout: float = 10) -> list[CapturedMail]:
        """Wait until at least ``count`` messages arrived and return a copy of them all.

        Raises TimeoutError (listing what did arrive) after ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= count, timeout):
                got = [(m.mail_from, m.rcpt_tos) for m in self.messages]
                raise TimeoutError(f"expected {count} message(s) within {timeout} s, got {got}")
            return list(self.messages)

    def _rejection_for(self, address: str) -> str | None:
        with self._cond:
            return self._rejections.get(address.strip().lower())

    def _record(self, mail: CapturedMail) -> None:
        with self._cond:
            self.messages.append(mail)
            self._cond.notify_all()


def start_smtp() -> SmtpCapture:
    """Start an ``SmtpCapture`` on 127.0.0.1 and a free port."""
    capture = SmtpCapture()
    capture.start()
    return capture


# --------------------------------------------------------------------------- Browser


def chromium_path() -> str | None:
    """Debian's Chromium, for Playwright's ``executable_path`` (its own download is blocked)."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")
