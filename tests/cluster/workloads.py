"""Helpers for rollout tests: a payload, workloads that consume it, how to tell they restarted.

A restart is a new pod template, and every new template gets a revision of its own: a
ReplicaSet for a Deployment, a ControllerRevision for a StatefulSet or a DaemonSet. So
``restarts`` counts the revisions a workload gained since a test noted them. (The
generation would not do: a Deployment's also moves when its annotations change.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubernetes import client

from envpayload.rollout.markers import marker_key, settled_key
from tests.cluster.envpayloads import apply_envpayload, get_envpayload, wait_for_ready, write_source
from tests.support import wait_for, wait_for_rollout

PAYLOAD = "DATABASE_PASSWORD=first-password\nAPI_KEY=k-1\n"
ROTATED_PASSWORD = "DATABASE_PASSWORD=second-password\nAPI_KEY=k-1\n"

KIND_PATHS = {"Deployment": "deployment", "StatefulSet": "stateful_set", "DaemonSet": "daemon_set"}


def env_from(secret: str) -> dict[str, Any]:
    """A container reading every key of ``secret`` as environment variables."""
    return {"envFrom": [{"secretRef": {"name": secret}}]}


def env_keys(secret: str, *keys: str) -> dict[str, Any]:
    """A container reading only ``keys`` of ``secret``."""
    return {
        "env": [
            {"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": k}}} for k in keys
        ]
    }


def pod_template(name: str, container: Mapping[str, Any], **pod: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {
            "containers": [{"name": "app", "image": "example.invalid/app:1", **container}],
            **pod,
        },
    }


def deployment(
    name: str,
    container: Mapping[str, Any],
    *,
    replicas: int = 1,
    labels: Mapping[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels or {"app": name})},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": pod_template(name, container),
            **spec,
        },
    }


def create(apps: client.AppsV1Api, namespace: str, manifest: Mapping[str, Any]) -> None:
    """Create a workload and wait until it is rolled out and available."""
    kind = manifest["kind"]
    getattr(apps, f"create_namespaced_{KIND_PATHS[kind]}")(namespace, dict(manifest))
    wait_for_rollout(apps, kind, manifest["metadata"]["name"], namespace, timeout=90)


def read(apps: client.AppsV1Api, namespace: str, kind: str, name: str) -> Any:
    return getattr(apps, f"read_namespaced_{KIND_PATHS[kind]}")(name, namespace)


def revisions(apps: client.AppsV1Api, namespace: str, kind: str, name: str) -> int:
    """How many pod templates the workload has had (ReplicaSets or ControllerRevisions)."""
    uid = read(apps, namespace, kind, name).metadata.uid
    if kind == "Deployment":
        owned: list[Any] = apps.list_namespaced_replica_set(namespace).items
    else:
        owned = apps.list_namespaced_controller_revision(namespace).items
    return sum(any(o.uid == uid for o in x.metadata.owner_references or ()) for x in owned)


def revision_counts(
    apps: client.AppsV1Api, namespace: str, workloads: Sequence[tuple[str, str]]
) -> dict[str, int]:
    """``{"Deployment/web": revisions, ...}`` for (kind, name) pairs."""
    return {f"{k}/{n}": revisions(apps, namespace, k, n) for k, n in workloads}


def restarts(apps: client.AppsV1Api, namespace: str, before: Mapping[str, int]) -> dict[str, int]:
    """How many new pod templates each workload noted in ``before`` got since."""
    pairs = [(key.partition("/")[0], key.partition("/")[2]) for key in before]
    now = revision_counts(apps, namespace, pairs)
    return {key: now[key] - before[key] for key in before}


def marker(apps: client.AppsV1Api, namespace: str, kind: str, name: str, secret: str) -> str | None:
    """The restart marker for ``secret`` in the workload's pod template."""
    template = read(apps, namespace, kind, name).spec.template
    return ((template.metadata and template.metadata.annotations) or {}).get(marker_key(secret))


def settled(
    apps: client.AppsV1Api, namespace: str, kind: str, name: str, secret: str
) -> str | None:
    """The settled mark for ``secret`` in the workload's own metadata."""
    return (read(apps, namespace, kind, name).metadata.annotations or {}).get(settled_key(secret))


def wait_for_marker_change(
    apps: client.AppsV1Api,
    namespace: str,
    kind: str,
    name: str,
    secret: str,
    before: str | None,
    timeout: float = 60,
) -> str:
    """Wait until the workload's marker for ``secret`` differs from ``before``."""

    def changed() -> str | None:
        value = marker(apps, namespace, kind, name, secret)
        return value if value != before else None

    return wait_for(changed, timeout=timeout, what=f"{kind}/{name} to restart")


def rollouts_of(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    """``status.rollouts`` by ``Kind/name``."""
    status = get_envpayload(custom, namespace, name).get("status") or {}
    return {f"{r['kind']}/{r['name']}": r for r in status.get("rollouts") or ()}


def wait_for_outcomes(
    custom: client.CustomObjectsApi, namespace: str, name: str, expected: dict[str, str]
) -> dict[str, Any]:
    """Wait until status.rollouts shows ``expected`` outcomes (by ``Kind/name``)."""

    def check() -> dict[str, Any] | None:
        found = rollouts_of(custom, namespace, name)
        shown = {k: found.get(k, {}).get("outcome") for k in expected}
        return found if shown == expected else None

    return wait_for(check, timeout=90, what=f"rollout outcomes {expected}")


def start_payload(
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
    name: str = "app",
    text: str = PAYLOAD,
    **spec: Any,
) -> None:
    """An EnvPayload ``name`` writing Secret ``name`` from source Secret ``name-source``."""
    write_source(core, namespace, f"{name}-source", text)
    apply_envpayload(
        custom,
        namespace,
        name,
        {"source": {"secretRef": {"name": f"{name}-source"}}, "refreshInterval": "1h", **spec},
    )
    wait_for_ready(custom, namespace, name)
