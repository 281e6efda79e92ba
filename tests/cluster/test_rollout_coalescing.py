"""Changes that arrive together restart a workload once; restarts keep a minimum interval."""

from __future__ import annotations

import datetime

import pytest
from kubernetes import client

from localplane.operator import RunningOperator
from localplane.plane import ControlPlane
from tests.cluster.envpayloads import epoch, operator_writes, settle, write_source
from tests.cluster.workloads import (
    create,
    deployment,
    env_keys,
    marker,
    restarts,
    revision_counts,
    start_payload,
    wait_for_marker_change,
    wait_for_outcomes,
)


@pytest.fixture
def operator_env(request: pytest.FixtureRequest) -> dict[str, str]:
    env: dict[str, str] = request.param
    return env


@pytest.mark.parametrize(
    "operator_env", [{"ENVPAYLOAD_RESTART_COALESCE_SECONDS": "5"}], indirect=True
)
def test_two_payloads_rotated_together_restart_a_shared_consumer_once(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace, "db", "PASSWORD=p-1\n")
    start_payload(core, custom, namespace, "vendor", "TOKEN=t-1\n")
    both = {
        "env": [
            *env_keys("db", "PASSWORD")["env"],
            *env_keys("vendor", "TOKEN")["env"],
        ]
    }
    create(apps, namespace, deployment("shared", both))
    before = revision_counts(apps, namespace, [("Deployment", "shared")])
    markers = {s: marker(apps, namespace, "Deployment", "shared", s) for s in ("db", "vendor")}

    write_source(core, namespace, "db-source", "PASSWORD=p-2\n")
    write_source(core, namespace, "vendor-source", "TOKEN=t-2\n")

    for secret in ("db", "vendor"):
        wait_for_marker_change(apps, namespace, "Deployment", "shared", secret, markers[secret])
        wait_for_outcomes(custom, namespace, secret, {"Deployment/shared": "Available"})
    assert restarts(apps, namespace, before) == {"Deployment/shared": 1}


@pytest.mark.parametrize(
    "operator_env",
    [{"ENVPAYLOAD_RESTART_COALESCE_SECONDS": "0", "ENVPAYLOAD_MIN_RESTART_INTERVAL_SECONDS": "20"}],
    indirect=True,
)
def test_a_workload_restarts_at_most_once_within_the_minimum_interval(
    operator: RunningOperator,
    plane: ControlPlane,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace, "app", "KEY=1\n")
    create(apps, namespace, deployment("api", env_keys("app", "KEY")))
    before = revision_counts(apps, namespace, [("Deployment", "api")])
    since = datetime.datetime.now(datetime.UTC).timestamp()

    write_source(core, namespace, "app-source", "KEY=2\n")
    first = wait_for_marker_change(apps, namespace, "Deployment", "api", "app", None)
    # Rotated again at once: the Secret changes now, the restart waits for the interval.
    write_source(core, namespace, "app-source", "KEY=3\n")
    wait_for_marker_change(apps, namespace, "Deployment", "api", "app", first, timeout=90)
    settle(3)

    assert restarts(apps, namespace, before) == {"Deployment/api": 2}
    restart_times = [
        epoch(w["requestReceivedTimestamp"])
        for w in operator_writes(plane, namespace, since)
        if w["objectRef"].get("resource") == "deployments"
        and w["objectRef"].get("subresource") is None
    ]
    # The first patch records the baseline; then come the two restarts.
    assert len(restart_times) == 3
    assert restart_times[2] - restart_times[1] >= 20
