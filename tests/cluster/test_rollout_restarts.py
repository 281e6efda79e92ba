"""Rotating a key restarts the workloads that consume it, and nothing else.

Every test runs the operator as a process against the local plane, where kwok marks pods
Ready, so restarts roll out as on a real cluster. A restart is counted by the workload's
revisions (see ``workloads.py``), so a test can say "restarted exactly once".
"""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from localplane.operator import RunningOperator
from localplane.plane import ControlPlane
from tests.cluster.envpayloads import (
    events_for,
    get_envpayload,
    operator_writes,
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
    env_keys,
    marker,
    pod_template,
    restarts,
    revision_counts,
    settled,
    start_payload,
    wait_for_outcomes,
)
from tests.support import wait_for


@pytest.fixture
def operator_env() -> dict[str, str]:
    # Restarts as soon as decided: these tests are about which workloads restart.
    return {"ENVPAYLOAD_RESTART_COALESCE_SECONDS": "0"}


def test_rotating_a_key_restarts_only_the_workloads_that_consume_it(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace)
    create(apps, namespace, deployment("api", env_keys("app", "DATABASE_PASSWORD")))
    create(apps, namespace, deployment("worker", env_keys("app", "API_KEY")))
    create(apps, namespace, deployment("everything", env_from("app")))
    create(apps, namespace, deployment("unrelated", env_from("some-other-secret")))
    before = revision_counts(
        apps,
        namespace,
        [("Deployment", n) for n in ("api", "worker", "everything", "unrelated")],
    )

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)

    found = wait_for_outcomes(
        custom,
        namespace,
        "app",
        {"Deployment/api": "Available", "Deployment/everything": "Available"},
    )
    assert restarts(apps, namespace, before) == {
        "Deployment/api": 1,
        "Deployment/worker": 0,
        "Deployment/everything": 1,
        "Deployment/unrelated": 0,
    }
    assert found["Deployment/api"]["keys"] == ["DATABASE_PASSWORD"]
    assert found["Deployment/api"]["fingerprint"] == marker(
        apps, namespace, "Deployment", "api", "app"
    )
    assert "Deployment/worker" not in found
    conditions = get_envpayload(custom, namespace, "app")["status"]["conditions"]
    rolled_out = next(c for c in conditions if c["type"] == "RolledOut")
    assert (rolled_out["status"], rolled_out["reason"]) == ("True", "RolledOut")
    api_events = [e.reason for e in events_for(core, namespace, "api")]
    assert "Restarted" in api_events
    assert "Restarted" in [e.reason for e in events_for(core, namespace, "app")]


def test_statefulsets_and_daemonsets_restart_through_volumes_and_projected_volumes(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace)
    secret_volume = {"name": "env", "secret": {"secretName": "app"}}
    only_api_key = {
        "name": "env",
        "projected": {
            "sources": [{"secret": {"name": "app", "items": [{"key": "API_KEY", "path": "k"}]}}]
        },
    }
    create(
        apps,
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 1,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": pod_template("db", {}, volumes=[secret_volume]),
            },
        },
    )
    create(
        apps,
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": pod_template("agent", {}, volumes=[secret_volume]),
            },
        },
    )
    create(
        apps,
        namespace,
        {
            **deployment("reads-api-key-file", {}),
            "spec": {
                **deployment("reads-api-key-file", {})["spec"],
                "template": pod_template("reads-api-key-file", {}, volumes=[only_api_key]),
            },
        },
    )
    before = revision_counts(
        apps,
        namespace,
        [("StatefulSet", "db"), ("DaemonSet", "agent"), ("Deployment", "reads-api-key-file")],
    )

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)

    wait_for_outcomes(
        custom, namespace, "app", {"StatefulSet/db": "Available", "DaemonSet/agent": "Available"}
    )
    assert restarts(apps, namespace, before) == {
        "StatefulSet/db": 1,
        "DaemonSet/agent": 1,
        "Deployment/reads-api-key-file": 0,
    }


def test_an_unchanged_refresh_restarts_nothing_and_writes_nothing(
    operator: RunningOperator,
    plane: ControlPlane,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace, refreshInterval="10s")
    create(apps, namespace, deployment("api", env_from("app")))
    write_source(core, namespace, "app-source", ROTATED_PASSWORD)
    wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "Available"})
    before = revision_counts(apps, namespace, [("Deployment", "api")])
    since = time.time()

    settle(25)  # two refreshes of the same content

    assert restarts(apps, namespace, before) == {"Deployment/api": 0}
    assert writes_since(plane, namespace, since) == []

    # The same content written into the source again (a new resourceVersion): only the
    # EnvPayload's status moves (it names the source version it synced).
    since = time.time()
    write_source(core, namespace, "app-source", ROTATED_PASSWORD)
    settle(5)

    assert restarts(apps, namespace, before) == {"Deployment/api": 0}
    assert set(writes_since(plane, namespace, since)) <= {"patch envpayloads/app"}


def writes_since(plane: ControlPlane, namespace: str, since: float) -> list[str]:
    """``verb resource/name`` of every write the operator made since ``since``."""
    return [
        f"{w['verb']} {w['objectRef'].get('resource')}/{w['objectRef'].get('name')}"
        for w in operator_writes(plane, namespace, since)
    ]


def test_a_workload_created_before_the_operator_knew_it_restarts_on_the_next_change_only(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace)
    create(apps, namespace, deployment("api", env_from("app")))
    before = revision_counts(apps, namespace, [("Deployment", "api")])

    # Seeing it (a refresh of the same content) records nothing and restarts nothing.
    write_source(core, namespace, "app-source", PAYLOAD)
    settle(5)
    assert restarts(apps, namespace, before) == {"Deployment/api": 0}
    assert settled(apps, namespace, "Deployment", "api", "app") is None

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)

    wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "Available"})
    assert restarts(apps, namespace, before) == {"Deployment/api": 1}
    assert settled(apps, namespace, "Deployment", "api", "app") == marker(
        apps, namespace, "Deployment", "api", "app"
    )


def test_notify_mode_reports_the_restart_without_restarting(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace, rollout={"mode": "Notify"})
    create(apps, namespace, deployment("api", env_from("app")))
    before = revision_counts(apps, namespace, [("Deployment", "api")])

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)

    found = wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "Notified"})
    assert found["Deployment/api"]["keys"] == ["DATABASE_PASSWORD"]
    wait_for(
        lambda: "RestartNeeded" in [e.reason for e in events_for(core, namespace, "api")],
        what="a RestartNeeded Event on the workload",
    )
    settle(3)
    assert restarts(apps, namespace, before) == {"Deployment/api": 0}
    assert marker(apps, namespace, "Deployment", "api", "app") is None


def test_mode_off_restarts_nothing_and_marks_nothing(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace, rollout={"mode": "Off"})
    create(apps, namespace, deployment("api", env_from("app")))
    before = revision_counts(apps, namespace, [("Deployment", "api")])

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)
    wait_for(
        lambda: get_envpayload(custom, namespace, "app")["status"].get("sourceVersion") != "rv:0",
        what="the sync",
    )
    wait_for_ready(custom, namespace, "app")
    settle(5)

    assert restarts(apps, namespace, before) == {"Deployment/api": 0}
    assert settled(apps, namespace, "Deployment", "api", "app") is None
    assert "rollouts" not in get_envpayload(custom, namespace, "app")["status"]


def test_a_paused_deployment_is_reported_and_restarts_once_resumed(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_payload(core, custom, namespace, refreshInterval="10s")
    create(apps, namespace, deployment("api", env_from("app")))
    apps.patch_namespaced_deployment("api", namespace, {"spec": {"paused": True}})
    before = revision_counts(apps, namespace, [("Deployment", "api")])

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)

    wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "Paused"})
    assert restarts(apps, namespace, before) == {"Deployment/api": 0}
    assert "RestartSkippedPaused" in [e.reason for e in events_for(core, namespace, "api")]

    apps.patch_namespaced_deployment("api", namespace, {"spec": {"paused": False}})
    resumed = revision_counts(apps, namespace, [("Deployment", "api")])

    # The next refresh finds it still holding the old content, and restarts it.
    wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "Available"})
    assert restarts(apps, namespace, resumed) == {"Deployment/api": 1}


def test_a_selector_narrows_and_targets_add_to_the_consumers(
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
        rollout={
            "selector": {"matchLabels": {"tier": "backend"}},
            "targets": [{"kind": "Deployment", "name": "reads-through-the-api"}],
        },
    )
    create(apps, namespace, deployment("api", env_from("app"), labels={"tier": "backend"}))
    create(apps, namespace, deployment("web", env_from("app"), labels={"tier": "frontend"}))
    create(apps, namespace, deployment("reads-through-the-api", {}))
    workloads = [("Deployment", n) for n in ("api", "web", "reads-through-the-api")]
    before = revision_counts(apps, namespace, workloads)

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)

    wait_for_outcomes(
        custom,
        namespace,
        "app",
        {"Deployment/api": "Available", "Deployment/reads-through-the-api": "Available"},
    )
    assert restarts(apps, namespace, before) == {
        "Deployment/api": 1,
        "Deployment/web": 0,
        "Deployment/reads-through-the-api": 1,
    }
