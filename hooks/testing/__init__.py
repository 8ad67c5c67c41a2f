"""The test kit: what kubehooks' own tests use, for any operator written with `hooks.sdk`.

- golden cases (`discover_cases`, `assert_golden`, and `--update-goldens` from the pytest
  plugin `hooks.testing.plugin`, registered under the `pytest11` entry point);
- `render()` and the request builders (`parent`, `observe`, `sync_request`);
- `validate_children()` against the Kubernetes OpenAPI schemas (needs kubernetes-validate);
- `spec_strategy()` (needs hypothesis) and the property checks every controller keeps;
- `check_crd_matches()`, the CRD drift check.

Like `hooks.sdk`, these names are a promise (CHANGELOG.md).
"""

from hooks.testing.goldens import (
    KUBERNETES_VERSION,
    GoldenCase,
    assert_golden,
    discover_cases,
    dumps,
    write_json,
)
from hooks.testing.kit import (
    NOW,
    MissingExtra,
    check_all_properties,
    check_children_pass_policy,
    check_crd_matches,
    check_refused_spec_keeps_children,
    check_same_answer,
    check_v1_and_v2_agree,
    crd_text,
    observe,
    parent,
    render,
    spec_strategy,
    sync_request,
    validate_children,
)

__all__ = [
    "KUBERNETES_VERSION",
    "NOW",
    "GoldenCase",
    "MissingExtra",
    "assert_golden",
    "check_all_properties",
    "check_children_pass_policy",
    "check_crd_matches",
    "check_refused_spec_keeps_children",
    "check_same_answer",
    "check_v1_and_v2_agree",
    "crd_text",
    "discover_cases",
    "dumps",
    "observe",
    "parent",
    "render",
    "spec_strategy",
    "sync_request",
    "validate_children",
    "write_json",
]
