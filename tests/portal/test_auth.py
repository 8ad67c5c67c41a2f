"""Who is asking: token.csv parsing, the three sources in order, namespaces per user."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks.cli import main
from hooks.portal.auth import (
    Authenticator,
    Identity,
    TokenFileError,
    impersonation_headers,
    parse_token_file,
    visible_namespaces,
)
from hooks.portal.config import Tenancy


def test_token_csv_as_kube_apiserver_writes_it() -> None:
    tokens = parse_token_file(
        '# comment\n\nt1,alice,1001,"team-a,ml"\nt2,bob,1002\n t3 , carol ,,\n'
    )
    assert tokens == {
        "t1": Identity("alice", ("team-a", "ml"), "1001"),
        "t2": Identity("bob", (), "1002"),
        "t3": Identity("carol", (), None),
    }


def test_a_token_without_a_user_is_refused() -> None:
    with pytest.raises(TokenFileError, match="line 1"):
        parse_token_file("lonely-token\n")


def test_bearer_wins_and_a_wrong_token_is_nobody() -> None:
    auth = Authenticator({"t1": Identity("alice")}, frozenset({"10.0.0.1"}), dev=True)
    proxy = {"X-Forwarded-User": "mallory", "X-Debug-Username": "eve"}
    assert auth.identify({"Authorization": "Bearer t1", **proxy}, "10.0.0.1") == Identity("alice")
    assert auth.identify({"Authorization": "Bearer nope", **proxy}, "10.0.0.1") is None
    assert auth.identify(proxy, "10.0.0.1") == Identity("mallory")
    assert auth.identify(proxy, "10.0.0.2") == Identity("eve")
    assert Authenticator({}).identify(proxy, "10.0.0.2") is None


def test_namespaces_from_user_and_groups_and_star_is_all() -> None:
    tenancy = Tenancy(users={"alice": ("a",)}, groups={"ml": ("b",), "admins": ("*",)})
    assert visible_namespaces(Identity("alice", ("ml",)), tenancy) == frozenset({"a", "b"})
    assert visible_namespaces(Identity("zed"), tenancy) == frozenset()
    assert visible_namespaces(Identity("root", ("admins",)), tenancy) is None


def test_one_impersonate_group_header_per_group() -> None:
    assert impersonation_headers(Identity("alice", ("a", "b"), "7")) == [
        ("Impersonate-User", "alice"),
        ("Impersonate-Group", "a"),
        ("Impersonate-Group", "b"),
        ("Impersonate-Uid", "7"),
    ]


def test_portal_config_mistakes_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "portal.yaml"
    config.write_text("port: 99999\ndatabseUrl: x\n")
    assert main(["portal", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "port" in err and "databseUrl: unknown key" in err
    config.write_text(f"tokenFile: {tmp_path / 'missing.csv'}\n")
    assert main(["portal", "--config", str(config)]) == 2
    assert "missing.csv" in capsys.readouterr().err
    (tmp_path / "kubeconfig").write_text("{}\n")
    config.write_text(f"kubeconfig: {tmp_path / 'kubeconfig'}\ndataDir: {tmp_path / 'data'}\n")
    assert main(["portal", "--config", str(config)]) == 2
    assert "cannot load the kubeconfig" in capsys.readouterr().err
