"""A real, throwaway IMAP server: Debian's Dovecot in a temporary folder on a free port.

Plain helpers with no pytest dependency. `start_dovecot(tmp_dir)` writes a config that
keeps everything (sockets, state, log, mail) inside `tmp_dir`, listens on 127.0.0.1
only, and accepts one plain-text login; `.stop()` ends the server by its own pid.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.services import free_port
from tests.support.tls import Certificates

USER = "inbox@punthelder-seo.nl"


def dovecot_binary() -> str:
    """The dovecot master binary (Debian keeps it in /usr/sbin, often off PATH)."""
    found = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").is_file() else None
    )
    if found is None:
        raise RuntimeError("dovecot not found; run scripts/ensure-system-packages")
    return found


@dataclass
class DovecotServer:
    """A running Dovecot reachable at host:port with one user."""

    host: str
    port: int
    user: str
    password: str
    base_dir: Path
    log_path: Path
    tls_port: int | None = None  # implicit TLS (IMAPS), when started with certificates
    _stopped: bool = field(default=False, repr=False)

    def connect(self) -> imaplib.IMAP4:
        """A logged-in IMAP connection (the caller logs out)."""
        connection = imaplib.IMAP4(self.host, self.port, timeout=10)
        connection.login(self.user, self.password)
        return connection

    def stop(self) -> None:
        """Stop the master process by the pid it wrote, and wait until it is gone."""
        if self._stopped:
            return
        self._stopped = True
        pid_file = self.base_dir / "master.pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def _ssl_config(base: Path, certificates: Certificates | None) -> str:
    """TLS settings: none, or STARTTLS on the plain port and IMAPS (the caller's listener)."""
    if certificates is None:
        return "ssl = no"
    cert, key = base / "server.pem", base / "server.key"
    shutil.copyfile(certificates.cert, cert)
    shutil.copyfile(certificates.key, key)
    key.chmod(0o600)
    return f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"


def _config(
    base: Path,
    port: int,
    passwd: Path,
    mail: Path,
    uid: int,
    gid: int,
    tls: str = "ssl = no",
    tls_port: int = 0,
) -> str:
    return f"""
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
listen = 127.0.0.1
protocols = imap
{tls}
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests try a wrong password on purpose: answer at once.
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def _answers(host: str, port: int) -> bool:
    try:
        connection = imaplib.IMAP4(host, port, timeout=1)
    except OSError:
        return False
    with suppress(OSError, imaplib.IMAP4.error):
        connection.logout()
    return True


def start_dovecot(
    tmp_dir: Path, timeout: float = 15, certificates: Certificates | None = None
) -> DovecotServer:
    """Start Dovecot with everything inside `tmp_dir`; returns once it answers IMAP.

    With `certificates` it also offers STARTTLS on its port and implicit TLS on `tls_port`.
    """
    binary = dovecot_binary()
    base = Path(tmp_dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    for parent in base.parents:
        # pytest's own temp folders are 0700: the dovecot user could not reach the passwd file.
        if not parent.stat().st_mode & 0o001:
            raise RuntimeError(f"{parent} is not world-executable; use a folder under /tmp")
    # The auth process runs as the dovecot user: it must reach the folder and the passwd file.
    base.chmod(0o755)
    mail_user = pwd.getpwnam("mail")
    mail = base / "mail"
    mail.mkdir(exist_ok=True)
    os.chown(mail, mail_user.pw_uid, mail_user.pw_gid)
    password = secrets.token_hex(8)
    passwd = base / "passwd"
    passwd.write_text(f"{USER}:{{PLAIN}}{password}\n")
    passwd.chmod(0o644)
    last_error = ""
    for _attempt in range(3):  # free_port() can race with another process: retry.
        port = free_port()
        tls_port = free_port() if certificates is not None else 0
        config = base / "dovecot.conf"
        ids = (mail_user.pw_uid, mail_user.pw_gid)
        tls = _ssl_config(base, certificates)
        config.write_text(_config(base, port, passwd, mail, *ids, tls=tls, tls_port=tls_port))
        server = DovecotServer(
            "127.0.0.1", port, USER, password, base / "run", base / "dovecot.log", tls_port or None
        )
        # The master daemonizes: its children must not inherit our pipes, or run() would
        # wait for them forever. Start-up errors go to a file instead.
        startup_log = base / "startup.log"
        with startup_log.open("w") as output:
            done = subprocess.run(
                [binary, "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            last_error = startup_log.read_text(errors="replace")
            continue
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(server.host, port):
                return server
            time.sleep(0.05)
        log = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
        server.stop()
        last_error = f"dovecot not answering on port {port}\n{log}"
    raise RuntimeError(f"dovecot failed to start:\n{last_error}")
