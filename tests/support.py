"""Helpers for tests: waiting on the control plane, and what CI=true changes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client

# CI=true turns anything that would be a skip for want of a tool into a failure.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

T = TypeVar("T")


def wait_for(
    check: Callable[[], T | None], timeout: float = 30, interval: float = 0.2, what: str = ""
) -> T:
    """Call ``check`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what or check.__name__}; last: {last!r}"
    )


def rollout_complete(workload: Any) -> bool:
    """True when a Deployment, StatefulSet or DaemonSet finished rolling out and is available."""
    spec, status, meta = workload.spec, workload.status, workload.metadata
    if status is None or (status.observed_generation or 0) < meta.generation:
        return False
    if isinstance(workload, client.V1Deployment):
        want = spec.replicas if spec.replicas is not None else 1
        return (
            (status.updated_replicas or 0) == want
            and (status.replicas or 0) == want
            and (status.available_replicas or 0) == want
        )
    if isinstance(workload, client.V1StatefulSet):
        want = spec.replicas if spec.replicas is not None else 1
        return (
            status.update_revision == status.current_revision
            and (status.ready_replicas or 0) == want
            and (status.updated_replicas or 0) == want
        )
    if isinstance(workload, client.V1DaemonSet):
        want = status.desired_number_scheduled or 0
        return (status.updated_number_scheduled or 0) == want and (
            status.number_available or 0
        ) == want
    raise TypeError(f"not a workload: {type(workload).__name__}")


def wait_for_rollout(
    apps: client.AppsV1Api, kind: str, name: str, namespace: str, timeout: float = 60
) -> Any:
    """Wait until the workload's newest pod template is fully rolled out and available."""
    read = {
        "Deployment": apps.read_namespaced_deployment,
        "StatefulSet": apps.read_namespaced_stateful_set,
        "DaemonSet": apps.read_namespaced_daemon_set,
    }[kind]

    def done() -> Any:
        workload = read(name, namespace)
        return workload if rollout_complete(workload) else None

    return wait_for(done, timeout=timeout, what=f"{kind} {namespace}/{name} to roll out")


def plain(obj: Any) -> Any:
    """A kubernetes model object as the JSON the API speaks (camelCase dicts and lists)."""
    return _SERIALIZER.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]


_SERIALIZER = client.ApiClient()
