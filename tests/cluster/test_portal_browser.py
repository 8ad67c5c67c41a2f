"""The portal's web UI in a real headless Chromium, against the real kube-apiserver, with the
TEST HARNESS playing Metacontroller for the aijob hooks and tests/cluster/world.py playing the
Job controller: sign in, create an AIJob with the form (an invalid value first), follow it
Pending -> Running -> Succeeded without reloading, suspend and resume, delete it behind the
confirmation page and find it in the history; and a user of namespace B sees nothing of A.

Screenshots (overview, list, object page, create form) go to the test's tmp folder and, when
$PORTAL_SCREENSHOTS names a folder, there too (docs/images/ holds two of them).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from hooks.portal.app import build_portal, create_portal
from hooks.portal.config import PortalSettings
from hooks.portal.history.store import HistoryStore
from hooks.portal.recorder import Recorder
from tests.cluster.apiserver import LocalCluster
from tests.cluster.artefacts import CrdInstall
from tests.cluster.browser import BrowserMissing, chromium
from tests.cluster.harness import Metacontroller
from tests.cluster.kube import ApiError, Kube
from tests.cluster.test_portal import grant, real_cluster
from tests.cluster.world import job_succeeds, settle
from tests.servers import free_port

pytestmark = pytest.mark.cluster

TEAM_A = "ui-team-a"
TEAM_B = "ui-team-b"
JOB = "ui-train"
WAIT_MS = 20_000


@pytest.fixture
def portal_url(
    cluster: LocalCluster, kube: Kube, crds: dict[str, CrdInstall], tmp_path: Path
) -> Iterator[str]:
    """The portal (UI and recorder) on a loopback port, over the real cluster and SQLite."""
    assert crds["aijob.yaml"].established
    for namespace, group in ((TEAM_A, "team-a-devs"), (TEAM_B, "team-b-devs")):
        kube.ensure_namespace(namespace)
        grant(kube, namespace, group)
    tokens = tmp_path / "token.csv"
    tokens.write_text('alice-token,alice,1001,"team-a-devs"\nbob-token,bob,1002,"team-b-devs"\n')
    settings = PortalSettings.model_validate(
        {
            "tokenFile": str(tokens),
            "tenancy": {"groups": {"team-a-devs": [TEAM_A], "team-b-devs": [TEAM_B]}},
        }
    )
    store = HistoryStore.open(f"sqlite:///{tmp_path / 'data' / 'history.sqlite3'}")
    real = real_cluster(cluster)
    portal = build_portal(settings, real, store, dev=False)
    recorder = Recorder(portal.kinds.values(), real, store)
    recorder.run()
    server = make_server("127.0.0.1", free_port(), create_portal(portal), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        recorder.stop()
        store.engine.dispose()


@pytest.fixture
def browser() -> Iterator[Callable[[], Any]]:
    """Open a fresh browser profile per user, at 1280x800; all closed at the end."""
    try:
        with chromium() as open_context:

            def open_one() -> Any:
                context = open_context(viewport={"width": 1280, "height": 800})
                context.set_default_timeout(WAIT_MS)
                return context

            yield open_one
    except BrowserMissing as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture
def screenshots(tmp_path: Path) -> Callable[[Any, str], Path]:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    extra = os.environ.get("PORTAL_SCREENSHOTS")

    def shoot(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(extra) / path.name)
        return path

    return shoot


def sign_in(context: Any, url: str, token: str) -> Any:
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.kubehooks_problems = problems  # the console's errors: CSP refusals, script errors
    page.goto(f"{url}/")
    assert "/signin" in page.url, "an anonymous visit is sent to the sign-in page"
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")
    assert token not in page.content() and token not in page.url
    return page


def sync(harness: Metacontroller, kube: Kube) -> None:
    """One settled round of the aijob controller, as Metacontroller and the Job controller."""
    harness.sync_until_stable(TEAM_A, JOB, before=lambda k: settle(k, TEAM_A))


def phase_of(kube: Kube) -> str | None:
    aijobs = kube.resource("kubehooks.dev/v1alpha1", kind="AIJob")
    found = kube.get_or_none(aijobs, TEAM_A, JOB)
    return ((found or {}).get("status") or {}).get("phase")


def failed_beside(kube: Kube) -> None:
    """Another AIJob of the namespace that failed (its status written as the controller would)."""
    created = kube.create(
        {
            "apiVersion": "kubehooks.dev/v1alpha1",
            "kind": "AIJob",
            "metadata": {"name": "ui-failed", "namespace": TEAM_A, "labels": {"team": "a"}},
            "spec": {"image": "trainer:2", "workers": 4, "gpusPerWorker": 2},
        }
    )
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    message = "Job ui-failed failed (BackoffLimitExceeded); 7 worker Pod(s) failed"
    created["status"] = {
        "phase": "Failed",
        "startTime": now,
        "completionTime": now,
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "BackoffLimitExceeded",
                "message": message,
                "lastTransitionTime": now,
            }
        ],
    }
    kube.update(created, sub="status")


def mark_page(page: Any) -> None:
    """Leave a mark in the page's window: a reload would wipe it."""
    page.evaluate("window.kubehooksMark = 'not reloaded'")


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("window.kubehooksMark") == "not reloaded", "the page was reloaded"


def test_a_user_follows_an_aijob_in_the_browser(
    portal_url: str,
    harness_for: Callable[[str], Metacontroller],
    kube: Kube,
    browser: Callable[[], Any],
    screenshots: Callable[[Any, str], Path],
) -> None:
    began = time.monotonic()
    aijob_harness = harness_for("aijob")
    aijobs = kube.resource("kubehooks.dev/v1alpha1", kind="AIJob")
    kube.create(
        {
            "apiVersion": "kubehooks.dev/v1alpha1",
            "kind": "AIJob",
            "metadata": {"name": "b-secret", "namespace": TEAM_B},
            "spec": {"image": "trainer:1"},
        }
    )
    try:
        alice = sign_in(browser(), portal_url, "alice-token")
        # Keyboard: the first Tab reaches the skip link, and every control is a real one.
        alice.keyboard.press("Tab")
        assert alice.evaluate("document.activeElement.textContent") == "Skip to content"

        # Create with the generated form: an invalid value first, shown at its field.
        alice.goto(f"{portal_url}/kinds/aijobs/new")
        assert alice.locator("#f-spec-workers").input_value() == "1"  # default
        alice.locator("#f-namespace").select_option(TEAM_A)
        alice.locator("#f-name").fill(JOB)
        alice.get_by_label("labels").fill("team=a")
        alice.get_by_label("image").fill("trainer:1")  # labels are real <label>s
        alice.locator("#f-spec-workers").fill("0")
        alice.locator("#f-spec-gpusPerWorker").fill("1")
        alice.get_by_role("button", name="Create AIJob").click()
        error = alice.locator('p.error[data-field="spec.workers"]')
        error.wait_for()
        assert error.inner_text() == "Input should be greater than or equal to 1"
        assert alice.locator("#f-spec-image").input_value() == "trainer:1"
        screenshots(alice, "create-form")
        alice.locator("#f-spec-workers").fill("2")
        alice.get_by_role("button", name="Create AIJob").click()
        alice.wait_for_url(f"{portal_url}/kinds/aijobs/{TEAM_A}/{JOB}")

        # Listed as Pending once the controller has made its Job.
        aijob_harness.sync(TEAM_A, JOB).check()
        assert phase_of(kube) == "Pending"
        alice.goto(f"{portal_url}/kinds/aijobs")
        row = alice.locator(f'tr[data-name="{JOB}"]')
        row.and_(alice.locator('[data-phase="Pending"]')).wait_for(timeout=WAIT_MS)
        mark_page(alice)

        # Running, then Succeeded: the open list and the open object page follow, unreloaded.
        sync(aijob_harness, kube)
        assert phase_of(kube) == "Running"
        row.and_(alice.locator('[data-phase="Running"]')).wait_for(timeout=WAIT_MS)
        assert_not_reloaded(alice)
        failed_beside(kube)
        alice.locator('tr[data-name="ui-failed"][data-phase="Failed"]').wait_for()
        screenshots(alice, "list")
        alice.goto(f"{portal_url}/")
        alice.get_by_text("BackoffLimitExceeded").first.wait_for()  # a recent failure's reason
        assert "b-secret" not in alice.content()
        screenshots(alice, "overview")

        alice.get_by_role("link", name=JOB, exact=True).click()
        alice.wait_for_url(f"{portal_url}/kinds/aijobs/{TEAM_A}/{JOB}")
        alice.locator("#timeline svg").wait_for(timeout=WAIT_MS)
        mark_page(alice)
        job_succeeds(JOB)(kube, TEAM_A)
        aijob_harness.sync_until_stable(TEAM_A, JOB)
        assert phase_of(kube) == "Succeeded"
        alice.locator("#phase .phase.ok").wait_for(timeout=WAIT_MS)
        alice.locator("#timeline g.bar.ok").wait_for(timeout=WAIT_MS)
        assert_not_reloaded(alice)
        bars = alice.locator("#timeline g.bar text.label").all_text_contents()
        assert bars[-2:] == ["Running", "Succeeded"], bars
        assert "Job" in alice.locator("#children").inner_text()
        screenshots(alice, "object")

        # Suspend and resume: plain forms, the page comes back with the new spec.
        alice.get_by_role("button", name="Suspend").click()
        alice.wait_for_load_state()
        assert alice.locator("#suspend").inner_text() == "yes"
        alice.get_by_role("button", name="Resume").click()
        alice.wait_for_load_state()
        assert alice.locator("#suspend").inner_text() == "no"

        # Delete behind a confirmation page, then find it in the history.
        alice.get_by_role("link", name="Delete…").click()
        alice.get_by_role("heading", name=f"Delete AIJob {TEAM_A}/{JOB}?").wait_for()
        alice.get_by_role("button", name=f"Delete {JOB}").click()
        alice.wait_for_url(f"{portal_url}/kinds/aijobs")
        deadline = time.monotonic() + 30
        while kube.get_or_none(aijobs, TEAM_A, JOB) is not None:
            try:
                aijob_harness.sync(TEAM_A, JOB)  # the finalize hook lets it go
            except (ApiError, AssertionError):
                pass
            assert time.monotonic() < deadline, "the AIJob was not deleted"
            time.sleep(0.2)
        history = f"{portal_url}/history/aijobs?namespace={TEAM_A}"
        deadline = time.monotonic() + 30
        while True:
            alice.goto(history)
            record = alice.locator(f'#records tr[data-name="{JOB}"]')
            if record.count() and record.locator("td").nth(6).inner_text().strip():
                break
            assert time.monotonic() < deadline, "the deletion never reached the history"
            time.sleep(0.5)
        assert "Succeeded" in record.inner_text()
        # Dark mode follows the system's preference.
        alice.emulate_media(color_scheme="dark")
        background = alice.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)", background

        # A phone's width: no page scrolls sideways (wide tables scroll in their own box).
        alice.set_viewport_size({"width": 390, "height": 844})
        for path in (
            "/",
            "/kinds/aijobs",
            f"/kinds/aijobs/{TEAM_A}/ui-failed",
            "/kinds/aijobs/new",
            f"/history/aijobs?namespace={TEAM_A}",
        ):
            alice.goto(f"{portal_url}{path}")
            width = alice.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)

        # Nothing was refused by the CSP, no script failed, no asset was missing (the one
        # answer that was not 2xx/3xx is the form refused with 422).
        refused_form = "the server responded with a status of 422"
        assert [p for p in alice.kubehooks_problems if refused_form not in p] == []

        # Bob, of namespace B, sees nothing of namespace A.
        bob = sign_in(browser(), portal_url, "bob-token")
        for path in ("/", "/kinds/aijobs", "/history/aijobs"):
            bob.goto(f"{portal_url}{path}")
            text = bob.content()
            assert JOB not in text and TEAM_A not in text, path
        bob.goto(f"{portal_url}/kinds/aijobs")
        assert "b-secret" in bob.content()
        for path in (
            f"/kinds/aijobs/{TEAM_A}/{JOB}",
            f"/kinds/aijobs?namespace={TEAM_A}",
            f"/history/aijobs?namespace={TEAM_A}",
        ):
            answer = bob.goto(f"{portal_url}{path}")
            assert answer is not None and answer.status == 404, path
    finally:
        print(f"\nbrowser story: {time.monotonic() - began:.1f} s")
        for namespace in (TEAM_A, TEAM_B):
            for obj in kube.list(aijobs, namespace):
                obj["metadata"]["finalizers"] = []
                try:
                    kube.update(obj)
                    kube.delete(aijobs, namespace, obj["metadata"]["name"])
                except ApiError:
                    pass
