"""A throwaway PostgreSQL server on loopback for the history tests (Debian's `postgresql`).

initdb refuses to run as root, so under root the server runs as the `postgres` user the
Debian package creates (via runuser). Trust authentication on 127.0.0.1 only, a free port,
a temporary data directory; stopped by pg_ctl at the end of the session.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port

USER = "kubehooks"


class PostgresMissing(RuntimeError):
    """No PostgreSQL binaries: install Debian's postgresql (scripts/test.sh does)."""


def bin_dir() -> Path:
    """Return the folder of initdb and pg_ctl (PATH, else Debian's versioned folder)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not versions:
        raise PostgresMissing(
            "no initdb: apt-get install postgresql, or deselect -m 'not postgres'"
        )
    return Path(versions[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass
class PostgresServer:
    """One running server; `url(database)` is a SQLAlchemy URL."""

    root: Path
    port: int
    bin: Path
    started_seconds: float = 0.0

    def start(self) -> PostgresServer:
        began = time.monotonic()
        data = self.root / "data"
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(
            _as_server_user(
                [str(self.bin / "initdb"), "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )
        self.resume()
        self.started_seconds = time.monotonic() - began
        return self

    def resume(self) -> None:
        """Start the server (again) on its data directory and port."""
        data = self.root / "data"
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_server_user(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-w",
                    "-l",
                    str(self.root / "server.log"),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def halt(self) -> None:
        """Stop the server at once (pg_ctl's immediate mode: connections cut, no checkpoint),
        keeping its data for `resume`."""
        subprocess.run(
            _as_server_user(
                [str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_server_user(
                [str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "stop"]
            ),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start_postgres() -> PostgresServer:
    """Start a server in a fresh folder of /tmp (pytest's tmp folders are root-only) on a free
    loopback port."""
    root = Path(tempfile.mkdtemp(prefix="kubehooks-postgres-"))
    root.chmod(0o755)
    return PostgresServer(root, free_port(), bin_dir()).start()
