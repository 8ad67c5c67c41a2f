"""The compute child (`hooks.compute`): answers through shared memory or, when larger, through
the socket; re-raises what its function raised; and says when it is gone."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from hooks.compute import ComputeChild, ComputeChildGone


def _echo(message: Any, body: bytes) -> tuple[Any, bytes]:
    if message == "fail":
        raise ValueError("asked to fail")
    return (message, len(body), os.getpid()), body[::-1]


@pytest.fixture
def child() -> Iterator[ComputeChild]:
    started = ComputeChild(_echo, request_bytes=1024, answer_bytes=1024)
    yield started
    started.close()
    try:
        os.waitpid(started.pid, 0)  # it leaves once its socket is closed
    except ChildProcessError:
        pass  # reaped already (a killed child)


def test_bodies_go_through_shared_memory_or_the_socket_when_larger(child: ComputeChild) -> None:
    for size in (0, 10, 1024, 5000):  # 5000 bytes do not fit the 1024-byte areas
        body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        (message, length, pid), answer = child.call(("call", size), body)
        assert (message, length, answer) == (("call", size), size, body[::-1])
        assert pid == child.pid != os.getpid()


def test_what_the_function_raises_is_raised_by_the_caller(child: ComputeChild) -> None:
    with pytest.raises(ValueError, match="asked to fail"):
        child.call("fail", b"")
    assert child.call("again", b"ab")[1] == b"ba"  # the child lives on


def test_a_dead_child_is_reported_once_and_for_all(child: ComputeChild) -> None:
    os.kill(child.pid, signal.SIGKILL)
    with pytest.raises(ComputeChildGone):
        child.call("call", b"body")
    with pytest.raises(ComputeChildGone):
        child.call("call", b"body")
