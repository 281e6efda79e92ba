"""Sequential rollouts wait for health; a rollout that cannot finish stops, or rolls back.

A rollout that cannot become available is provoked with a ResourceQuota that allows
exactly the pods already running: a rolling update needs one extra pod for a moment, the
quota refuses it, and the new pods never appear (nothing about kwok changes).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from kubernetes import client

from localplane.operator import RunningOperator
from localplane.plane import ControlPlane
from tests.cluster.envpayloads import (
    condition,
    epoch,
    events_for,
    get_envpayload,
    operator_writes,
    ready_condition,
    secret_values,
    settle,
    wait_for_ready,
    write_source,
)
from tests.cluster.workloads import (
    PAYLOAD,
    ROTATED_PASSWORD,
    create,
    deployment,
    env_from,
    marker,
    restarts,
    revision_counts,
    start_payload,
    wait_for_marker_change,
    wait_for_outcomes,
)
from tests.support import wait_for, wait_for_rollout

PAIR = [("Deployment", "alpha"), ("Deployment", "beta")]


@pytest.fixture
def operator_env() -> dict[str, str]:
    return {"ENVPAYLOAD_RESTART_COALESCE_SECONDS": "0"}


def forbid_more_pods(core: client.CoreV1Api, namespace: str, pods: int) -> None:
    """A quota of exactly ``pods`` pods, once the quota controller has counted them."""
    core.create_namespaced_resource_quota(
        namespace,
        client.V1ResourceQuota(
            metadata=client.V1ObjectMeta(name="no-room-to-surge"),
            spec=client.V1ResourceQuotaSpec(hard={"pods": str(pods)}),
        ),
    )

    def counted() -> bool:
        quota: Any = core.read_namespaced_resource_quota("no-room-to-surge", namespace)
        return (quota.status.used or {}).get("pods") == str(pods)

    wait_for(counted, timeout=60, what="the quota to count the running pods")


def test_a_sequential_rollout_waits_until_each_workload_is_available(
    operator: RunningOperator,
    plane: ControlPlane,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace, rollout={"strategy": "Sequential"})
    # alpha counts as available only 6 seconds after its new pod is Ready.
    create(apps, namespace, deployment("alpha", env_from("app"), minReadySeconds=6))
    create(apps, namespace, deployment("beta", env_from("app")))
    since = datetime.datetime.now(datetime.UTC).timestamp()

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)

    wait_for_outcomes(
        custom, namespace, "app", {"Deployment/alpha": "Available", "Deployment/beta": "Available"}
    )
    # The last write to each is its restart (earlier ones record baselines).
    restarted_at = {
        w["objectRef"]["name"]: epoch(w["requestReceivedTimestamp"])
        for w in operator_writes(plane, namespace, since)
        if w["objectRef"].get("resource") == "deployments"
    }
    assert restarted_at["beta"] - restarted_at["alpha"] >= 6


def test_a_sequential_rollout_that_cannot_finish_stops_and_says_so(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(
        core,
        custom,
        namespace,
        refreshInterval="10s",
        rollout={"strategy": "Sequential", "timeout": "5s"},
    )
    create(apps, namespace, deployment("alpha", env_from("app")))
    create(apps, namespace, deployment("beta", env_from("app")))
    forbid_more_pods(core, namespace, 2)
    before = revision_counts(apps, namespace, PAIR)

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)

    found = wait_for_outcomes(
        custom, namespace, "app", {"Deployment/alpha": "Failed", "Deployment/beta": "Held"}
    )
    obj = get_envpayload(custom, namespace, "app")
    rolled_out = condition(obj, "RolledOut")
    assert (rolled_out["status"], rolled_out["reason"]) == ("False", "RolloutFailed")
    assert "Deployment/alpha restarted but not available" in rolled_out["message"]
    assert ready_condition(obj)["status"] == "True"  # the Secret itself is in sync
    assert found["Deployment/beta"]["keys"] == ["DATABASE_PASSWORD"]
    assert "RolloutFailed" in [e.reason for e in events_for(core, namespace, "alpha")]
    assert (secret_values(core, namespace, "app") or {})["DATABASE_PASSWORD"] == "second-password"

    # Refreshes do not carry on with a rollout that stopped.
    settle(15)
    assert restarts(apps, namespace, before) == {"Deployment/alpha": 1, "Deployment/beta": 0}


def test_a_failed_rollout_with_rollback_restores_the_previous_content_and_workloads(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(
        core,
        custom,
        namespace,
        refreshInterval="10s",
        rollout={"rollbackOnFailure": True, "timeout": "5s"},
    )
    create(apps, namespace, deployment("api", env_from("app")))
    forbid_more_pods(core, namespace, 1)
    before = revision_counts(apps, namespace, [("Deployment", "api")])

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)

    found = wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "RolledBack"})
    assert found["Deployment/api"]["keys"] == ["DATABASE_PASSWORD"]
    assert secret_values(core, namespace, "app") == {
        "DATABASE_PASSWORD": "first-password",
        "API_KEY": "k-1",
    }
    # The template is back as it was (it had no marker), so the old pods serve again.
    assert marker(apps, namespace, "Deployment", "api", "app") is None
    wait_for_rollout(apps, "Deployment", "api", namespace)
    ready = wait_for_ready(custom, namespace, "app", status="False", reason="RolledBack")
    assert condition(ready, "RolledOut")["reason"] == "RolledBack"
    assert "RolledBack" in [e.reason for e in events_for(core, namespace, "api")]
    assert "RolledBack" in [e.reason for e in events_for(core, namespace, "app")]

    # Refreshes do not apply the content that failed again.
    settle(15)
    assert (secret_values(core, namespace, "app") or {})["DATABASE_PASSWORD"] == "first-password"
    assert restarts(apps, namespace, before) == {"Deployment/api": 1}

    # New content is applied (and rolled out) as usual.
    core.delete_namespaced_resource_quota("no-room-to-surge", namespace)
    write_source(core, namespace, "app-source", "DATABASE_PASSWORD=third-password\nAPI_KEY=k-1\n")
    wait_for_marker_change(apps, namespace, "Deployment", "api", "app", None)
    wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "Available"})
    wait_for_ready(custom, namespace, "app")
    assert (secret_values(core, namespace, "app") or {})["DATABASE_PASSWORD"] == "third-password"


def test_a_parallel_rollout_that_fails_without_rollback_keeps_the_new_content(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace, rollout={"timeout": "5s"})
    create(apps, namespace, deployment("api", env_from("app")))
    forbid_more_pods(core, namespace, 1)

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)

    wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "Failed"})
    obj = wait_for_ready(custom, namespace, "app")
    assert condition(obj, "RolledOut")["reason"] == "RolloutFailed"
    assert secret_values(core, namespace, "app") != {
        "DATABASE_PASSWORD": "first-password",
        "API_KEY": "k-1",
    }
    assert PAYLOAD != ROTATED_PASSWORD


def test_a_newer_change_does_not_wait_for_a_rollout_in_progress(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    # The rollout of the first change can never finish, and would be watched for 10 minutes.
    start_payload(core, custom, namespace, rollout={"timeout": "10m"})
    create(apps, namespace, deployment("api", env_from("app")))
    forbid_more_pods(core, namespace, 1)
    write_source(core, namespace, "app-source", ROTATED_PASSWORD)
    first = wait_for_marker_change(apps, namespace, "Deployment", "api", "app", None)

    write_source(core, namespace, "app-source", "DATABASE_PASSWORD=third-password\nAPI_KEY=k-1\n")

    # Written, and restarted onto, long before the first rollout's timeout.
    wait_for(
        lambda: (
            (secret_values(core, namespace, "app") or {}).get("DATABASE_PASSWORD")
            == "third-password"
        ),
        timeout=60,
        what="the newer content in the Secret",
    )
    wait_for_marker_change(apps, namespace, "Deployment", "api", "app", first, timeout=60)
