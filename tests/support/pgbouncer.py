"""A real PgBouncer (Debian's package) in transaction mode in front of the test PostgreSQL, on a port the
kernel picked: as Neon's pooled endpoint runs it. `ignore_options` is the other configuration operators
use, `ignore_startup_parameters = options`."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import with_port
from tests.support.live import free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@dataclass
class PgBouncer:
    url: str  # the database URL through PgBouncer
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


def config(target: str, port: int, directory: Path, *, ignore_options: bool) -> str:
    url = make_url(target)
    ignored = "extra_float_digits" + (",options" if ignore_options else "")
    return f"""[databases]
* = host={url.host or "127.0.0.1"} port={url.port or 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "users.txt"}
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
ignore_startup_parameters = {ignored}
logfile = {directory / "pgbouncer.log"}
"""


@contextlib.contextmanager
def pgbouncer(target: str, *, ignore_options: bool = False) -> Iterator[PgBouncer]:
    """PgBouncer in front of the PostgreSQL of `target` (a database URL), for as long as the block runs."""
    if not os.path.exists(PGBOUNCER):
        pytest.skip("needs pgbouncer (apt-get install -y pgbouncer)")
    directory = Path(tempfile.mkdtemp(prefix="taskapi-pgbouncer-"))
    directory.chmod(0o777)  # PgBouncer refuses to run as root: it runs as `postgres` and writes its log here
    port = free_port()
    user = make_url(target).username or "postgres"
    (directory / "users.txt").write_text(f'"{user}" ""\n')
    (directory / "pgbouncer.ini").write_text(config(target, port, directory, ignore_options=ignore_options))
    command = [PGBOUNCER, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start: {(directory / 'pgbouncer.log').read_text()}")
            time.sleep(0.05)
        yield PgBouncer(with_port(target, port), directory / "pgbouncer.log")
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)
