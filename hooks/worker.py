"""The gunicorn worker of `kubehooks serve`: requests are read whole, with deadlines, before a
thread computes them.

gunicorn's sync and gthread workers read a request in the thread (or process) that computes it,
so a client that sends a header line every few seconds holds that thread for as long as it
likes: 4 such connections stopped a 2-worker sync server, 16 a gthread one (issue 13). Here
the worker's event loop (gthread's, which already accepts and keeps connections alive) reads
every request itself, without blocking, until its headers and its whole body are in memory,
and only then hands it to a thread: a slow client costs a buffer, never a thread. A request
whose headers are not in after `limits.headerTimeoutSeconds`, or whose body is not in
`limits.bodyTimeoutSeconds` after them, is answered 408 and closed. The TLS handshake is
stepped in the loop too, under the header deadline. A thread then parses from the buffer with
gunicorn's own parser, so every rule of gunicorn's HTTP parsing still applies; its reads and
writes time out after the body deadline.

Admission (`InFlight`) is decided as soon as a call's headers are in: a call that finds a slot
keeps it while its body is read, first; a call that finds none is answered 429 at once, from its
headers alone (rewritten to say `Content-Length: 0` and `Connection: close`), before any more of
its body is read. A client that reads while it writes, as Go's does, has its 429 in a
millisecond; one that reads only once it has written everything has its body dropped (see
`_linger`), after the admitted bodies, in large reads. Past a budget of buffered bytes only
calls holding a slot are read, so memory stays bounded whatever the number of connections.

Connections closed after an answer are half-closed and drained in the loop (`_linger`), never
by a blocking read: gunicorn drains them in its event loop with a blocking read of up to 2 s,
so a client that kept a connection open after a `Connection: close` answer stopped the worker
for 2 s each time.

The errors gunicorn answers itself (a malformed request line, `Transfer-Encoding: xchunked`,
chunked with Content-Length, headers too large) get the app's JSON error body instead of
gunicorn's HTML page.

On SIGTERM a worker stops only once idle: it keeps accepting what is already queued on the
listening socket and finishes it, instead of leaving those calls to be reset when the socket
closes (see `BufferingWorker.set_accept_enabled`).
"""

from __future__ import annotations

import errno
import io
import re
import select
import selectors
import socket
import ssl
import struct
import sys
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from typing import Any

import orjson
from gunicorn import http, util
from gunicorn import sock as gunicorn_sock
from gunicorn.workers.gthread import TConn, ThreadWorker

from hooks.inflight import LARGE_BYTES, InFlight
from hooks.peers import Peers

RECV_BYTES = 256 * 1024
"""Bytes asked of the socket per read while the size of the request is unknown."""
REFUSED_RECV_BYTES = 64 * 1024
"""Bytes of a refused call's body read (and dropped) per turn of the loop: the bodies of the
admitted calls come first, and refused senders wait on TCP rather than on the processor."""
MAX_RECV_BYTES = 16 * 1024 * 1024
"""Bytes asked at most per read of a body of known size. Each read waits for the interpreter
lock, which a computing thread hands over only every few milliseconds (`sys.getswitchinterval`),
so a body is read in as few reads as the kernel allows."""
SWITCH_SECONDS = 0.002
"""How long a computing thread keeps the interpreter lock from the event loop (Python's default
is 5 ms): the loop needs it for every read, accept and hand-over (docs/production.md, "Limits
and back-pressure")."""
RESERVATION_SECONDS = 2.0
"""How long a call keeps the slot reserved when its headers came in, if its body is slower (so
that slow bodies cannot hold every slot); a 16 MiB body at 100 MB/s takes 0.17 s."""
LINGER_BYTES = 64 * 1024
"""Bytes dropped at most from a connection closed after its answer, besides the rest of a
refused body (gunicorn's own figure)."""
LINGER_SECONDS = 2.0
"""How long a connection closed after its answer is drained at most (gunicorn's own figure); a
refused body gets `limits.bodyTimeoutSeconds`, the time it would have had to arrive."""
QUIET_SECONDS = 0.5
"""How long the rest of a refused body is left unread after the 429, waiting for the client
to close: Go's client has read its 429 by then and closes, and nothing is copied at all."""
DRAIN_AT_MOST = 16
"""Connections a worker drains at most: past them, a refused call's connection still sending
when its quiet period ends is reset. A client that reads while it writes (Go's) has had its
429 for half a second by then, but its kernel still holds the part of the body it queued (up
to its socket buffer, megabytes), and would send it all to be drained: under a burst of 200
callers of 6.6 MB calls that was 4 GB per worker in 10 s, a quarter of the server's processor
time. A client that reads only once it has written everything (Python's http.client) gets a
reset instead of its 429, but only while more than this many refused calls are pending."""
_RESET = struct.pack("ii", 1, 0)
"""SO_LINGER on, with no time: close() resets the connection (socket(7))."""
DRAIN_READS = 4
"""Reads of `DRAIN_BYTES` at most per turn of the loop for one lingering connection."""
DRAIN_BYTES = 1024 * 1024
DEFER_QUEUE = 2
"""Connections waiting to be accepted up to which a busy worker leaves them to an idle peer;
past them (a burst), every worker accepts, so that refusals are spread over every loop."""
DEFER_SECONDS = 0.002
"""How often a worker that leaves new connections to an idle peer looks whether it still is."""
MAX_HEADER_BYTES = 1024 * 1024
"""Past this many bytes without the blank line that ends the headers, the parser refuses the
request (431, or 414 for the request line); gunicorn's own limits are well below it."""


class PendingRequest:
    """The bytes of one request read so far, and whether they hold all of it.

    Only the framing is looked at (the end of the headers, Content-Length, chunked). Anything
    the framing cannot make sense of is handed to gunicorn's parser at once, which refuses it.
    """

    __slots__ = (
        "buffer",
        "deadline",
        "_body_seconds",
        "_max_body",
        "_scanned",
        "_body_start",
        "_length",
        "_chunk_at",
        "posts",
        "awaits_continue",
    )

    def __init__(
        self, data: bytes, now: float, header_seconds: float, body_seconds: float, max_body: int
    ) -> None:
        self.buffer = bytearray(data)
        self.deadline = now + header_seconds
        self._body_seconds = body_seconds
        self._max_body = max_body
        self._scanned = 0
        self._body_start = -1
        self._length: int | None = None
        """The body's length; None while the headers are incomplete, -1 for chunked."""
        self._chunk_at = 0
        self.posts = False
        """Whether the headers are in and announce a POST: a hook call, held by the app."""
        self.awaits_continue = False
        """Whether the client waits for `100 Continue` before it sends the body."""

    @property
    def declared(self) -> int:
        """Return the body length the headers declare (0: none, chunked, or not in yet)."""
        return max(self._length or 0, 0)

    @property
    def headers_in(self) -> bool:
        """Return whether the blank line ending the headers has arrived."""
        return self._body_start >= 0

    def refuse(self) -> int | None:
        """Keep only the headers of a refused call, which now say `Content-Length: 0` and
        `Connection: close`: the app answers 429 from them at once, before the body is read.
        Return how many bytes of the body are still to come (the worker drops them after the
        answer, `BufferingWorker._linger`); None when its length is unknown (chunked: it is read
        and answered as usual).
        """
        if self._length is None or self._length < 0:
            return None
        received = len(self.buffer) - self._body_start
        head = bytes(self.buffer[: self._body_start - 4]).split(b"\r\n")
        framing = (b"content-length:", b"connection:")
        kept = [line for line in head if not line.lower().startswith(framing)]
        lines = [*kept, b"Content-Length: 0", b"Connection: close", b"", b""]
        self.buffer = bytearray(b"\r\n".join(lines))
        self._body_start, self._scanned = len(self.buffer), len(self.buffer)
        rest, self._length = max(self._length - received, 0), 0
        self.awaits_continue = False
        return rest

    def wanted(self) -> int:
        """Return how many bytes to ask the socket for: the rest of the body when known."""
        if self._length is not None and self._length > 0:
            rest = self._body_start + self._length - len(self.buffer)
            return min(max(rest, RECV_BYTES), MAX_RECV_BYTES)
        return RECV_BYTES

    def add(self, data: bytes) -> None:
        """Append bytes read from the connection."""
        self.buffer += data

    def take(self) -> tuple[bytes, bytes | None]:
        """Return what gunicorn's parser is to read (the headers, and any bytes past the body),
        and the body of known length apart (None: the parser reads it, chunked or refused).

        gunicorn's body reader copies what is left of a body twice per megabyte it hands out,
        holding the interpreter lock throughout (80 MB copied for a 6.6 MB call, 6 to 28 ms
        during which the event loop waits), so a body in memory goes to the app as it is."""
        if self._length is None or self._length <= 0:
            return bytes(self.buffer), None
        end = self._body_start + self._length
        view = memoryview(self.buffer)
        with view:
            return bytes(view[: self._body_start]) + bytes(view[end:]), bytes(
                view[self._body_start : end]
            )

    @property
    def started(self) -> bool:
        """Return whether any byte of the request arrived."""
        return bool(self.buffer)

    def complete(self, now: float) -> bool:
        """Return whether the parser can take over without waiting for the client."""
        if self._body_start < 0:
            end = self.buffer.find(b"\r\n\r\n", max(self._scanned - 3, 0))
            if end < 0:
                self._scanned = len(self.buffer)
                return len(self.buffer) > MAX_HEADER_BYTES
            self._body_start = end + 4
            self.posts = self.buffer.startswith(b"POST ")
            head = bytes(self.buffer[:end])
            self._length = body_length(head, self._max_body)
            self.awaits_continue = bool(self._length) and _EXPECT_CONTINUE.search(head) is not None
            if self._length is None:
                return True
            self._chunk_at = self._body_start
            self.deadline = now + self._body_seconds
        if self._length is None:
            return True
        if self._length >= 0:
            return len(self.buffer) >= self._body_start + self._length
        return self._chunked_complete()

    def _chunked_complete(self) -> bool:
        """Walk the chunks received so far; True once the last one (and trailers) are in."""
        buffer = self.buffer
        while True:
            line_end = buffer.find(b"\r\n", self._chunk_at)
            if line_end < 0:
                return len(buffer) - self._chunk_at > 4096
            size_field = bytes(buffer[self._chunk_at : line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_field, 16)
            except ValueError:
                return True
            if size < 0 or self._chunk_at - self._body_start > self._max_body:
                return True
            if size == 0:
                return buffer.find(b"\r\n\r\n", line_end) >= 0
            following = line_end + 2 + size + 2
            if following > len(buffer):
                return False
            self._chunk_at = following


_EXPECT_CONTINUE = re.compile(rb"\r\nexpect[ \t]*:[ \t]*100-continue[ \t]*(\r\n|$)", re.I)


def accept_queue(listener: socket.socket) -> int:
    """Return the connections waiting to be accepted on a listening TCP socket (Linux reports
    them as `tcpi_unacked`, tcp(7)); 0 when it cannot say."""
    try:
        info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
    except OSError:
        return 0
    return int(_TCP_INFO.unpack_from(info)[-2]) if len(info) >= _TCP_INFO.size else 0


_TCP_INFO = struct.Struct("=8BIIIIII")
"""The head of `struct tcp_info`: eight bytes, then rto, ato, snd_mss, rcv_mss, unacked, sacked."""


def _discard(sock: socket.socket, scratch: memoryview) -> int:
    """Read and drop up to `len(scratch)` bytes; return how many (0: the client closed).

    On plain TCP, Linux drops them in the kernel (`MSG_TRUNC`, tcp(7)), without copying them
    to `scratch`: under a burst, the refused bodies already queued by their clients are most of
    what a worker reads. TLS records must be decrypted, so those are read into `scratch`."""
    if isinstance(sock, ssl.SSLSocket):
        return sock.recv_into(scratch)
    return sock.recv_into(scratch, len(scratch), socket.MSG_TRUNC)


def body_length(head: bytes, max_body: int) -> int | None:
    """Return the body length the headers announce (-1: chunked), or None for "let the parser
    decide now": conflicting or malformed framing, or a body over `max_body` (the app answers
    413 without reading it)."""
    length: int | None = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        name, value = name.strip().lower(), value.strip()
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return None
            length = int(value)
        elif name == b"transfer-encoding":
            if chunked or value.lower() != b"chunked":
                return None
            chunked = True
    if chunked:
        return None if length is not None else -1
    if length is not None and length > max_body:
        return None
    return length or 0


def json_error(status: int, reason: str, message: str) -> bytes:
    """Return a whole HTTP answer carrying the app's JSON error body; the connection closes.

    The reason phrase is the status code's own (gunicorn words a 501 "Bad Request").
    """
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        pass
    body = orjson.dumps({"error": reason.replace(" ", ""), "message": message or reason})
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Stand in for gunicorn's `util.write_error`, which writes an HTML page."""
    util.write_nonblock(sock, json_error(status_int, reason, mesg))


class BufferedConn(TConn):  # type: ignore[misc]
    """A connection whose request the event loop reads; the thread only parses and answers."""

    def __init__(self, cfg: Any, sock: Any, client: Any, server: Any, io_seconds: float) -> None:
        super().__init__(cfg, sock, client, server)
        self.io_seconds = io_seconds
        self.pending: PendingRequest | None = None
        self.ready = False
        self.reserved: bool | None = None
        """The in-flight slot decided when the headers came in (None: not decided)."""
        self.reserved_until = 0.0
        self.reserved_bytes = 0
        """The body length the slot was reserved for (`InFlight.reserve`)."""
        self.decided = False
        self.parked = False
        self.counted = False
        """Counted in the worker's `reserved_reading`."""
        self.handshaken = not isinstance(sock, ssl.SSLSocket)
        self.body: bytes | None = None
        """The body of the request handed to a thread, if read apart (`PendingRequest.take`)."""
        self.unread: int | None = None
        """Bytes of a refused call's body still to come, dropped after its 429 (`_linger`)."""
        self.linger_left = 0
        self.linger_until = 0.0
        self.quiet_until = 0.0

    def init(self) -> None:
        """Called by the thread before it parses: its reads and writes get a deadline."""
        self.initialized = True
        self.sock.settimeout(self.io_seconds)


class BufferingWorker(ThreadWorker):  # type: ignore[misc]
    """gthread's event loop and thread pool, with requests read whole by the loop (see above).

    `kubehooks serve` sets the three class attributes from `limits` (`hooks.serve`).
    """

    header_seconds = 5.0
    body_seconds = 20.0
    max_body_bytes = 16 * 1024 * 1024
    buffer_budget_bytes = 64 * 1024 * 1024
    """Past this many bytes buffered, only calls holding a reserved slot are read; the others
    wait (the kernel's buffers, then TCP, hold their senders back), so memory stays bounded."""
    in_flight: InFlight | None = None
    """The app's in-flight limit (`hooks.serve` sets it once the app is loaded)."""
    refusal: Callable[[bytes], bytes | None] | None = None
    """The app's whole 429 answer to a refused call's headers (`HookPath.refusal`), sent by
    the loop itself; None, or an answer of None, leaves the refusal to a thread."""
    peers: Peers | None = None
    """The load of the server's other workers (`hooks.peers`); None with a single worker."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # in gunicorn's master, before the fork
        self.peer_slot = self.peers.claim() if self.peers is not None else -1
        self.deferring = False
        """Whether this worker leaves new connections to an idle peer for now."""

    def handle(self, conn: BufferedConn) -> Any:
        """Answer one request in a thread, telling the app what its headers found (reserved or
        not), and giving back a reserved slot the call did not use (a 401, a 304, a 404)."""
        in_flight, reserved = self.in_flight, conn.reserved
        conn.reserved = None
        if in_flight is None or reserved is None:
            return super().handle(conn)
        in_flight.claim(reserved)
        try:
            return super().handle(conn)
        finally:
            if in_flight.unclaimed():
                in_flight.release(conn.reserved_bytes)

    def handle_request(self, req: Any, conn: BufferedConn) -> Any:
        """Answer one parsed request, its body read from memory (`PendingRequest.take`)."""
        if conn.body is not None:
            req.body, conn.body = io.BytesIO(conn.body), None  # shares the bytes: no copy
        return super().handle_request(req, conn)

    def init_process(self) -> None:
        self.reading: set[BufferedConn] = set()
        self.parked: deque[BufferedConn] = deque()
        self.buffered = 0
        """Bytes held by the requests being read."""
        self.reserved_reading = 0
        """Calls holding a reserved slot whose body is being read: refused bodies wait."""
        self.lingering: set[BufferedConn] = set()
        """Connections closed after their answer, drained until the client closes (`_linger`)."""
        self.quiet: dict[int, BufferedConn] = {}
        """Lingering connections left unread for now, by descriptor (`QUIET_SECONDS`)."""
        self.hangups = select.poll()
        self.scratch = memoryview(bytearray(DRAIN_BYTES))
        self.tls_context = gunicorn_sock.ssl_context(self.cfg) if self.cfg.is_ssl else None
        util.write_error = write_json_error
        sys.setswitchinterval(SWITCH_SECONDS)
        super().init_process()

    def accept(self, listener: socket.socket) -> None:
        """Accept one connection and start reading its first request in the loop (one at a
        time: a worker that took every waiting connection would leave the others idle), unless
        this worker is busy and another one idle: every worker is woken, and the idle one
        takes it (`hooks.peers`)."""
        if (
            self.peers is not None
            and self._load() > 0
            and self.alive
            and accept_queue(listener) <= DEFER_QUEUE
            and self.peers.idle_peer()
        ):
            self.deferring = True
            super().set_accept_enabled(False)
            return
        try:
            client, address = listener.accept()
        except OSError as err:
            if err.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        if self.in_flight is not None and accept_queue(listener) >= self.in_flight.limit:
            self._crowd_arrives(self.in_flight)  # more waiting than it may hold: a burst
        self._accepted(listener, client, address)

    def _crowd_arrives(self, in_flight: InFlight) -> None:
        """Admit large calls only while holding none (`InFlight.crowded`), and give back the
        slots of those still being read but one, so that no call waits through the burst's
        refusals for another: the first calls of a burst arrive just before it is seen."""
        in_flight.crowded()
        if in_flight.count < 2:
            return
        reading = [conn for conn in self.reading if conn.reserved and conn.pending is not None]
        reading.sort(key=lambda conn: len(conn.pending.buffer) if conn.pending else 0, reverse=True)
        # The one furthest along is kept, unless another call is past reading already.
        kept = 1 if in_flight.count == len(reading) else 0
        for conn in reading[kept:]:
            if conn.reserved_bytes >= LARGE_BYTES:
                in_flight.revoke(conn.reserved_bytes)
                self._uncount(conn)
                conn.reserved = False
                if not self._answer_refused(conn):
                    self._on_readable(conn, conn.sock)  # a thread answers the 429

    def _accepted(self, listener: socket.socket, client: socket.socket, address: Any) -> None:
        self.nr_conns += 1
        client.setblocking(False)
        sock: Any = client
        if self.tls_context is not None:
            sock = self.tls_context.wrap_socket(
                client,
                server_side=True,
                do_handshake_on_connect=False,
                suppress_ragged_eofs=self.cfg.suppress_ragged_eofs,
            )
        conn = BufferedConn(self.cfg, sock, address, listener.getsockname(), self.body_seconds)
        self._start_reading(conn)

    def enqueue_req(self, conn: BufferedConn) -> None:
        """Give a thread a request that is all in memory; read any other one first."""
        if conn.ready:
            conn.ready = False
            super().enqueue_req(conn)
        else:
            self._start_reading(conn)

    def set_accept_enabled(self, enabled: bool) -> None:
        """Keep accepting while stopping: the calls already queued on the listening socket are
        finished (and answered `Connection: close`) rather than reset when it closes. The worker
        exits once it holds no connection, or after `graceful_timeout`. Not while deferring to
        an idle peer (`accept`)."""
        if enabled and self.alive and self.deferring:
            return
        if enabled or self.alive:
            super().set_accept_enabled(enabled)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """One turn of the loop: first publish this worker's load, and stop deferring to its
        peers once none is idle or it has nothing left (looking every `DEFER_SECONDS`)."""
        if self.peers is not None:
            load = self._load()
            if self.deferring and (not self.alive or load == 0 or not self.peers.idle_peer()):
                self.deferring = False
                self.set_accept_enabled(self.nr_conns < self.worker_connections)
            self.peers.report(load, accepting=self._accepting)
            if self.deferring:
                timeout = min(timeout, DEFER_SECONDS)
        super().wait_for_and_dispatch_events(timeout)

    def _load(self) -> int:
        """Calls held (admitted and not yet answered), and requests being read."""
        return len(self.reading) + (self.in_flight.count if self.in_flight is not None else 0)

    def _report_held(self, held: int) -> None:
        """Publish this worker's load as soon as the calls it holds change (from any thread),
        so that a peer stops accepting the moment this worker becomes idle."""
        if self.peers is not None:
            self.peers.report(held + len(self.reading), accepting=self._accepting)

    def run(self) -> None:
        if self.peers is not None:
            self.peers.join(self.peer_slot)
            if self.in_flight is not None:
                self.in_flight.on_change = self._report_held
        try:
            super().run()
        finally:
            if self.peers is not None:
                self.peers.leave()

    def finish_request(self, conn: BufferedConn, fs: Any) -> None:
        """Keep a connection alive as gunicorn does, or close it without blocking (`_linger`)."""
        try:
            keep = not fs.cancelled() and fs.result()
        except Exception:
            keep = True  # gunicorn's own path logs nothing and closes at once
        if keep:
            super().finish_request(conn, fs)
        else:
            self._linger(conn)

    def _linger(self, conn: BufferedConn) -> None:
        """Close after the answer (RFC 9112 section 9.6): send FIN, then drop what the client
        still sends until it closes, so the kernel does not reset the connection (and the
        answer with it) over unread bytes. The rest of a refused body is dropped in full, if it
        comes in time: a client that reads only once it has written (Python's http.client)
        would otherwise see a reset instead of its 429."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
        except OSError:
            self._close(conn)
            return
        unread, conn.unread = conn.unread, None
        now = time.monotonic()
        conn.linger_left = LINGER_BYTES + (unread or 0)
        conn.linger_until = now + (self.body_seconds if unread else LINGER_SECONDS)
        self.lingering.add(conn)
        if unread:  # first wait, unread, for the client to close (see QUIET_SECONDS)
            conn.quiet_until = now + QUIET_SECONDS
            self.quiet[conn.sock.fileno()] = conn
            self.hangups.register(conn.sock.fileno(), select.POLLRDHUP)
            return
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_lingering, conn))

    def _hang_up_quiet(self, now: float) -> None:
        """Close the quiet connections whose clients closed; drain those still sending, or,
        past `DRAIN_AT_MOST` of them, reset them."""
        for fd, _event in self.hangups.poll(0):  # POLLRDHUP, POLLHUP or POLLERR
            self.hangups.unregister(fd)
            self._stop_lingering(self.quiet.pop(fd))
        for fd, conn in [(fd, conn) for fd, conn in self.quiet.items() if conn.quiet_until <= now]:
            self.hangups.unregister(fd)
            del self.quiet[fd]
            if len(self.lingering) > DRAIN_AT_MOST:
                self._reset(conn)
                continue
            on_ready = partial(self._on_lingering, conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, on_ready)

    def _on_lingering(self, conn: BufferedConn, _fileobj: object) -> None:
        if self.reserved_reading:
            self._park(conn)  # the bodies of admitted calls first
            return
        try:
            for _ in range(DRAIN_READS):
                read = _discard(conn.sock, self.scratch)
                conn.linger_left -= read
                if not read or conn.linger_left <= 0:
                    break
            else:
                return
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return
        except OSError:
            pass
        self._stop_lingering(conn)

    def _reset(self, conn: BufferedConn) -> None:
        """Close a refused call's connection with a reset: its client's kernel drops the rest
        of the body it queued, instead of sending it to be drained."""
        try:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        except OSError:
            pass
        self._stop_lingering(conn)

    def _stop_lingering(self, conn: BufferedConn) -> None:
        self.lingering.discard(conn)
        if self.quiet.pop(conn.sock.fileno(), None) is not None:
            self.hangups.unregister(conn.sock.fileno())
        self._forget(conn)
        self._close(conn)

    def _close(self, conn: BufferedConn) -> None:
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Answer 408 to, and close, the connections past their read deadline."""
        super().murder_pending()
        now = time.monotonic()
        self._hang_up_quiet(now)
        if not self.alive:  # stopping: no refused body is waited for past LINGER_SECONDS
            for conn in self.lingering:
                conn.linger_until = min(conn.linger_until, now + LINGER_SECONDS)
        for conn in [conn for conn in self.lingering if conn.linger_until <= now]:
            self._stop_lingering(conn)
        late = [conn for conn in self.reading if conn.pending and conn.pending.deadline <= now]
        for conn in self.reading:
            if conn.reserved and conn.reserved_until <= now and self.in_flight is not None:
                conn.reserved = None  # a body this slow loses its slot; the app decides later
                self.in_flight.release(conn.reserved_bytes)
                self._uncount(conn)
        self._unpark()
        for conn in late:
            if conn.handshaken and conn.pending is not None and conn.pending.started:
                message = "the request was not received in time"
                try:
                    conn.sock.send(json_error(408, "Request Timeout", message))
                except OSError:
                    self._drop(conn)
                    continue
                self._drop(conn, linger=True)  # a client still sending would reset the 408
            else:
                self._drop(conn)

    def _start_reading(self, conn: BufferedConn) -> None:
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.pending = PendingRequest(
            leftover, time.monotonic(), self.header_seconds, self.body_seconds, self.max_body_bytes
        )
        self.buffered += len(leftover)
        conn.sock.setblocking(False)
        self.reading.add(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        tls_buffered = isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending()
        if leftover or tls_buffered:
            self._on_readable(conn, conn.sock)

    def _on_readable(self, conn: BufferedConn, _fileobj: object) -> None:
        pending = conn.pending
        if pending is None:
            return
        try:
            if not conn.handshaken:
                conn.sock.do_handshake()
                conn.handshaken = True
            while not pending.complete(time.monotonic()):
                if pending.headers_in and pending.posts and not conn.decided:
                    if self._decide(conn):
                        return  # refused and answered by the loop; its body is dropped
                    continue  # a refused call is complete now: only its headers are kept
                if pending.awaits_continue and conn.reserved is not False:
                    pending.awaits_continue = False  # curl, for one, waits a second for it
                    conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
                refused = conn.reserved is False
                over_budget = self.buffered >= self.buffer_budget_bytes
                if over_budget and pending.headers_in and conn.reserved is None:
                    self._park(conn)
                    return
                if refused and self.reserved_reading:
                    self._park(conn)  # resumed once the admitted bodies are in
                    return
                data = conn.sock.recv(REFUSED_RECV_BYTES if refused else pending.wanted())
                if not data:
                    self._drop(conn)
                    return
                before = len(pending.buffer)
                pending.add(data)
                self.buffered += len(pending.buffer) - before
                if conn.reserved is False and not pending.complete(time.monotonic()):
                    return  # the body of a refused call is read a little at a time (see above)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return
        except OSError:
            self._drop(conn)
            return
        self._dispatch(conn)

    def _decide(self, conn: BufferedConn) -> bool:
        """Reserve an in-flight slot for a call whose headers are in, before reading its body;
        return whether the call was refused and answered here (see `refusal`)."""
        conn.decided = True
        if self.in_flight is None:
            return False
        conn.reserved_bytes = conn.pending.declared if conn.pending is not None else 0
        conn.reserved = self.in_flight.reserve(conn.reserved_bytes)
        conn.reserved_until = time.monotonic() + RESERVATION_SECONDS
        if conn.reserved:
            conn.counted = True
            self.reserved_reading += 1
        if conn.reserved is not False or conn.pending is None:
            return False
        return self._answer_refused(conn)

    def _answer_refused(self, conn: BufferedConn) -> bool:
        """Answer a refused call from its headers and drop its body; False when a thread must
        answer it instead (its body's length is unknown, or the kernel took part of the 429)."""
        assert conn.pending is not None
        before = len(conn.pending.buffer)
        conn.unread = conn.pending.refuse()
        self.buffered += len(conn.pending.buffer) - before
        answer = self.refusal(bytes(conn.pending.buffer)) if self.refusal else None
        if conn.unread is None or answer is None:
            return False
        try:
            if conn.sock.send(answer) == len(answer):
                self._forget(conn)
                conn.pending = None
                self._linger(conn)
                return True
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            pass
        except OSError:
            self._drop(conn)
            return True
        return False  # the kernel took part of it (never seen): a thread answers instead

    def _dispatch(self, conn: BufferedConn) -> None:
        """Hand a complete request (or one the parser must refuse) to the thread pool."""
        pending = conn.pending
        assert pending is not None
        self._forget(conn)
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        head, conn.body = pending.take()
        conn.parser.unreader.unread(head)
        conn.pending = None
        conn.decided = False
        conn.ready = conn.data_ready = True
        self.enqueue_req(conn)

    def _park(self, conn: BufferedConn) -> None:
        """Stop reading a connection until the buffers shrink (see `buffer_budget_bytes`)."""
        self.poller.unregister(conn.sock)
        conn.parked = True
        self.parked.append(conn)

    def _forget(self, conn: BufferedConn) -> None:
        """Stop reading a connection: its request was handed over, or it is closed."""
        self.reading.discard(conn)
        if conn.pending is not None:
            self.buffered -= len(conn.pending.buffer)
        if conn.parked:
            conn.parked = False
            self.parked.remove(conn)
        else:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        self._uncount(conn)
        self._unpark()

    def _uncount(self, conn: BufferedConn) -> None:
        if conn.counted:
            conn.counted = False
            self.reserved_reading -= 1

    def _unpark(self) -> None:
        """Read the parked connections again once the budget and the admitted bodies allow."""
        while self.parked and self.buffered < self.buffer_budget_bytes:
            waiting = self.parked[0]
            if self.reserved_reading and (waiting.reserved is False or waiting in self.lingering):
                return
            resumed = self.parked.popleft()
            resumed.parked = False
            on_ready = self._on_lingering if resumed in self.lingering else self._on_readable
            self.poller.register(resumed.sock, selectors.EVENT_READ, partial(on_ready, resumed))

    def _drop(self, conn: BufferedConn, *, linger: bool = False) -> None:
        """Stop reading a connection and close it (after an answer: `_linger`)."""
        self._forget(conn)
        if conn.reserved and self.in_flight is not None:
            self.in_flight.release(conn.reserved_bytes)
        conn.reserved = None
        conn.pending = None
        if linger:
            self._linger(conn)
        else:
            self._close(conn)
