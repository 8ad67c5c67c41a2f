"""The workers' shared table of load (`hooks.peers`), and the accept queue a worker reads."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from hooks.peers import _SLOT, Peers
from hooks.worker import accept_queue


def _forked_worker(peers: Peers, slot: int, load: int, accepting: bool) -> None:
    """Report from another process, as a forked worker does, then exit."""
    pid = os.fork()
    if pid == 0:
        peers.join(slot)
        peers.report(load, accepting=accepting)
        os._exit(0)
    os.waitpid(pid, 0)


def test_a_worker_sees_an_idle_peer_only_while_it_is_alive_idle_and_accepting() -> None:
    peers = Peers(4)
    mine, theirs = peers.claim(), peers.claim()
    assert (mine, theirs) == (0, 1)
    peers.join(mine)
    peers.report(3, accepting=True)
    assert not peers.idle_peer()  # the other slot is claimed, not yet reported
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _write(peers, theirs, sleeper.pid, load=0, accepting=True)
        assert peers.idle_peer()
        _write(peers, theirs, sleeper.pid, load=1, accepting=True)
        assert not peers.idle_peer()  # busy
        _write(peers, theirs, sleeper.pid, load=0, accepting=False)
        assert not peers.idle_peer()  # leaving connections to someone else
        _write(peers, theirs, sleeper.pid, load=0, accepting=True, age=5.0)
        assert not peers.idle_peer()  # silent for too long: its loop is stuck
    finally:
        sleeper.kill()
        sleeper.wait()
    _write(peers, theirs, sleeper.pid, load=0, accepting=True)
    assert not peers.idle_peer()  # dead, though its slot says idle
    assert peers.claim() == 1  # the dead worker's slot is the first free one


def test_the_table_is_shared_with_forked_workers_and_freed_when_they_leave() -> None:
    peers = Peers(2)
    mine, theirs = peers.claim(), peers.claim()
    peers.join(mine)
    _forked_worker(peers, theirs, load=0, accepting=True)
    assert peers.read(theirs)[1:3] == (0, 1)  # written by the child, read here
    assert peers.claim() == 1  # the child exited: its slot is free again
    peers.leave()
    assert peers.read(mine)[0] == 0


def test_accept_queue_counts_the_connections_waiting_to_be_accepted() -> None:
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        port = listener.getsockname()[1]
        assert accept_queue(listener) == 0
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        try:
            assert accept_queue(listener) == 3
            listener.accept()[0].close()
            assert accept_queue(listener) == 2
        finally:
            for client in clients:
                client.close()


def _write(
    peers: Peers, slot: int, pid: int, *, load: int, accepting: bool, age: float = 0
) -> None:
    """Write another worker's slot as that worker would (`Peers.report`), `age` seconds ago."""
    when = time.monotonic() - age
    _SLOT.pack_into(peers._table, slot * _SLOT.size, pid, load, int(accepting), when)
