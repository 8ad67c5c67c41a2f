"""The RedisMigration Jobs' shell scripts, run for real against real Redis servers.

The scripts and environment are taken from the golden answers (the Jobs as the hook builds
them); only the addresses are pointed at servers started here. Every test runs under each
shell found here that an image's `sh` may be: busybox ash (Alpine, the default image), dash
(Debian-based images) and bash. Skipped, saying so, when redis-server or redis-cli is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.goldens import FIXTURES
from tests.servers import free_port

pytestmark = pytest.mark.skipif(
    not (shutil.which("redis-server") and shutil.which("redis-cli")),
    reason="needs redis-server and redis-cli (Debian: apt-get install redis-server)",
)

SHELLS = [
    pytest.param(command, id=command[0])
    for command in (["busybox", "sh"], ["dash"], ["bash"])
    if shutil.which(command[0])
]
CASE = FIXTURES / "redismigration" / "direct-addresses"


class Redis:
    """A throw-away redis-server on a free port."""

    def __init__(self, folder: Path, *args: str, password: str | None = None) -> None:
        self.port = free_port()
        self.password = password
        folder.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(folder), *args]
        if password:
            command += ["--requirepass", password]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while self.cli("PING") != "PONG":
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on {self.port} did not start")
            time.sleep(0.05)

    def cli(self, *args: str, db: int = 0) -> str:
        env = {"PATH": os.environ["PATH"]}
        if self.password:
            env["REDISCLI_AUTH"] = self.password
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), "-n", str(db), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, Redis]]:
    started = {
        "source": Redis(tmp_path / "source", password="source-pw"),
        "dest": Redis(tmp_path / "dest", password="dest-pw"),
        "plain": Redis(tmp_path / "plain"),
        "no-migrate": Redis(tmp_path / "no-migrate", "--rename-command", "MIGRATE", ""),
    }
    started["replica"] = Redis(
        tmp_path / "replica", "--replicaof", "127.0.0.1", str(started["plain"].port)
    )
    yield started
    for server in started.values():
        server.stop()


def _job(role: str) -> dict[str, Any]:
    """Return the golden precheck (observed, as applied) or migrate (answered) Job."""
    response = json.loads((CASE / "response.json").read_text())
    (job,) = [c for c in response["children"] if c["metadata"]["name"] == f"rmtest-{role}"]
    return job


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> list[str]:
    command: list[str] = request.param
    return command


def _run(
    shell: list[str], role: str, source: Redis, dest: Redis, **overrides: str
) -> subprocess.CompletedProcess[str]:
    container = _job(role)["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["sh", "-c"]
    env = {"PATH": os.environ["PATH"]}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:  # a Secret reference: what the kubelet would put there
            secret = item["valueFrom"]["secretKeyRef"]["name"]
            env[item["name"]] = {"redis-a": source, "redis-b": dest}[secret].password or ""
    env.update(
        SOURCE_HOST="127.0.0.1",
        SOURCE_PORT=str(source.port),
        DEST_HOST="127.0.0.1",
        DEST_PORT=str(dest.port),
    )
    env.update(overrides)
    env = {k: v for k, v in env.items() if v != "<unset>"}
    return subprocess.run(
        [*shell, "-c", container["command"][2]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_golden_jobs_use_the_spec_and_secret_refs() -> None:
    env = {
        e["name"]: e for e in _job("migrate")["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["KEY_PATTERN"]["value"] == "session:*" and env["BATCH_SIZE"]["value"] == "500"
    assert env["SOURCE_DB"]["value"] == "2" and env["DEST_DB"]["value"] == "3"
    assert env["DEST_AUTH"]["valueFrom"]["secretKeyRef"] == {"name": "redis-b", "key": "password"}


def test_precheck_passes_when_both_ends_are_reachable(
    servers: dict[str, Redis], shell: list[str]
) -> None:
    done = _run(shell, "precheck", servers["source"], servers["dest"])
    assert done.returncode == 0, done.stderr
    assert "ready to migrate" in done.stdout
    assert f"dest 127.0.0.1:{servers['dest'].port} db 3: Redis " in done.stdout


@pytest.mark.parametrize(
    "dest,overrides,expected",
    [
        pytest.param("dest", {"DEST_PORT": "1"}, "is unreachable", id="unreachable"),
        pytest.param("dest", {"DEST_AUTH": "wrong"}, "WRONGPASS", id="wrong-password"),
        pytest.param("dest", {"DEST_AUTH": "<unset>"}, "NOAUTH", id="missing-password"),
        pytest.param("dest", {"DEST_DB": "99"}, "DB index is out of range", id="no-such-db"),
        pytest.param("replica", {"DEST_AUTH": "<unset>"}, "not a writable primary", id="replica"),
    ],
)
def test_precheck_fails_with_the_reason(
    servers: dict[str, Redis], shell: list[str], dest: str, overrides: dict[str, str], expected: str
) -> None:
    done = _run(shell, "precheck", servers["source"], servers[dest], **overrides)
    assert done.returncode != 0
    assert "precheck failed: " in done.stderr and expected in done.stderr, done.stderr


def test_precheck_fails_when_the_source_has_no_migrate(
    servers: dict[str, Redis], shell: list[str]
) -> None:
    done = _run(shell, "precheck", servers["no-migrate"], servers["dest"], SOURCE_AUTH="<unset>")
    assert done.returncode != 0
    assert "does not offer MIGRATE" in done.stderr


def test_migrate_copies_the_matching_keys_with_their_ttls(
    servers: dict[str, Redis], shell: list[str]
) -> None:
    source, dest = servers["source"], servers["dest"]
    for index in range(7):
        source.cli("SET", f"session:{index}", f"v{index}", db=2)
    source.cli("SET", "session:with space", "x", db=2)
    source.cli("SET", "session:ttl", "t", "EX", "1000", db=2)
    source.cli("RPUSH", "session:list", "a", "b", db=2)
    source.cli("SET", "other:1", "not copied", db=2)
    source.cli("SET", "session:elsewhere", "db 0 is not copied", db=0)
    dest.cli("SET", "session:0", "old", db=3)
    done = _run(shell, "migrate", source, dest, BATCH_SIZE="3")
    assert done.returncode == 0, done.stderr
    assert "10 keys matching session:* copied" in done.stdout
    assert dest.cli("DBSIZE", db=3) == "10"
    assert dest.cli("GET", "session:0", db=3) == "v0", "REPLACE overwrites what the dest had"
    assert dest.cli("GET", "session:with space", db=3) == "x"
    assert dest.cli("LRANGE", "session:list", "0", "-1", db=3).split() == ["a", "b"]
    assert 900 < int(dest.cli("TTL", "session:ttl", db=3)) <= 1000
    assert dest.cli("EXISTS", "other:1", db=3) == "0"
    assert dest.cli("DBSIZE", db=0) == "0"
    assert source.cli("DBSIZE", db=2) == "11", "COPY leaves the source as it was"


def test_migrate_fails_when_the_dest_refuses(servers: dict[str, Redis], shell: list[str]) -> None:
    servers["source"].cli("SET", "session:1", "v", db=2)
    done = _run(shell, "migrate", servers["source"], servers["dest"], DEST_AUTH="wrong")
    assert done.returncode != 0
    assert "MIGRATE failed: " in done.stderr and "WRONGPASS" in done.stderr


def test_migrate_fails_when_the_source_is_unreachable(
    servers: dict[str, Redis], shell: list[str]
) -> None:
    done = _run(shell, "migrate", servers["source"], servers["dest"], SOURCE_PORT="1")
    assert done.returncode != 0
    assert "SCAN of the source failed; 0 keys copied" in done.stderr
    assert "keys matching" not in done.stdout


def test_migrate_fails_when_the_source_password_is_wrong(
    servers: dict[str, Redis], shell: list[str]
) -> None:
    servers["source"].cli("SET", "session:1", "v", db=2)
    done = _run(shell, "migrate", servers["source"], servers["dest"], SOURCE_AUTH="wrong")
    assert done.returncode != 0
    assert "SCAN of the source failed" in done.stderr
    assert servers["dest"].cli("DBSIZE", db=3) == "0"
