"""Authentication: bearer token and basic auth as Metacontroller sends them, 401 without detail."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

import hooks.auth
from hooks.auth import Credentials, load_credentials
from hooks.server import create_app
from hooks.settings import AuthConfig, Settings, SettingsError, load_settings
from tests.goldens import FIXTURES

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
TOKEN = "0123456789abcdef-token"
REQUEST = json.loads((FIXTURES / "foo" / "steady-state" / "request.json").read_text())


def _client(settings: Settings | None = None, environ: dict[str, str] | None = None) -> FlaskClient:
    app = create_app(settings or Settings(), clock=lambda: NOW, environ=environ or {})
    return app.test_client()


def _bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _refused(response: Any) -> None:
    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized", "message": "authentication required"}


@pytest.fixture
def token_client() -> FlaskClient:
    return _client(environ={"KUBEHOOKS_BEARER_TOKEN": TOKEN})


def test_without_credentials_configured_hooks_are_open() -> None:
    assert _client().post("/foo/sync", json=REQUEST).status_code == 200


def test_missing_token_is_401(token_client: FlaskClient) -> None:
    response = token_client.post("/foo/sync", json=REQUEST)
    _refused(response)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="kubehooks"'


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(f"Bearer {TOKEN}x", id="longer"),
        pytest.param(f"Bearer {TOKEN[:-1]}", id="shorter"),
        pytest.param("Bearer " + "0" * len(TOKEN), id="same-length"),
        pytest.param("Bearer", id="no-token"),
        pytest.param(f"Token {TOKEN}", id="other-scheme"),
        pytest.param(f"Basic {TOKEN}", id="basic-scheme"),
        pytest.param(TOKEN, id="no-scheme"),
        pytest.param("Bearer tökén", id="not-ascii"),
    ],
)
def test_wrong_token_is_401_without_saying_why(token_client: FlaskClient, header: str) -> None:
    response = token_client.post("/foo/sync", json=REQUEST, headers={"Authorization": header})
    _refused(response)


def test_right_token_is_answered(token_client: FlaskClient) -> None:
    response = token_client.post("/foo/sync", json=REQUEST, headers=_bearer())
    assert response.status_code == 200
    assert response.get_json()["children"][0]["kind"] == "Deployment"


def test_scheme_is_case_insensitive_and_spaces_are_trimmed(token_client: FlaskClient) -> None:
    headers = {"Authorization": f"  bearer   {TOKEN} "}
    assert token_client.post("/foo/sync", json=REQUEST, headers=headers).status_code == 200


def test_every_hook_and_unknown_routes_need_credentials(token_client: FlaskClient) -> None:
    for path in ("/foo/finalize", "/foo/customize", "/nope/sync", "/foo/nope", "/nothing"):
        _refused(token_client.post(path, json=REQUEST))


def test_probes_openapi_and_metrics_stay_open(token_client: FlaskClient) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json", "/metrics"):
        assert token_client.get(path).status_code == 200, path


def test_metrics_can_require_the_credentials() -> None:
    settings = Settings(auth=AuthConfig(protect_metrics=True))
    client = _client(settings, {"KUBEHOOKS_BEARER_TOKEN": TOKEN})
    _refused(client.get("/metrics"))
    assert client.get("/metrics", headers=_bearer()).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_one_constant_time_comparison_per_request(
    token_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hooks.auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hooks.auth.hmac, "compare_digest", spy)
    token_client.post("/foo/sync", json=REQUEST, headers=_bearer("wrong"))
    token_client.post("/foo/sync", json=REQUEST, headers=_bearer())
    assert calls == [(b"wrong", TOKEN.encode()), (TOKEN.encode(), TOKEN.encode())]


def test_token_file_is_read_and_trimmed_as_metacontroller_trims_it(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}\n")
    settings = Settings(auth=AuthConfig(bearer_token_file=str(token_file)))
    client = _client(settings, {"KUBEHOOKS_BEARER_TOKEN": "env-is-ignored"})
    assert client.post("/foo/sync", json=REQUEST, headers=_bearer()).status_code == 200
    _refused(client.post("/foo/sync", json=REQUEST, headers=_bearer("env-is-ignored")))


def _basic_auth_settings(tmp_path: Path, passwords: str) -> Settings:
    """Return settings reading user `metacontroller` and these passwords from files."""
    (tmp_path / "username").write_text("metacontroller\n")
    (tmp_path / "password").write_text(passwords)
    return Settings(
        auth=AuthConfig(
            basic_auth_username_file=str(tmp_path / "username"),
            basic_auth_password_file=str(tmp_path / "password"),
        )
    )


def test_basic_auth_from_files(tmp_path: Path) -> None:
    client = _client(_basic_auth_settings(tmp_path, "pa:ss wörd\n"))
    ok = client.post("/foo/sync", json=REQUEST, headers=_basic("metacontroller", "pa:ss wörd"))
    assert ok.status_code == 200
    wrong = client.post("/foo/sync", json=REQUEST, headers=_basic("metacontroller", "pa:ss"))
    _refused(wrong)
    assert wrong.headers["WWW-Authenticate"].startswith("Basic ")
    _refused(client.post("/foo/sync", json=REQUEST, headers=_bearer("pa:ss wörd")))


def test_bearer_and_basic_may_both_be_accepted() -> None:
    client = _client(
        environ={
            "KUBEHOOKS_BEARER_TOKEN": TOKEN,
            "KUBEHOOKS_BASIC_AUTH_USERNAME": "user",
            "KUBEHOOKS_BASIC_AUTH_PASSWORD": "secret",
        }
    )
    assert client.post("/foo/sync", json=REQUEST, headers=_bearer()).status_code == 200
    assert (
        client.post("/foo/sync", json=REQUEST, headers=_basic("user", "secret")).status_code == 200
    )
    _refused(client.post("/foo/sync", json=REQUEST, headers=_basic("user", TOKEN)))


@pytest.mark.parametrize(
    "environ,problem",
    [
        pytest.param({"KUBEHOOKS_BEARER_TOKEN": "  "}, "empty", id="empty-token"),
        pytest.param({"KUBEHOOKS_BASIC_AUTH_USERNAME": "user"}, "both", id="user-without-password"),
        pytest.param(
            {"KUBEHOOKS_BASIC_AUTH_USERNAME": "a:b", "KUBEHOOKS_BASIC_AUTH_PASSWORD": "c"},
            "':'",
            id="colon-in-user",
        ),
    ],
)
def test_unusable_credentials_refuse_to_start(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        load_credentials(AuthConfig(), environ)


def test_a_missing_or_empty_secret_file_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_credentials(AuthConfig(bearer_token_file=str(tmp_path / "absent")), {})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SettingsError, match="empty"):
        load_credentials(AuthConfig(bearer_token_file=str(tmp_path / "empty")), {})
    with pytest.raises(SettingsError):
        create_app(Settings(auth=AuthConfig(bearer_token_file=str(tmp_path / "empty"))))


def test_the_config_file_cannot_hold_a_secret(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"auth:\n  bearerToken: {TOKEN}\n")
    with pytest.raises(SettingsError, match="bearerToken"):
        load_settings(config)


def test_credentials_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEHOOKS_BEARER_TOKEN", TOKEN)
    client = create_app(Settings()).test_client()
    _refused(client.post("/foo/sync", json=REQUEST))
    assert client.post("/foo/sync", json=REQUEST, headers=_bearer()).status_code == 200


def test_no_credentials_means_no_challenge() -> None:
    assert not Credentials().enabled
    assert not Credentials().accepts(f"Bearer {TOKEN}")


OLD_TOKEN = "old-0123456789abcdef"
NEW_TOKEN = "new-fedcba9876543210"


def _server_with_token_file(path: Path, content: str) -> FlaskClient:
    """Start a server on a token file, as a restarted Pod reads its mounted Secret key."""
    path.write_text(content)
    return _client(Settings(auth=AuthConfig(bearer_token_file=str(path))))


def test_a_token_rotation_overlaps_then_refuses_the_old_token(tmp_path: Path) -> None:
    accepted = tmp_path / "accepted-tokens"
    before = _server_with_token_file(accepted, f"{OLD_TOKEN}\n")
    assert before.post("/foo/sync", json=REQUEST, headers=_bearer(OLD_TOKEN)).status_code == 200
    _refused(before.post("/foo/sync", json=REQUEST, headers=_bearer(NEW_TOKEN)))

    # While Metacontroller still sends the old token and then switches to the new one.
    overlap = _server_with_token_file(accepted, f"{OLD_TOKEN}\n  {NEW_TOKEN} \n\n")
    for token in (OLD_TOKEN, NEW_TOKEN):
        assert overlap.post("/foo/sync", json=REQUEST, headers=_bearer(token)).status_code == 200
    _refused(overlap.post("/foo/sync", json=REQUEST, headers=_bearer(f"{OLD_TOKEN} {NEW_TOKEN}")))
    _refused(overlap.post("/foo/sync", json=REQUEST, headers=_bearer("wrong")))

    after = _server_with_token_file(accepted, f"{NEW_TOKEN}\n")
    _refused(after.post("/foo/sync", json=REQUEST, headers=_bearer(OLD_TOKEN)))
    assert after.post("/foo/sync", json=REQUEST, headers=_bearer(NEW_TOKEN)).status_code == 200


def test_every_accepted_token_is_compared_even_after_a_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _server_with_token_file(tmp_path / "tokens", f"{OLD_TOKEN}\n{NEW_TOKEN}\n")
    calls: list[tuple[bytes, bytes]] = []
    real = hooks.auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hooks.auth.hmac, "compare_digest", spy)
    assert client.post("/foo/sync", json=REQUEST, headers=_bearer(OLD_TOKEN)).status_code == 200
    old, new = OLD_TOKEN.encode(), NEW_TOKEN.encode()
    assert calls == [(old, old), (old, new)]


def test_basic_auth_passwords_rotate_with_overlap(tmp_path: Path) -> None:
    settings = _basic_auth_settings(tmp_path, "old-password\nnew-password\n")
    client = _client(settings)
    for password in ("old-password", "new-password"):
        headers = _basic("metacontroller", password)
        assert client.post("/foo/sync", json=REQUEST, headers=headers).status_code == 200
    _refused(client.post("/foo/sync", json=REQUEST, headers=_basic("metacontroller", "other")))
    (tmp_path / "username").write_text("one\ntwo\n")
    with pytest.raises(SettingsError, match="one user name"):
        load_credentials(settings.auth, {})
