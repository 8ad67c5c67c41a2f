"""The web UI over a fake cluster and a SQLite history: sign-in, session, CSRF, headers, tenancy,
the generated forms, actions, history and escaping (the real browser is in tests/cluster)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from hooks.api.aijob import AIJOB
from hooks.portal.history.store import HistoryStore
from hooks.portal.recorder import Recorder
from tests.portal.fakes import FakeCluster
from tests.portal.objects import aijob
from tests.portal.test_api import make_client

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(2)>'


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    """SQLite only: the pages are the same on every database (test_store.py covers those)."""
    opened = HistoryStore.open(f"sqlite:///{tmp_path / 'data' / 'history.sqlite3'}")
    try:
        yield opened
    finally:
        opened.engine.dispose()


@pytest.fixture
def web(tmp_path: Path, cluster: FakeCluster, store: HistoryStore) -> FlaskClient:
    return make_client(tmp_path, cluster, store)


def csrf(client: FlaskClient, url: str = "/signin") -> str:
    match = CSRF.search(client.get(url).text)
    assert match, f"no CSRF field on {url}"
    return match.group(1)


def sign_in(client: FlaskClient, token: str = "alice-token") -> None:
    answer = client.post("/signin", data={"csrf": csrf(client), "token": token, "next": "/"})
    assert answer.status_code == 303, answer.text


def record_all(cluster: FakeCluster, store: HistoryStore) -> None:
    recorder = Recorder([AIJOB], cluster, store)
    for event in cluster.watch(AIJOB, "0", timeout_seconds=1):
        recorder.consume(AIJOB, event)
    recorder.flush()


def test_pages_need_a_sign_in_and_the_session_cookie_is_guarded(web: FlaskClient) -> None:
    answer = web.get("/kinds/aijobs?phase=Running")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/signin?next=/kinds/aijobs?phase%3DRunning"
    refused = web.post("/signin", data={"csrf": csrf(web), "token": "nope"})
    assert refused.status_code == 401 and "unknown token" in refused.text
    for elsewhere in ("//x", "/\t/x", "/\\x", "https://x", "javascript:x"):
        data = {"csrf": csrf(web), "token": "alice-token", "next": elsewhere}
        answer = web.post("/signin", data=data)
        assert answer.status_code == 303 and answer.headers["Location"] == "/", elsewhere
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "alice-token" not in cookie
    page = web.get("/")
    assert page.status_code == 200 and "alice" in page.text and "alice-token" not in page.text


def test_the_session_cookie_is_secure_over_https(
    tmp_path: Path, cluster: FakeCluster, store: HistoryStore
) -> None:
    client = make_client(tmp_path, cluster, store)
    https = "https://portal.example"
    match = CSRF.search(client.get("/signin", base_url=https).text)
    assert match
    answer = client.post(
        "/signin", data={"csrf": match.group(1), "token": "alice-token"}, base_url=https
    )
    assert "Secure" in answer.headers["Set-Cookie"]


def test_every_post_needs_the_csrf_token_and_sign_out_ends_the_session(
    web: FlaskClient, cluster: FakeCluster
) -> None:
    assert web.post("/signin", data={"token": "alice-token"}).status_code == 400
    sign_in(web)
    cluster.put(AIJOB, aijob("train"))
    for url in (
        "/kinds/aijobs/new",
        "/kinds/aijobs/team-a/train/actions/suspend",
        "/kinds/aijobs/team-a/train/delete",
        "/signout",
    ):
        assert web.post(url, data={"csrf": "forged"}).status_code == 400, url
    assert cluster.writes == []
    assert web.post("/signout", data={"csrf": csrf(web, "/")}).status_code == 303
    assert web.get("/").status_code == 302


PAGES = [
    "/signin",
    "/",
    "/kinds/aijobs",
    "/kinds/aijobs/new",
    "/kinds/aijobs/team-a/train",
    "/kinds/aijobs/team-a/train/delete",
    "/history/aijobs",
    "/history/aijobs/uid-1",
    "/assets/portal.js",
    "/assets/portal.css",
    "/kinds/widgets",
]


def test_security_headers_on_every_ui_response(
    web: FlaskClient, cluster: FakeCluster, store: HistoryStore
) -> None:
    cluster.put(AIJOB, aijob("train", uid="uid-1"))
    record_all(cluster, store)
    sign_in(web)
    for url in PAGES:
        answer = web.get(url)
        assert answer.status_code in (200, 404), (url, answer.status_code)
        policy = answer.headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
        ):
            assert directive in policy, (url, directive)
        assert "unsafe" not in policy
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        text = answer.get_data(as_text=True)
        answer.close()
        if answer.mimetype == "text/html":
            assert "style=" not in text and "<script>" not in text, url
            assert " on" not in re.sub(r">[^<]*<", "><", text), url  # no event handler


def test_bob_sees_nothing_of_team_a(
    tmp_path: Path, cluster: FakeCluster, store: HistoryStore
) -> None:
    cluster.put(AIJOB, aijob("secret-job", uid="uid-secret", phase="Failed", reason="Oops"))
    cluster.put(AIJOB, aijob("bobs-job", namespace="team-b", uid="uid-bob"))
    record_all(cluster, store)
    bob = make_client(tmp_path, cluster, store)
    sign_in(bob, "bob-token")
    for url in ("/", "/kinds/aijobs", "/history/aijobs", "/kinds/aijobs/new"):
        page = bob.get(url)
        assert page.status_code == 200 and "secret-job" not in page.text, url
        assert "team-a" not in page.text, url
    assert "bobs-job" in bob.get("/kinds/aijobs").text
    for url in (
        "/kinds/aijobs/team-a/secret-job",
        "/kinds/aijobs/team-a/secret-job/delete",
        "/history/aijobs/uid-secret",
        "/kinds/aijobs?namespace=team-a",
        "/history/aijobs?namespace=team-a",
    ):
        assert bob.get(url).status_code == 404, url
    token = csrf(bob, "/")
    for url in (
        "/kinds/aijobs/team-a/secret-job/delete",
        "/kinds/aijobs/team-a/secret-job/actions/suspend",
    ):
        assert bob.post(url, data={"csrf": token}).status_code == 404, url
    created = bob.post(
        "/kinds/aijobs/new",
        data={"csrf": token, "namespace": "team-a", "name": "x", "spec.image": "t:1"},
    )
    assert created.status_code == 404
    assert cluster.writes == []


def test_every_served_kind_has_a_generated_create_form(web: FlaskClient) -> None:
    sign_in(web)
    kinds = re.findall(r'href="/kinds/([a-z]+)"', web.get("/").text)
    assert {"aijobs", "redismigrations", "staticsites"} <= set(kinds)
    for plural in set(kinds):
        page = web.get(f"/kinds/{plural}/new")
        assert page.status_code == 200, plural
        assert 'name="name"' in page.text and 'name="spec.' in page.text, plural
    aijob_form = web.get("/kinds/aijobs/new").text
    assert re.search(r'name="spec.workers" type="number" step="any" value="1"', aijob_form)
    assert "Worker Pods, ranks 0..n-1." in aijob_form  # the description, as help
    assert re.search(r"<legend>resources</legend>", aijob_form)  # a nested object: a fieldset


def test_create_shows_the_spec_models_errors_at_their_fields_then_creates(
    web: FlaskClient, cluster: FakeCluster
) -> None:
    sign_in(web)
    token = csrf(web, "/kinds/aijobs/new")
    form = {
        "csrf": token,
        "namespace": "team-a",
        "name": "train",
        "labels": "team=a",
        "spec.image": "trainer:1",
        "spec.workers": "0",
        "spec.env": "[{name: RANK, value: '1'}]",
    }
    refused = web.post("/kinds/aijobs/new", data=form)
    assert refused.status_code == 422
    errors = dict(re.findall(r'data-field="([^"]+)">([^<]+)<', refused.text))
    assert errors["spec.workers"] == "Input should be greater than or equal to 1"
    assert "set by the controller" in errors["spec.env"]
    assert 'value="trainer:1"' in refused.text  # what was typed stays
    unreadable = web.post("/kinds/aijobs/new", data={**form, "spec.args": "{unclosed"})
    errors = dict(re.findall(r'data-field="([^"]+)">([^<]+)<', unreadable.text))
    assert errors["spec.args"].startswith("not YAML or JSON")
    assert "spec.workers" in errors  # and the spec model's complaints, all at once
    assert cluster.writes == []
    form.update({"spec.workers": "2", "spec.env": "", "spec.gpusPerWorker": "1"})
    created = web.post("/kinds/aijobs/new", data=form)
    assert created.status_code == 303
    assert created.headers["Location"] == "/kinds/aijobs/team-a/train"
    stored = cluster.objects[("aijobs", "team-a", "train")]
    assert stored["spec"]["workers"] == 2 and stored["spec"]["gpusPerWorker"] == 1
    assert stored["metadata"]["labels"] == {"team": "a"}
    assert [(op, who.user) for op, _, who in cluster.writes] == [("create", "alice")]
    again = web.post("/kinds/aijobs/new", data=form)
    assert again.status_code == 409 and "already exists" in again.text


def test_actions_and_delete_with_a_confirmation_work_without_javascript(
    web: FlaskClient, cluster: FakeCluster
) -> None:
    cluster.put(AIJOB, aijob("train"))
    sign_in(web)
    page = web.get("/kinds/aijobs/team-a/train").text
    assert "Suspend" in page and "Resume" in page and "Delete" in page
    token = csrf(web, "/kinds/aijobs/team-a/train")
    web.post("/kinds/aijobs/team-a/train/actions/suspend", data={"csrf": token})
    assert cluster.objects[("aijobs", "team-a", "train")]["spec"]["suspend"] is True
    web.post("/kinds/aijobs/team-a/train/actions/resume", data={"csrf": token})
    assert cluster.objects[("aijobs", "team-a", "train")]["spec"]["suspend"] is False
    confirm = web.get("/kinds/aijobs/team-a/train/delete")
    assert confirm.status_code == 200 and "Delete AIJob team-a/train?" in confirm.text
    assert ("aijobs", "team-a", "train") in cluster.objects  # asking deletes nothing
    gone = web.post("/kinds/aijobs/team-a/train/delete", data={"csrf": token})
    assert gone.status_code == 303 and ("aijobs", "team-a", "train") not in cluster.objects
    assert "deleted AIJob team-a/train" in web.get(gone.headers["Location"]).text


def test_lists_filter_sort_and_page(web: FlaskClient, cluster: FakeCluster) -> None:
    for index in range(60):
        phase = "Running" if index % 3 == 0 else "Pending"
        labels = {"team": "x"} if index < 10 else {}
        cluster.put(AIJOB, aijob(f"job-{index:02d}", uid=f"u{index}", phase=phase, labels=labels))
    sign_in(web)

    def names(url: str) -> list[str]:
        return re.findall(r'<tr data-name="([^"]+)"', web.get(url).text)

    assert names("/kinds/aijobs")[:2] == ["job-00", "job-01"] and len(names("/kinds/aijobs")) == 50
    assert names("/kinds/aijobs?page=2") == [f"job-{i}" for i in range(50, 60)]
    assert names("/kinds/aijobs?sort=name&dir=desc")[0] == "job-59"
    assert names("/kinds/aijobs?phase=Running") == [f"job-{i:02d}" for i in range(0, 60, 3)]
    assert names("/kinds/aijobs?label=team%3Dx") == [f"job-{i:02d}" for i in range(10)]
    assert len(names("/kinds/aijobs?namespace=team-a")) == 50
    assert 'data-poll="2000"' in web.get("/kinds/aijobs").text  # live updates


def test_object_page_history_timeline_and_search(
    web: FlaskClient, cluster: FakeCluster, store: HistoryStore
) -> None:
    for phase, ready, reason, when in (
        ("Pending", "False", "JobCreating", "2026-01-01T00:00:10Z"),
        ("Running", "True", "Running", "2026-01-01T00:01:00Z"),
        ("Failed", "False", "JobFailed", "2026-01-01T00:05:00Z"),
    ):
        cluster.put(
            AIJOB,
            aijob(
                "train",
                uid="uid-1",
                phase=phase,
                ready=ready,
                reason=reason,
                transition=when,
                start="2026-01-01T00:01:00Z",
                completion="2026-01-01T00:05:00Z" if phase == "Failed" else None,
            ),
        )
    record_all(cluster, store)
    sign_in(web)
    page = web.get("/kinds/aijobs/team-a/train").text
    assert "<svg" in page and page.count('<g class="bar') == 3  # one bar per phase
    assert '<g class="bar fail failed">' in page and "✗ failed" in page
    assert "JobFailed message" in page and "GPU-hours" in page
    overview = web.get("/").text
    assert "JobFailed" in overview and "Recent failures" in overview
    history = web.get("/history/aijobs?phase=Failed").text
    assert 'data-name="train"' in history and "durations of 1 records" in history
    assert web.get("/history/aijobs/uid-1").status_code == 200


def test_every_user_string_is_escaped_on_every_page(
    web: FlaskClient, cluster: FakeCluster, store: HistoryStore
) -> None:
    evil = f"{SCRIPT}{ATTRIBUTE}"
    obj = aijob(
        "train",
        uid="uid-1",
        phase="Failed",
        ready="False",
        reason=evil,
        labels={"team": evil, evil: "x"},
        start="2026-01-01T00:01:00Z",
        completion="2026-01-01T00:05:00Z",
    )
    obj["status"]["conditions"][0]["message"] = evil
    obj["spec"]["command"] = [evil]
    cluster.put(AIJOB, obj)
    named = aijob(evil, uid="uid-2", phase=evil, labels={"a": evil})  # the fake takes any name
    cluster.put(AIJOB, named)
    record_all(cluster, store)
    sign_in(web)
    pages = [
        "/",
        "/kinds/aijobs",
        "/kinds/aijobs?label=team%3D" + evil,
        "/kinds/aijobs/team-a/train",
        "/kinds/aijobs/team-a/train/delete",
        "/history/aijobs",
        "/history/aijobs?phase=Failed",
        "/history/aijobs/uid-1",
        "/history/aijobs/uid-2",
        "/kinds/aijobs/new",
    ]
    for url in pages:
        text = web.get(url).text
        assert "<script>alert" not in text and "<img src=x" not in text, url
    listing = web.get("/kinds/aijobs").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing
    token = csrf(web, "/kinds/aijobs/new")
    refused = web.post(
        "/kinds/aijobs/new",
        data={"csrf": token, "namespace": "team-a", "name": evil, "spec.image": evil},
    )
    assert refused.status_code == 422
    assert "<script>alert" not in refused.text and "<img src=x" not in refused.text


def test_a_history_outage_leaves_the_pages_up(tmp_path: Path, cluster: FakeCluster) -> None:
    down = tmp_path / "not-a-dir"
    down.write_text("a file where the data directory should be")
    client = make_client(tmp_path, cluster, HistoryStore.lazy(f"sqlite:///{down / 'h.sqlite3'}"))
    cluster.put(AIJOB, aijob("train"))
    sign_in(client)
    assert client.get("/kinds/aijobs").status_code == 200
    for url in ("/", "/kinds/aijobs/team-a/train"):
        answer = client.get(url)
        assert answer.status_code == 200 and "history database is unavailable" in answer.text, url
    assert client.get("/history/aijobs").status_code == 503


def test_the_api_takes_no_session_and_the_ui_no_bearer_only_page(web: FlaskClient) -> None:
    sign_in(web)
    assert web.get("/api/v1/namespaces/team-a/aijobs").status_code == 401  # no CSRF-able API


def test_a_wheel_carries_the_templates_and_assets(tmp_path: Path) -> None:
    """The UI's files are package data: a wheel built from a copy of the sources has them all."""
    root = Path(__file__).parent.parent.parent
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, source / name)
    shutil.copytree(root / "hooks", source / "hooks", ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*command, "-w", str(tmp_path / "out"), str(source)], check=True)
    (wheel,) = (tmp_path / "out").glob("kubehooks-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    ui = root / "hooks" / "portal"
    wanted = [p for folder in ("templates", "static") for p in (ui / folder).rglob("*.*")]
    assert wanted and {str(p.relative_to(root)) for p in wanted} <= names


def test_no_asset_comes_from_elsewhere() -> None:
    """No CDN: clusters are often offline. Templates and assets name no other origin."""
    ui = Path(__file__).parent.parent.parent / "hooks" / "portal"
    for path in [*(ui / "templates").rglob("*.html"), *(ui / "static").rglob("*.*")]:
        text = path.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert "@import" not in text and "url(http" not in text, path


def test_a_plugin_kind_gets_the_same_pages(web: FlaskClient, cluster: FakeCluster) -> None:
    from hooks.registry import load_controllers
    from hooks.settings import Settings

    staticsite = load_controllers(Settings())["staticsite"].kind
    site = aijob("home", uid="uid-site", phase="Ready", ready="True", reason="Serving")
    site.update(apiVersion=staticsite.api_version, kind="StaticSite", spec={"replicas": 2})
    cluster.put(staticsite, site)
    sign_in(web)
    assert 'data-name="home"' in web.get("/kinds/staticsites").text
    page = web.get("/kinds/staticsites/team-a/home")
    assert page.status_code == 200 and "replicas: 2" in page.text
    assert "Workers and GPUs" not in page.text  # AIJob's own view only
    token = csrf(web, "/kinds/staticsites/new")
    created = web.post(
        "/kinds/staticsites/new",
        data={"csrf": token, "namespace": "team-a", "name": "blog", "spec.replicas": "3"},
    )
    assert created.status_code == 303
    assert cluster.objects[("staticsites", "team-a", "blog")]["spec"]["replicas"] == 3


def test_an_unexpected_error_is_a_page_not_a_trace(web: FlaskClient, cluster: FakeCluster) -> None:
    sign_in(web)
    cluster.put(AIJOB, aijob("train"))
    cluster.objects[("aijobs", "team-a", "train")]["status"] = "not a mapping"
    answer = web.get("/kinds/aijobs/team-a/train")
    assert answer.status_code == 500 and "internal error" in answer.text
    assert "Traceback" not in answer.text


def test_retry_of_a_failed_redis_migration_and_a_refused_one(
    web: FlaskClient, cluster: FakeCluster
) -> None:
    from hooks.api.redismigration import REDISMIGRATION
    from tests.portal.test_api import _migration

    failed = cluster.put(REDISMIGRATION, _migration("Failed"))
    sign_in(web)
    url = "/kinds/redismigrations/team-a/move"
    assert "Retry" in web.get(url).text and "Suspend" not in web.get(url).text
    token = csrf(web, url)
    answer = web.post(f"{url}/actions/retry", data={"csrf": token})
    assert answer.status_code == 303 and answer.headers["Location"] == url
    rerun = cluster.objects[("redismigrations", "team-a", "move")]
    assert rerun["metadata"]["uid"] != failed["metadata"]["uid"]
    assert "retry: done" in web.get(url).text
    again = web.post(f"{url}/actions/retry", data={"csrf": token})  # not failed any more
    assert "only a failed run can be retried" in web.get(again.headers["Location"]).text


def test_a_session_key_file_keeps_sessions_across_restarts(
    tmp_path: Path, cluster: FakeCluster, store: HistoryStore
) -> None:
    key = tmp_path / "session.key"
    key.write_bytes(b"k" * 40)
    first = make_client(tmp_path, cluster, store, sessionKeyFile=str(key))
    sign_in(first)
    cookie = first.get_cookie("kubehooks_portal")
    assert cookie is not None
    for key_file, signed_in in ((str(key), True), (None, False)):
        restarted = make_client(tmp_path, cluster, store, sessionKeyFile=key_file)
        restarted.set_cookie("kubehooks_portal", cookie.value)
        assert (restarted.get("/").status_code == 200) is signed_in
    key.write_bytes(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        make_client(tmp_path, cluster, store, sessionKeyFile=str(key))
