"""Restarts are decided by content: restarting or killing the operator never doubles one.

These tests run their own operator processes (not the ``operator`` fixture) because they
stop, kill and start them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from localplane.operator import RunningOperator
from localplane.plane import ControlPlane
from tests.cluster.envpayloads import (
    operator_writes,
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
    env_keys,
    marker,
    restarts,
    revision_counts,
    start_payload,
    wait_for_marker_change,
    wait_for_outcomes,
)
from tests.support import wait_for

WORKLOADS = [("Deployment", "api"), ("Deployment", "worker")]


class Operators:
    """Operator processes a test starts one after the other, all stopped at the end."""

    def __init__(self, plane: ControlPlane, namespace: str, folder: Path) -> None:
        self.plane, self.namespace, self.folder = plane, namespace, folder
        self.started: list[RunningOperator] = []

    def start(self, **env: str) -> RunningOperator:
        running = RunningOperator(
            self.plane,
            [self.namespace],
            self.folder / f"operator-{len(self.started)}.log",
            operator_namespace=self.namespace,
            env={"ENVPAYLOAD_RESTART_COALESCE_SECONDS": "0", **env},
        )
        self.started.append(running)
        running.start()
        return running

    def logs(self) -> str:
        return "\n".join(f"--- {o.log_path.name}\n{o.logs()}" for o in self.started)


@pytest.fixture
def operators(
    plane: ControlPlane, crd: str, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Operators]:
    started = Operators(plane, namespace, tmp_path)
    yield started
    for running in started.started:
        running.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(started.logs())


def setup_consumers(
    core: client.CoreV1Api, apps: client.AppsV1Api, custom: client.CustomObjectsApi, ns: str
) -> None:
    """EnvPayload ``app`` and two Deployments: api reads DATABASE_PASSWORD, worker API_KEY."""
    start_payload(core, custom, ns, refreshInterval="10s")
    create(apps, ns, deployment("api", env_keys("app", "DATABASE_PASSWORD")))
    create(apps, ns, deployment("worker", env_keys("app", "API_KEY")))


def test_restarting_the_operator_restarts_nothing(
    operators: Operators,
    plane: ControlPlane,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    first = operators.start()
    setup_consumers(core, apps, custom, namespace)
    write_source(core, namespace, "app-source", ROTATED_PASSWORD)
    wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "Available"})
    before = revision_counts(apps, namespace, WORKLOADS)

    first.kill()  # as a crash, or a leader that vanished
    since = time.time()
    operators.start()
    # The new process syncs at once and refreshes every 10 seconds.
    settle(25)

    assert restarts(apps, namespace, before) == {"Deployment/api": 0, "Deployment/worker": 0}
    deployment_writes = [
        w
        for w in operator_writes(plane, namespace, since)
        if w["objectRef"]["resource"] != "events"
    ]
    assert deployment_writes == []
    wait_for_ready(custom, namespace, "app")


def test_an_operator_killed_between_the_secret_and_the_restart_restarts_it_once_when_back(
    operators: Operators,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    # The first operator holds every restart for a minute after deciding it, which is
    # the window to kill it in: the Secret is written, the restart is not.
    first = operators.start(ENVPAYLOAD_RESTART_COALESCE_SECONDS="60")
    setup_consumers(core, apps, custom, namespace)
    before = revision_counts(apps, namespace, WORKLOADS)
    marker_before = marker(apps, namespace, "Deployment", "api", "app")

    write_source(core, namespace, "app-source", ROTATED_PASSWORD)
    wait_for(
        lambda: (
            (secret_values(core, namespace, "app") or {}).get("DATABASE_PASSWORD")
            == "second-password"
        ),
        what="the new Secret content",
    )
    first.kill()
    assert marker(apps, namespace, "Deployment", "api", "app") == marker_before

    second = operators.start()
    wait_for_marker_change(apps, namespace, "Deployment", "api", "app", marker_before)
    wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "Available"})
    settle(12)  # a refresh of the same content in between

    second.stop()
    operators.start()
    settle(12)

    assert restarts(apps, namespace, before) == {"Deployment/api": 1, "Deployment/worker": 0}


def test_the_same_content_written_again_restarts_nothing(
    operators: Operators,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    operators.start()
    setup_consumers(core, apps, custom, namespace)
    write_source(core, namespace, "app-source", ROTATED_PASSWORD)
    wait_for_outcomes(custom, namespace, "app", {"Deployment/api": "Available"})

    # Back to the first content, then forward again: two real changes, two restarts.
    before = revision_counts(apps, namespace, WORKLOADS)
    write_source(core, namespace, "app-source", PAYLOAD)
    wait_for_marker_change(
        apps,
        namespace,
        "Deployment",
        "api",
        "app",
        marker(apps, namespace, "Deployment", "api", "app"),
    )
    for _ in range(3):
        write_source(core, namespace, "app-source", PAYLOAD)
    settle(5)

    assert restarts(apps, namespace, before) == {"Deployment/api": 1, "Deployment/worker": 0}
