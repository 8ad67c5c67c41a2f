"""ETag and 304, the in-flight limit and 429, readiness, request ids, metrics and log lines."""

from __future__ import annotations

import copy
import json
import logging
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

import hooks.registry as registry
import hooks.server
from hooks.contract import SyncResponse
from hooks.edge import Etags, InFlight, etag_matches
from hooks.logs import HOOK_LOGGER
from hooks.registry import bind_enabled
from hooks.serve import _post_worker_init, gunicorn_options
from hooks.server import create_app
from hooks.settings import ControllerConfig, Limits, Settings, TlsConfig
from tests.goldens import FIXTURES

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)


def _app(settings: Settings | None = None) -> Flask:
    return create_app(settings or Settings(), clock=lambda: NOW, environ={})


def _request(controller: str = "foo", case: str = "steady-state") -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / controller / case / "request.json").read_text())
    return body


# ETag ----------------------------------------------------------------------------------------


def test_a_200_carries_an_etag_and_the_same_request_gets_304_without_a_body() -> None:
    client = _app().test_client()
    first = client.post("/foo/sync", json=_request())
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 34
    again = client.post("/foo/sync", json=_request(), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag


def test_a_304_skips_parsing_and_the_controller(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _app().test_client()
    etag = client.post("/foo/sync", json=_request()).headers["ETag"]

    def must_not_parse(*args: Any) -> Any:
        raise AssertionError("a matching If-None-Match must not parse the body")

    monkeypatch.setattr(hooks.server, "parse_json", must_not_parse)
    response = client.post("/foo/sync", json=_request(), headers={"If-None-Match": etag})
    assert response.status_code == 304


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2]", b'{"children": {}}', b'{"parent": {"spec": 5}}']
)
def test_a_tag_computed_by_a_client_for_a_body_never_answered_gets_no_304(raw: bytes) -> None:
    # The salt is public: anyone can compute the tag of any body, one that does not parse too.
    settings = Settings()
    forged = Etags(settings, bind_enabled(settings)).of("foo", "sync", raw)
    assert forged is not None
    response = (
        _app(settings)
        .test_client()
        .post(
            "/foo/sync",
            data=raw,
            content_type="application/json",
            headers={"If-None-Match": forged},
        )
    )
    assert response.status_code == 400
    assert response.get_json()["error"] in ("InvalidJSON", "InvalidRequest")


def test_a_request_never_answered_in_this_process_is_answered_in_full_first() -> None:
    settings = Settings()
    raw = json.dumps(_request()).encode()
    tag = Etags(settings, bind_enabled(settings)).of("foo", "sync", raw)
    client = _app(settings).test_client()
    first = client.post(
        "/foo/sync", data=raw, content_type="application/json", headers={"If-None-Match": tag}
    )
    assert (first.status_code, first.headers["ETag"]) == (200, tag)
    again = client.post(
        "/foo/sync", data=raw, content_type="application/json", headers={"If-None-Match": tag}
    )
    assert again.status_code == 304


def test_the_memory_of_answered_tags_is_bounded_and_drops_the_least_recently_used() -> None:
    settings = Settings()
    etags = Etags(settings, bind_enabled(settings), remembered=2)
    for tag in ('"a"', '"b"', '"c"'):
        etags.answered(tag)
    assert [etags.was_answered(tag) for tag in ('"a"', '"b"', '"c"')] == [False, True, True]
    etags.was_answered('"b"')  # used: "c" is now the oldest
    etags.answered('"d"')
    assert [etags.was_answered(tag) for tag in ('"b"', '"c"', '"d"')] == [True, False, True]


def test_a_changed_request_gets_a_fresh_answer_and_etag() -> None:
    client = _app().test_client()
    etag = client.post("/foo/sync", json=_request()).headers["ETag"]
    changed = _request()
    changed["parent"]["metadata"]["resourceVersion"] = "9999"
    response = client.post("/foo/sync", json=changed, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert response.get_json()["children"]


def test_etag_depends_on_route_and_settings() -> None:
    body = _request()
    plain = _app().test_client()
    assert (
        plain.post("/foo/sync", json=body).headers["ETag"]
        != plain.post("/foo/finalize", json=body).headers["ETag"]
    )
    configured = _app(Settings(controllers={"foo": ControllerConfig(default_image="x:1")}))
    assert (
        plain.post("/foo/sync", json=body).headers["ETag"]
        != configured.test_client().post("/foo/sync", json=body).headers["ETag"]
    )


def test_etag_is_identical_across_server_instances() -> None:
    body = _request()
    first = _app().test_client().post("/foo/sync", json=body).headers["ETag"]
    second = _app().test_client().post("/foo/sync", json=body).headers["ETag"]
    assert first == second


@pytest.mark.parametrize(
    "header,matches",
    [
        pytest.param('"abc"', True, id="exact"),
        pytest.param('W/"abc"', True, id="weak"),
        pytest.param('"x", "abc"', True, id="list"),
        pytest.param('"abcd"', False, id="other"),
        pytest.param("abc", False, id="unquoted"),
        pytest.param("*", False, id="star"),
        pytest.param("", False, id="empty"),
    ],
)
def test_if_none_match_parsing(header: str, matches: bool) -> None:
    assert etag_matches(header, '"abc"') is matches


def test_a_controller_with_periodic_resync_gets_no_etag() -> None:
    settings = Settings(controllers={"foo": ControllerConfig(resync_period_seconds=60)})
    client = _app(settings).test_client()
    first = client.post("/foo/sync", json=_request())
    assert first.status_code == 200 and "ETag" not in first.headers
    plain_etag = _app().test_client().post("/foo/sync", json=_request()).headers["ETag"]
    again = client.post("/foo/sync", json=_request(), headers={"If-None-Match": plain_etag})
    assert again.status_code == 200


def test_an_answer_asking_for_a_resync_gets_no_etag(monkeypatch: pytest.MonkeyPatch) -> None:
    foo = registry.CONTROLLERS["foo"]

    def timed(request: Any) -> SyncResponse:
        response = foo.sync(request)
        return response.model_copy(update={"resyncAfterSeconds": 30})

    monkeypatch.setitem(
        registry.CONTROLLERS, "foo", foo.__class__(**{**foo.__dict__, "sync": timed})
    )
    response = _app().test_client().post("/foo/sync", json=_request())
    assert response.status_code == 200
    assert response.get_json()["resyncAfterSeconds"] == 30
    assert "ETag" not in response.headers


def test_etags_can_be_turned_off_and_errors_never_carry_one() -> None:
    off = _app(Settings(etag=False)).test_client()
    assert "ETag" not in off.post("/foo/sync", json=_request()).headers
    on = _app().test_client()
    bad = on.post("/foo/sync", data=b"{", content_type="application/json")
    assert bad.status_code == 400 and "ETag" not in bad.headers


# In-flight limit -----------------------------------------------------------------------------


def test_over_the_in_flight_limit_is_429_with_retry_after() -> None:
    app = _app(Settings(limits=Limits(max_in_flight=2, retry_after_seconds=3)))
    client = app.test_client()
    in_flight: InFlight = app.extensions["kubehooks"]["in_flight"]
    assert in_flight.enter() and in_flight.enter()
    response = client.post("/foo/sync", json=_request())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.get_json()["error"] == "TooManyRequests"
    assert client.get("/healthz").status_code == 200
    in_flight.leave()
    assert client.post("/foo/sync", json=_request()).status_code == 200
    assert in_flight.count == 1


def test_a_slot_is_given_back_when_the_controller_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    foo = registry.CONTROLLERS["foo"]

    def broken(request: Any) -> SyncResponse:
        raise RuntimeError("boom")

    monkeypatch.setitem(
        registry.CONTROLLERS, "foo", foo.__class__(**{**foo.__dict__, "sync": broken})
    )
    app = _app(Settings(limits=Limits(max_in_flight=1)))
    client = app.test_client()
    for _ in range(3):
        assert client.post("/foo/sync", json=_request()).status_code == 500
    assert app.extensions["kubehooks"]["in_flight"].count == 0


def test_a_304_is_answered_even_at_the_limit() -> None:
    app = _app(Settings(limits=Limits(max_in_flight=1)))
    client = app.test_client()
    etag = client.post("/foo/sync", json=_request()).headers["ETag"]
    assert app.extensions["kubehooks"]["in_flight"].enter()
    assert client.post("/foo/sync", json=_request()).status_code == 429
    cached = client.post("/foo/sync", json=_request(), headers={"If-None-Match": etag})
    assert cached.status_code == 304


def test_in_flight_counter_is_exact_under_threads() -> None:
    limit = InFlight(1000)
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for _ in range(2000):
            assert limit.enter()
            limit.leave()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limit.count == 0


# Readiness and gunicorn wiring ---------------------------------------------------------------


def test_readyz_is_ready_once_configured_and_503_while_stopping() -> None:
    app = _app()
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    app.extensions["kubehooks"]["readiness"].stopping()
    stopping = client.get("/readyz")
    assert stopping.status_code == 503
    assert stopping.get_json()["status"] == "stopping"
    assert client.get("/healthz").status_code == 200
    assert client.post("/foo/sync", json=_request()).status_code == 200


@pytest.fixture
def restore_sigterm() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_in_a_worker_flips_readyz_then_runs_gunicorns_handler(
    restore_sigterm: None,
) -> None:
    app = _app()
    heard: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: heard.append(signum))
    _post_worker_init(SimpleNamespace(wsgi=app))
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler)
    handler(signal.SIGTERM, None)
    assert heard == [signal.SIGTERM]
    assert app.test_client().get("/readyz").status_code == 503


def test_gunicorn_options_threads_deadlines_tls_and_mutual_tls() -> None:
    from hooks.worker import BufferingWorker

    options = gunicorn_options("127.0.0.1", 1, 2)
    assert issubclass(options["worker_class"], BufferingWorker) and options["threads"] == 64
    assert options["graceful_timeout"] > 0 and "certfile" not in options
    limits = Limits(header_timeout_seconds=2, body_timeout_seconds=7, max_body_bytes=4096)
    worker = gunicorn_options("127.0.0.1", 1, 2, threads=4, limits=limits)["worker_class"]
    assert (worker.header_seconds, worker.body_seconds, worker.max_body_bytes) == (2, 7, 4096)
    with pytest.raises(ValueError, match="at least 2"):
        gunicorn_options("127.0.0.1", 1, 2, threads=1)
    tls = TlsConfig(cert_file="c.pem", key_file="k.pem", client_ca_file="ca.pem")
    secure = gunicorn_options("127.0.0.1", 1, 2, tls=tls)
    assert (secure["certfile"], secure["keyfile"], secure["ca_certs"]) == (
        "c.pem",
        "k.pem",
        "ca.pem",
    )
    import ssl

    assert secure["cert_reqs"] == ssl.CERT_REQUIRED


def test_tls_needs_a_certificate_and_its_key() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="both"):
        TlsConfig(cert_file="c.pem")
    with pytest.raises(ValidationError, match="mutual"):
        TlsConfig(client_ca_file="ca.pem")


# Request ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given,kept",
    [
        pytest.param("abc-123", True, id="sane"),
        pytest.param("x" * 129, False, id="too-long"),
        pytest.param("a b", False, id="space"),
        pytest.param('a"}{', False, id="json-breaking"),
    ],
)
def test_request_id_is_echoed_only_when_sane(given: str, kept: bool) -> None:
    response = (
        _app().test_client().post("/foo/sync", json=_request(), headers={"X-Request-Id": given})
    )
    assert (response.headers["X-Request-Id"] == given) is kept
    assert len(response.headers["X-Request-Id"]) <= 128


# Logs ----------------------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def hook_log() -> Iterator[_Records]:
    handler = _Records()
    logger = logging.getLogger(HOOK_LOGGER)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_one_json_log_line_per_hook_call(hook_log: _Records) -> None:
    client = _app().test_client()
    client.post("/foo/sync", json=_request(), headers={"X-Request-Id": "req-1"}, buffered=True)
    (record,) = hook_log.records
    from hooks.logs import JsonFormatter

    line = json.loads(JsonFormatter().format(record))
    meta = _request()["parent"]["metadata"]
    assert line["controller"] == "foo" and line["hook"] == "sync"
    assert (line["namespace"], line["name"], line["uid"], line["generation"]) == (
        meta["namespace"],
        meta["name"],
        meta["uid"],
        meta["generation"],
    )
    assert line["status"] == 200 and line["result"] == "OK"
    assert line["requestId"] == "req-1" and line["children"] == 1
    assert line["durationMs"] >= 0 and line["level"] == "INFO"


def test_log_result_names_spec_errors_and_http_errors(hook_log: _Records) -> None:
    client = _app().test_client()
    bad = _request()
    bad["parent"]["spec"]["replicas"] = 99
    client.post("/foo/sync", json=bad, buffered=True)
    client.post("/foo/sync", data=b"{", content_type="application/json", buffered=True)
    client.post("/nope/sync", json=_request(), buffered=True)
    results = [record.fields["result"] for record in hook_log.records]  # type: ignore[attr-defined]
    assert results == ["InvalidSpec", "InvalidJSON", "NotFound"]


def test_log_level_comes_from_the_config(hook_log: _Records) -> None:
    try:
        client = _app(Settings(log_level="WARNING")).test_client()
        client.post("/foo/sync", json=_request(), buffered=True)
        assert hook_log.records == []
    finally:
        logging.getLogger("kubehooks").setLevel("INFO")


# Metrics -------------------------------------------------------------------------------------


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name + "{"):
            continue
        inside = line[len(name) + 1 : line.index("}")]
        found = dict(part.split("=", 1) for part in inside.split(","))
        if all(found.get(key) == f'"{value}"' for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_calls_latency_errors_spec_errors_and_children() -> None:
    app = _app(Settings(limits=Limits(max_in_flight=1)))
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    request = _request("podcluster", "steady-state")
    client.post("/podcluster/sync", json=request, buffered=True)
    bad = copy.deepcopy(request)
    bad["parent"]["spec"]["podReplicas"] = -1
    client.post("/podcluster/sync", json=bad, buffered=True)
    client.post("/podcluster/sync", data=b"[", content_type="application/json", buffered=True)
    app.extensions["kubehooks"]["in_flight"].enter()
    client.post("/podcluster/sync", json=request, buffered=True)
    client.post("/made-up/sync", json=request, buffered=True)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    after = response.get_data(as_text=True)

    def delta(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    pods = len(request["children"]["Pod.v1"])
    assert delta("kubehooks_requests_total", controller="podcluster", code="200") == 2
    assert delta("kubehooks_requests_total", controller="podcluster", code="400") == 1
    assert delta("kubehooks_requests_total", controller="podcluster", code="429") == 1
    assert delta("kubehooks_requests_total", controller="unknown", hook="unknown") == 1
    assert delta("kubehooks_request_duration_seconds_count", controller="podcluster") == 4
    assert (
        delta("kubehooks_request_duration_seconds_bucket", controller="podcluster", le="+Inf") == 4
    )
    assert delta("kubehooks_errors_total", controller="podcluster", error="InvalidJSON") == 1
    assert delta("kubehooks_errors_total", controller="podcluster", error="TooManyRequests") == 1
    assert delta("kubehooks_spec_errors_total", controller="podcluster", reason="InvalidSpec") == 1
    assert delta("kubehooks_children_emitted_total", controller="podcluster") == 2 * pods


def _pod_cluster_request(pods: int) -> bytes:
    """A PodCluster sync observing `pods` Pods, well over GcPause.LARGE for a few dozen."""
    from bench.workload import podcluster_request

    return podcluster_request(pods)


def test_a_large_request_is_freed_after_its_answer_is_sent_then_the_collector_resumes() -> None:
    import gc
    import weakref

    from hooks.edge import GcPause

    raw = _pod_cluster_request(20)
    assert len(raw) >= GcPause.LARGE
    kept: list[weakref.ref[Any]] = []
    original = hooks.server.parse_json

    class Probe:
        """Lives as long as the parsed request that carries it."""

    def spying_parse_json(body: bytes, limits: Limits) -> dict[str, Any]:
        parsed = original(body, limits)
        parsed["probe"] = probe = Probe()
        kept.append(weakref.ref(probe))
        return parsed

    client = create_app(Settings()).test_client()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hooks.server, "parse_json", spying_parse_json)
        response = client.post("/podcluster/sync", data=raw, content_type="application/json")
    try:
        assert response.status_code == 200
        assert len(response.get_json()["children"]) == 20
        # Answered, and not yet closed by the server: the request is alive, the collector paused.
        assert kept[0]() is not None
        assert not gc.isenabled()
    finally:
        response.close()
    assert kept[0]() is None
    assert gc.isenabled()


def test_a_small_request_never_pauses_the_collector() -> None:
    import gc

    client = create_app(Settings()).test_client()
    raw = (FIXTURES / "foo" / "steady-state" / "request.json").read_bytes()
    response = client.post("/foo/sync", data=raw, content_type="application/json")
    assert response.status_code == 200
    assert gc.isenabled()
    response.close()


def test_the_in_flight_limit_is_shared_by_the_workers_and_leaves_a_thread_free() -> None:
    from hooks.edge import in_flight_limit

    assert in_flight_limit(Limits()) == 64
    assert in_flight_limit(Limits(max_in_flight=4), workers=2, threads=16) == 2
    assert in_flight_limit(Limits(max_in_flight=5), workers=2, threads=16) == 3
    assert in_flight_limit(Limits(), workers=2, threads=16) == 15
    assert in_flight_limit(Limits(max_in_flight=1), workers=4, threads=2) == 1


def test_calls_held_in_turn_compute_one_at_a_time_in_arrival_order() -> None:
    limit = InFlight(3)
    limit.take_turns()
    assert limit.enter()  # the first computes at once
    order: list[int] = []

    def call(index: int) -> None:
        assert limit.enter()
        order.append(index)
        limit.leave()

    second = threading.Thread(target=call, args=(1,))
    second.start()
    while limit.count < 2:
        threading.Event().wait(0.001)
    third = threading.Thread(target=call, args=(2,))
    third.start()
    while limit.count < 3:
        threading.Event().wait(0.001)
    assert not limit.enter()  # three held: one computing, two waiting for their turn
    assert order == []
    limit.leave()
    second.join(timeout=5)
    third.join(timeout=5)
    assert order == [1, 2] and limit.count == 0
    assert limit.enter()


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_large_call_is_admitted_only_if_its_turn_comes_within_a_share_of_its_own_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counting slots alone let every admitted call of a burst wait a whole computation for
    the one ahead (p99 5x unloaded, issue 13): while calls are refused, a large call waits
    WAIT_SHARE of its own at most."""
    from hooks import inflight
    from hooks.inflight import LARGE_BYTES, OVERLOAD_SECONDS, WAIT_SHARE

    clock = _Clock()
    monkeypatch.setattr(inflight.time, "monotonic", clock)
    limit = InFlight(4)
    limit.take_turns()
    held: list[int] = []
    limit.on_change = held.append
    size = 100 * LARGE_BYTES
    assert limit.reserve(size) and limit.reserve(size)  # nothing measured yet: slots only
    for _ in range(2):
        limit.claim(True)
        assert limit.enter(size)
        clock.now += 0.1  # 0.1 s of work: the rate every call below is judged by
        limit.leave()
    assert held == [1, 2, 1, 0]
    assert limit.reserve(size)
    limit.claim(True)
    assert limit.enter(size)  # computing from now until about now + 0.1
    assert limit.reserve(size)  # no call refused lately: it waits its turn (not Retry-After)
    limit.release(size)
    assert limit.reserve(1) and limit.reserve(1) and limit.reserve(1)
    assert not limit.reserve(1)  # over the count: refused, and now the server is overloaded
    for _ in range(3):
        limit.release(1)
    assert not limit.reserve(size)  # would wait 0.1 s, more than its share of its 0.1 s
    assert limit.reserve(LARGE_BYTES - 1)  # a small call is held by count alone
    limit.release(LARGE_BYTES - 1)
    clock.now += 0.1 * (1 - WAIT_SHARE) + 0.001
    assert limit.reserve(size)  # the current one is nearly done: this one's body comes in
    assert not limit.reserve(size)  # ... and a third would wait for both
    limit.release(size)
    assert limit.reserve(size)  # a released reservation no longer counts as work ahead
    assert limit.count == 2
    clock.now += OVERLOAD_SECONDS
    limit.leave()
    assert limit.reserve(size)  # no refusal for a second: turns are waited for again


def test_after_a_crowd_at_the_door_a_large_call_is_admitted_only_by_an_idle_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A burst's first calls were computed while it was being refused, and each one that
    waited for another took both their times, stretched (3-5x unloaded, issue 13)."""
    from hooks import inflight
    from hooks.inflight import CROWD_SECONDS, LARGE_BYTES

    clock = _Clock()
    monkeypatch.setattr(inflight.time, "monotonic", clock)
    limit = InFlight(4)
    limit.take_turns()
    size = 100 * LARGE_BYTES
    limit.crowded()
    assert limit.reserve(size)  # holding none: admitted
    assert not limit.reserve(size)  # holding one: refused, though a slot is free
    assert limit.reserve(LARGE_BYTES - 1)  # a small call is held by count alone
    limit.release(LARGE_BYTES - 1)
    limit.release(size)
    assert limit.reserve(size)  # holding none again
    clock.now += CROWD_SECONDS
    assert limit.count == 1
    limit.claim(True)
    assert limit.enter(size)  # computing; nothing measured yet, so no expected wait
    assert limit.reserve(size)  # the crowd is over: a slot is enough again
    assert limit.count == 2


def test_retry_after_spreads_the_callers_refused_together_over_the_work_they_bring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Metacontroller requeues a refused parent after exactly Retry-After: a burst refused
    together came back together every second, a wave refused again each time (issue 13)."""
    from hooks import inflight
    from hooks.inflight import SPREAD_PER_REFUSED_SECOND

    clock = _Clock()
    monkeypatch.setattr(inflight.time, "monotonic", clock)
    limit = InFlight(1)
    assert limit.retry_after(2, 30, draw=lambda: 0.999) == 2  # nothing refused: the least
    assert limit.enter()
    clock.now += 0.125  # a call takes an eighth of a second
    limit.leave()
    assert limit.enter()
    assert not limit.enter()  # one refusal: an eighth of a second of work
    assert limit.retry_after(2, 30, draw=lambda: 0.999) == 2
    for _ in range(19):
        assert not limit.enter()  # twenty refused in this second: 2.5 seconds of work
    spread = int(SPREAD_PER_REFUSED_SECOND * 20 * 0.125)
    assert spread > 1
    assert limit.retry_after(2, 60, draw=lambda: 0.0) == 2
    assert limit.retry_after(2, 60, draw=lambda: 0.999) == 2 + spread
    assert limit.retry_after(2, 60, draw=lambda: 0.5) == 2 + int(0.5 * (spread + 1))
    assert limit.retry_after(2, 10, draw=lambda: 0.999) == 10  # never past the most
    assert limit.retry_after(12, 10, draw=lambda: 0.999) == 12  # ... nor under the least
    clock.now += 1.0
    assert limit.retry_after(2, 60, draw=lambda: 0.999) == 2  # a second later: calm again


def test_gunicorns_own_log_lines_are_json(capsys: pytest.CaptureFixture[str]) -> None:
    from gunicorn.config import Config

    from hooks.serve import JsonGunicornLogger

    config = Config()
    for key, value in gunicorn_options("127.0.0.1", 1, 1).items():
        if value is not None and key in config.settings:
            config.set(key, value)
    logger = JsonGunicornLogger(config)
    logger.warning("Worker (pid:%s) was sent SIGKILL! Perhaps out of memory?", 123)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "gunicorn.error"
    assert entry["message"] == "Worker (pid:123) was sent SIGKILL! Perhaps out of memory?"


def test_a_hook_calls_line_is_the_same_with_or_without_a_log_record() -> None:
    import io

    from hooks.logs import JsonStreamHandler, log_hook_call

    root = logging.getLogger("kubehooks")
    saved = (root.handlers[:], root.propagate, root.level)
    stream = io.StringIO()
    handler = JsonStreamHandler(stream)
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(logging.INFO)
    call: dict[str, Any] = {
        "controller": "foo",
        "hook": "sync",
        "parent": {"metadata": {"name": "a", "namespace": "ns", "uid": "u-1", "generation": 4}},
        "status": 200,
        "seconds": 0.0012345,
        "request_id": "req-9",
        "children": 1,
        "result": "OK",
    }
    try:
        log_hook_call(**call)  # the production setup: written without a LogRecord
        seen: list[logging.LogRecord] = []
        handler.addFilter(lambda record: seen.append(record) or True)  # now through logging
        log_hook_call(**call)
        log_hook_call(**{**call, "status": 500, "result": "InternalError"})
    finally:
        root.handlers[:], root.propagate = saved[0], saved[1]
        root.setLevel(saved[2])
    direct, recorded, failed = (json.loads(line) for line in stream.getvalue().splitlines())
    assert len(seen) == 2
    assert direct.pop("time") and recorded.pop("time")
    assert direct == recorded
    assert direct["message"] == "hook call" and direct["level"] == "INFO"
    assert direct["durationMs"] == 1.234 and direct["requestId"] == "req-9"
    assert failed["level"] == "ERROR" and failed["result"] == "InternalError"


def test_serve_makes_the_workers_calls_take_turns(restore_sigterm: None) -> None:
    app = _app(Settings(limits=Limits(max_in_flight=2)))
    _post_worker_init(SimpleNamespace(wsgi=app))
    in_flight: InFlight = app.extensions["kubehooks"]["in_flight"]
    assert in_flight.enter()
    waiting = threading.Thread(target=in_flight.enter)
    waiting.start()
    waiting.join(timeout=0.2)
    assert waiting.is_alive()  # the second call waits for the first to finish
    in_flight.leave()
    waiting.join(timeout=5)
    assert not waiting.is_alive() and in_flight.count == 1
