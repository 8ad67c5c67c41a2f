"""A throwaway MariaDB server on loopback for the history tests (Debian's mariadb-server-core).

No system tables are installed: `--skip-grant-tables` lets the tests connect as root without a
password, which is only acceptable because the server listens on 127.0.0.1, on a free port,
with a temporary data directory, for the length of the session.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port


class MariaDBMissing(RuntimeError):
    """No mariadbd: install Debian's mariadb-server-core (scripts/test.sh does)."""


@dataclass
class MariaDBServer:
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    started_seconds: float = 0.0

    def start(self) -> MariaDBServer:
        import pymysql

        binary = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        if not Path(binary).exists():
            hint = "apt-get install mariadb-server-core, or deselect -m 'not mariadb'"
            raise MariaDBMissing(f"no mariadbd: {hint}")
        began = time.monotonic()
        (self.root / "data").mkdir(parents=True)
        command = [
            binary,
            "--no-defaults",
            f"--datadir={self.root / 'data'}",
            f"--socket={self.root / 'sock'}",
            f"--pid-file={self.root / 'pid'}",
            f"--log-error={self.root / 'error.log'}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            "--skip-grant-tables",
            "--innodb-buffer-pool-size=32M",
        ]
        if os.geteuid() == 0:
            command.append("--user=root")
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root").close()
                break
            except pymysql.err.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.root / "error.log").read_text(errors="replace")
                    raise RuntimeError(f"mariadbd did not start:\n{log}") from None
                time.sleep(0.2)
        self.started_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import pymysql

        connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root")
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        finally:
            connection.close()
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{name}?charset=utf8mb4"


def start_mariadb() -> MariaDBServer:
    """Start a server in a fresh folder of /tmp on a free loopback port."""
    return MariaDBServer(Path(tempfile.mkdtemp(prefix="kubehooks-mariadb-")), free_port()).start()
