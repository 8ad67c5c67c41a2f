"""The worker's framing rules (is a buffered request whole?) and the reservation of slots."""

from __future__ import annotations

import json

import pytest

from hooks.edge import InFlight
from hooks.worker import PendingRequest, body_length, json_error

HEAD = b"POST /foo/sync HTTP/1.1\r\nHost: x\r\n"


def _pending(data: bytes = b"") -> PendingRequest:
    return PendingRequest(data, 0.0, header_seconds=5, body_seconds=20, max_body=1000)


@pytest.mark.parametrize(
    ("head", "length"),
    [
        (HEAD, 0),
        (HEAD + b"Content-Length: 12", 12),
        (HEAD + b"transfer-encoding: Chunked", -1),
        (HEAD + b"Content-Length: 1\r\nContent-Length: 1", None),
        (HEAD + b"Content-Length: -1", None),
        (HEAD + b"Transfer-Encoding: xchunked", None),
        (HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 5", None),
        (HEAD + b"Content-Length: 1001", None),
    ],
)
def test_the_framing_is_read_or_left_to_the_parser(head: bytes, length: int | None) -> None:
    assert body_length(head, max_body=1000) == length


def test_a_request_is_whole_once_its_declared_body_is_in() -> None:
    pending = _pending(HEAD)
    assert not pending.complete(1.0) and pending.deadline == 5.0
    pending.add(b"Content-Length: 4\r\n\r\nab")
    assert not pending.complete(2.0) and pending.headers_in and pending.posts
    assert pending.deadline == 22.0  # the body deadline starts when the headers are in
    pending.add(b"cd")
    assert pending.complete(3.0)


def test_a_chunked_body_is_whole_after_its_last_chunk_and_trailers() -> None:
    pending = _pending(HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    assert not pending.complete(0.0)
    pending.add(b"2;ext=1\r\nde\r\n0\r\n")
    assert not pending.complete(0.0)
    pending.add(b"X-Trailer: 1\r\n\r\n")
    assert pending.complete(0.0)
    assert _pending(HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n").complete(0.0)


def test_headers_that_never_end_are_handed_to_the_parser_past_the_limit() -> None:
    pending = _pending(HEAD)
    for _ in range(200):
        pending.add(b"X-Filler: " + b"a" * 8000 + b"\r\n")
    assert pending.complete(0.0)


def test_gunicorns_errors_are_json_with_the_status_codes_own_phrase() -> None:
    answer = json_error(501, "Bad Request", "Unsupported transfer coding: 'xchunked'")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 501 Not Implemented\r\n")
    assert json.loads(body) == {
        "error": "NotImplemented",
        "message": "Unsupported transfer coding: 'xchunked'",
    }


def test_a_slot_reserved_at_the_headers_is_used_by_the_call_or_given_back() -> None:
    limit = InFlight(1)
    assert limit.reserve() and not limit.reserve()
    limit.claim(True)
    assert limit.enter() and limit.count == 1  # the reserved slot, not a second one
    limit.leave()
    assert limit.count == 0
    limit.claim(False)  # the headers found every slot taken: refused even if one is free now
    assert not limit.enter() and limit.count == 0
    assert limit.reserve()
    limit.claim(True)
    assert limit.unclaimed() is True  # no call entered (a 401, a 304): the worker releases it
    limit.release()
    assert limit.count == 0 and limit.unclaimed() is None


def test_a_client_waiting_for_100_continue_is_told_to_send_its_body() -> None:
    pending = _pending(HEAD + b"Content-Length: 4\r\nExpect: 100-Continue\r\n\r\n")
    assert not pending.complete(0.0) and pending.awaits_continue
    assert not _pending(HEAD + b"Expect: 100-continue\r\n\r\n").awaits_continue  # no body


def test_a_body_of_known_length_is_handed_apart_and_what_follows_it_stays_with_the_headers() -> (
    None
):
    head = HEAD + b"Content-Length: 4\r\n\r\n"
    following = HEAD + b"Content-Length: 2\r\n\r\n{}"  # pipelined by the client
    pending = _pending(head + b"abcd" + following)
    assert pending.complete(0.0)
    assert pending.take() == (head + following, b"abcd")
    chunked = HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
    pending = _pending(chunked)
    assert pending.complete(0.0)
    assert pending.take() == (chunked, None)  # gunicorn's parser reads chunked bodies
    bodiless = HEAD + b"\r\n"
    pending = _pending(bodiless)
    assert pending.complete(0.0)
    assert pending.take() == (bodiless, None)


def test_a_refused_call_keeps_only_its_headers_which_say_it_has_no_body_and_closes() -> None:
    head = (
        HEAD + b"Content-Length: 6\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n"
    )
    pending = _pending(head + b"\r\nab")
    assert not pending.complete(0.0)
    assert pending.refuse() == 4  # the rest of the body, dropped after the 429
    assert pending.complete(0.0)
    assert bytes(pending.buffer) == (
        HEAD + b"Content-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    chunked = _pending(HEAD + b"Transfer-Encoding: chunked\r\n\r\n4\r\nab")
    assert not chunked.complete(0.0)
    assert chunked.refuse() is None  # unknown length: read and answered as usual
