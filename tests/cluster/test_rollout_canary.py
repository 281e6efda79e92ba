"""No payload value reaches what a rollout writes or says: a planted canary proves it.

The rollout writes annotations on workloads (and through them, on ReplicaSets and pods),
a mark on the Secret when it rolls back, status entries, conditions, Events and log
lines. Two canary values are planted (before and after a rotation that fails and rolls
back, so every path runs) and searched for everywhere, as text and as base64.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from kubernetes import client

from localplane.operator import RunningOperator
from tests.cluster.envpayloads import get_envpayload, wait_for_ready, write_source
from tests.cluster.test_rollout_failures import forbid_more_pods
from tests.cluster.workloads import (
    create,
    deployment,
    env_from,
    env_keys,
    start_payload,
    wait_for_outcomes,
)

CANARIES = ("canary-7f3a9c1e-before", "canary-41d2be08-after")


@pytest.fixture
def operator_env() -> dict[str, str]:
    return {"ENVPAYLOAD_RESTART_COALESCE_SECONDS": "0"}


def forms(value: str) -> list[str]:
    """The value as text and base64 (how the Secret's data holds it)."""
    return [value, base64.b64encode(value.encode()).decode()]


def test_no_value_reaches_annotations_status_events_or_logs(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    before, after = CANARIES
    start_payload(
        core,
        custom,
        namespace,
        text=f"DATABASE_PASSWORD={before}\nAPI_KEY=k-1\n",
        rollout={"rollbackOnFailure": True, "timeout": "5s"},
    )
    create(apps, namespace, deployment("api", env_keys("app", "DATABASE_PASSWORD")))
    create(apps, namespace, deployment("everything", env_from("app")))
    forbid_more_pods(core, namespace, 2)

    write_source(core, namespace, "app-source", f"DATABASE_PASSWORD={after}\nAPI_KEY=k-1\n")
    wait_for_outcomes(
        custom,
        namespace,
        "app",
        {"Deployment/api": "RolledBack", "Deployment/everything": "RolledBack"},
    )
    wait_for_ready(custom, namespace, "app", status="False", reason="RolledBack")

    def raw(method: Any, *args: str) -> str:
        """The API's own JSON text for a read or a list."""
        return str(method(*args, _preload_content=False).data.decode())

    secret = json.loads(raw(core.read_namespaced_secret, "app", namespace))
    places = {
        "the operator's log": operator.logs(),
        "Events": raw(core.list_namespaced_event, namespace),
        "the EnvPayload": json.dumps(get_envpayload(custom, namespace, "app")),
        "Deployments": raw(apps.list_namespaced_deployment, namespace),
        "ReplicaSets": raw(apps.list_namespaced_replica_set, namespace),
        "pods": raw(core.list_namespaced_pod, namespace),
        "the Secret's metadata": json.dumps(secret["metadata"]),
    }
    assert "rolled-back" in places["the Secret's metadata"]  # the paths ran
    assert "RolledBack" in places["Events"]
    leaks = [
        f"{form!r} in {where}"
        for where, text in places.items()
        for value in CANARIES
        for form in forms(value)
        if form in text
    ]
    assert leaks == []
