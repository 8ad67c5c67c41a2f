"""The benchmark measures what it claims to: realistic input, the server's own path, fair rivals.

Speed itself is never asserted here (it is measured by `python -m bench`); these tests check
that the figures would be about the right thing.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import kubernetes_validate
import orjson
import pytest
from werkzeug.test import Client

from bench.floor import floor_app
from bench.inprocess import Scaling, ScalingPoint, core_answer, wsgi_caller
from bench.stdlib_hook import Controller
from bench.workload import (
    SCALING_NOW,
    Typical,
    podcluster_request,
    realistic_pod,
    typical,
    typical_requests,
)
from hooks.registry import bind_enabled
from hooks.settings import Settings
from tests.goldens import KUBERNETES_VERSION

TYPICAL = typical_requests()


def test_a_realistic_pod_is_a_valid_pod_of_six_to_seven_kilobytes() -> None:
    pod = realistic_pod(42)
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    assert 6000 <= len(orjson.dumps(pod)) <= 7500
    assert pod["status"]["phase"] == "Running" and pod["metadata"]["managedFields"]


@pytest.mark.parametrize("item", TYPICAL, ids=lambda item: item.controller)
def test_the_in_process_paths_answer_the_golden_response(item: Typical) -> None:
    settings = Settings.model_validate(item.config)
    bound = bind_enabled(settings)[item.controller]
    assert orjson.loads(core_answer(bound, item.body, settings, item.now)) == item.golden
    call = wsgi_caller(settings, item.controller, item.hook, item.body, item.now)
    assert orjson.loads(call()) == item.golden


def test_a_scaling_request_is_a_steady_podcluster_of_that_many_pods() -> None:
    raw = podcluster_request(12)
    settings = Settings()
    bound = bind_enabled(settings)["podcluster"]
    answer = orjson.loads(core_answer(bound, raw, settings, SCALING_NOW))
    assert [pod["metadata"]["name"] for pod in answer["children"]] == [
        f"bench-cluster-{i}" for i in range(12)
    ]
    assert answer["status"]["readyReplicas"] == answer["status"]["replicas"] == 12
    assert answer["status"]["conditions"][0]["status"] == "True"


def test_the_floor_reads_the_whole_body_and_answers_its_fixed_bytes() -> None:
    item = typical("application")
    answer = orjson.dumps(item.golden)
    response = Client(floor_app(answer)).post(
        "/application/sync", data=item.body, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.data == answer
    assert response.headers["Content-Length"] == str(len(answer))


class _QuietController(Controller):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stdlib_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _QuietController)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_stdlib_hook_computes_the_same_children_as_the_server(
    stdlib_server: HTTPServer,
) -> None:
    item = typical("application")
    connection = http.client.HTTPConnection("127.0.0.1", stdlib_server.server_address[1])
    try:
        connection.request("POST", "/application/sync", body=item.body)
        response = connection.getresponse()
        answer = orjson.loads(response.read())
    finally:
        connection.close()
    assert response.status == 200
    assert answer["children"] == item.golden["children"]
    assert [c["type"] for c in answer["status"]["conditions"]] == [
        c["type"] for c in item.golden["status"]["conditions"]
    ]


def _point(pods: int, total_us: float) -> ScalingPoint:
    return ScalingPoint(pods, pods * 6800, 0, 0, 0, 0, 0, total_us, 0, 0)


def test_linearity_is_judged_on_the_cost_per_extra_pod() -> None:
    linear = Scaling([_point(1, 100), _point(10, 1000), _point(100, 10_000), _point(1000, 99_000)])
    assert linear.linear
    assert linear.per_extra_pod(lambda p: p.total_us) == pytest.approx(98_900 / 999)
    worse = Scaling([_point(1, 100), _point(10, 1000), _point(100, 10_000), _point(1000, 200_000)])
    assert not worse.linear
    assert worse.linear_in(lambda p: p.pods * 3.0)


def test_the_https_comparison_serves_the_same_answer_over_tls(tmp_path: Path) -> None:
    from bench.servers import self_signed, start_kubehooks, wait_ready

    certificate = self_signed(tmp_path)
    if certificate is None:
        pytest.skip("openssl is not installed")
    item = typical("application")
    server = start_kubehooks(item.controller, tmp_path, tls=certificate)
    try:
        wait_ready([server])
        assert server.url.startswith("https://")
        status, answer = server.post(item.body)
    finally:
        server.stop()
    assert status == 200
    assert orjson.loads(answer)["children"] == item.golden["children"]
