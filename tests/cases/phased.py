"""Helpers for the golden cases of phase-machine kinds: earlier answers become the parent's status.

A phase machine remembers only what its previous answers wrote into status, so a case in the
middle of a run is built by replaying the run: each step's answer is applied the way
Metacontroller applies it (status written with observedGeneration, children created) and the
next step observes the result with the Job status the test chooses.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from hooks.contract import SyncRequest
from hooks.registry import CONTROLLERS
from hooks.runtime import bind, run_sync
from hooks.settings import Settings
from tests.cases.common import observe, request

Obj = dict[str, Any]


def answer(controller: str, parent_obj: Obj, observed: list[Obj], *, config: Obj, now: str) -> Obj:
    """Return the hook's answer (wire form) to a sync of this parent at `now`."""
    settings = Settings.model_validate({"controllers": {controller: config}})
    bound = bind(
        CONTROLLERS[controller],
        settings.controller(controller),
        settings.policy,
        settings.limits,
    )
    body = SyncRequest.model_validate(request(controller, copy.deepcopy(parent_obj), observed))
    moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    return run_sync(bound, body, now=moment).to_wire()


def applied(parent_obj: Obj, body: Obj) -> Obj:
    """Return the parent once Metacontroller has written an answer's status."""
    out = copy.deepcopy(parent_obj)
    out["status"] = {
        **copy.deepcopy(body["status"]),
        "observedGeneration": parent_obj["metadata"]["generation"],
    }
    return out


def child(body: Obj, name: str) -> Obj:
    """Return the desired child of that name from an answer."""
    for obj in body["children"]:
        if obj["metadata"]["name"] == name:
            return copy.deepcopy(obj)
    raise KeyError(
        f"the answer has no child {name}: {[c['metadata']['name'] for c in body['children']]}"
    )


def observed_as(body: Obj, parent_obj: Obj, statuses: dict[str, Obj | None]) -> list[Obj]:
    """Return the answer's children named in `statuses` as the API server hands them back."""
    return [
        observe(child(body, name), parent_obj, status=status) for name, status in statuses.items()
    ]
