"""A child process that computes a worker's large hook calls, so that its event loop never
waits for the interpreter lock.

A worker's event loop accepts connections, reads requests and refuses the excess (`hooks.worker`),
but it needs the interpreter lock for each of these steps, and a large call holds that lock in
long stretches: parsing a 6.6 MB request, validating it and serialising the answer are single
C calls of 20 to 60 ms each. Under a burst of 1000-Pod calls the loop got the lock so rarely
that deciding to refuse a call took up to 0.9 s after its connection was accepted, and the
bodies of the admitted calls were read as slowly: admitted calls took ten times their unloaded
latency. Computing those calls in a process of their own gives the loop an interpreter to
itself. The child is forked from the worker once the app is loaded (so it holds the same
controllers and settings), computes one call at a time, as the worker did (`InFlight`'s turns),
and exits when the worker closes its end of the socket.

The bodies travel through memory both processes map (one copy each way, not a socket's
200 KB at a time, each a switch between the processes); only a small pickled message crosses
the socket. Small calls stay in the worker: for them the round trip would cost more than the
lock does.
"""

from __future__ import annotations

import logging
import mmap
import os
import pickle
import signal
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("kubehooks")

_LENGTH = struct.Struct("!Q")
NICENESS = 3
"""Added to the child's nice value: when the processors are short (a burst), the worker's event
loop, which reads the admitted bodies and refuses the excess, runs before the computation it
feeds. Measured under `bench.resilience`'s burst, three runs each: admitted calls' p99 1.6-2.0x
their unloaded p99, against 1.7-3.4x at the worker's own priority. Raising a nice value needs no
privilege; it orders the server's own processes, not the server against other containers."""


def _lower_priority() -> None:  # pragma: no cover - runs in the child
    try:
        os.nice(NICENESS)
    except OSError:
        pass  # a platform that refuses it: the child runs at the worker's priority


class ComputeChildGone(Exception):
    """The child died or closed its socket: the caller computes the call itself."""


Run = Callable[[Any, bytes], tuple[Any, bytes]]
"""What the child computes: a message and a body in, a message and a body out."""


class ComputeChild:
    """One forked process answering `run(message, body)` for its parent, one call at a time.

    Messages are pickled (both ends are the same program, forked from one another); bodies go
    through two shared memory areas of `request_bytes` and `answer_bytes` (pages are only used
    once written), or, larger, through the socket.
    """

    def __init__(
        self,
        run: Run,
        *,
        request_bytes: int,
        answer_bytes: int,
        after: Callable[[], None] = lambda: None,
    ) -> None:
        self._request_area = mmap.mmap(-1, request_bytes)
        self._answer_area = mmap.mmap(-1, answer_bytes)
        parent_end, child_end = socket.socketpair()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
            parent_end.close()
            _lower_priority()
            _serve_forever(child_end, run, after, self._request_area, self._answer_area)
        child_end.close()
        self._sock = parent_end
        self._lock = threading.Lock()
        self._gone = False

    def call(self, message: Any, body: bytes) -> tuple[Any, bytes]:
        """Return what the child's `run` returned for `message` and `body` (its exception is
        re-raised)."""
        if self._gone:
            raise ComputeChildGone("the compute child is gone")
        with self._lock:
            try:
                _send(self._sock, _put(self._request_area, body), message)
                ok, result, answer = _receive(self._sock, self._answer_area)
            except (OSError, EOFError, pickle.UnpicklingError) as err:
                self._gone = True
                log.error("the compute child (pid %d) is gone: %s; computing here", self.pid, err)
                self._reap()
                raise ComputeChildGone(str(err)) from err
        if not ok:
            raise result
        return result, answer

    def _reap(self) -> None:
        try:
            os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pass

    def close(self) -> None:
        """Let the child exit (it reads the end of its socket)."""
        self._gone = True
        self._sock.close()


def _serve_forever(  # pragma: no cover
    sock: socket.socket,
    run: Run,
    after: Callable[[], None],
    request_area: mmap.mmap,
    answer_area: mmap.mmap,
) -> None:
    """The child's life: answer messages until the parent closes the socket, then leave.
    `after` runs once each answer is sent (freeing a large request takes a while)."""
    for stop in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(stop, signal.SIG_IGN)  # the worker stops the child by closing the socket
    for other in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGCHLD):
        signal.signal(other, signal.SIG_DFL)
    status = 0
    try:
        while True:
            try:
                message, body = _receive(sock, request_area)
            except (EOFError, OSError):
                break
            try:
                result, answer = run(message, body)
                reply: tuple[bool, Any] = (True, result)
            except Exception as err:
                reply, answer = (False, err), b""
            _send(sock, _put(answer_area, answer), *reply)
            after()
    except BaseException:
        log.exception("the compute child failed")
        status = 1
    finally:
        os._exit(status)


def _put(area: mmap.mmap, body: bytes) -> int | bytes:
    """Write `body` to the shared area and return its length; return it whole if too large."""
    if len(body) > len(area):
        return body
    area[: len(body)] = body
    return len(body)


def _send(sock: socket.socket, *message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _receive(sock: socket.socket, area: mmap.mmap) -> tuple[Any, ...]:
    """Return a message, its body (read from the shared area) last."""
    (length,) = _LENGTH.unpack(_read_exactly(sock, _LENGTH.size))
    body, *message = pickle.loads(_read_exactly(sock, length))
    if isinstance(body, int):
        body = area[:body]
    return (*message, body)


def _read_exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = sock.recv_into(view[received:])
        if count == 0:
            raise EOFError("the other end closed the socket")
        received += count
    return buffer
