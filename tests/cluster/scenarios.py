"""End-to-end scenarios that any installation of the operator must pass.

The installation tests (Helm chart, kustomize base) run the operator with exactly the
permissions the installation granted, then play these scenarios: every API call the
operator needs is exercised, so a permission the installation forgot fails a test here
rather than in a user's cluster.
"""

from __future__ import annotations

import re
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.spec import GROUP, PLURAL, VERSION
from tests.cluster.envpayloads import (
    apply_envpayload,
    events_for,
    secret_values,
    wait_for_ready,
    write_source,
)
from tests.cluster.workloads import (
    create,
    deployment,
    env_keys,
    restarts,
    revision_counts,
    wait_for_outcomes,
)
from tests.support import wait_for

# What the apiserver says when RBAC denies a request, and what Kopf logs when it lacks a
# permission it can live without (it carries on, so only its log tells).
_DENIED = re.compile(
    r"cannot (get|list|watch|create|patch|update|delete) resource|Not enough permissions"
)


def sync_scenario(core: client.CoreV1Api, custom: client.CustomObjectsApi, namespace: str) -> None:
    """A payload becomes a Secret, follows its source, is reported, and is let go."""
    write_source(core, namespace, "app-env", "DATABASE_URL=mysql://app@db/app\nAPI_KEY=one\n")

    apply_envpayload(custom, namespace, "app", {"source": {"secretRef": {"name": "app-env"}}})

    # Generous deadlines: the machines running these tests are often busy.
    obj = wait_for_ready(custom, namespace, "app", timeout=60)
    assert obj["status"]["keys"] == ["DATABASE_URL", "API_KEY"]
    assert secret_values(core, namespace, "app") == {
        "DATABASE_URL": "mysql://app@db/app",
        "API_KEY": "one",
    }

    # The source changes: the Secret follows (watch on Secrets, server-side apply).
    write_source(core, namespace, "app-env", "DATABASE_URL=mysql://app@db/app\nAPI_KEY=two\n")
    wait_for(
        lambda: (secret_values(core, namespace, "app") or {}).get("API_KEY") == "two",
        timeout=30,
        what="the Secret to follow its source",
    )

    # Events were posted about it.
    wait_for(
        lambda: any(e.reason == "Synced" for e in events_for(core, namespace, "app")),
        timeout=30,
        what="a Synced Event",
    )

    # A new target name: the Secret of the former one, read by nobody, is deleted.
    apply_envpayload(
        custom,
        namespace,
        "app",
        {"source": {"secretRef": {"name": "app-env"}}, "target": {"name": "app-secrets"}},
    )
    wait_for(
        lambda: secret_values(core, namespace, "app") is None,
        timeout=30,
        what="the former target to be deleted",
    )
    assert (secret_values(core, namespace, "app-secrets") or {}).get("API_KEY") == "two"

    # Deleting it goes through the operator's finalizer, which the operator removes.
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "app")
    wait_for(
        lambda: not _exists(custom, namespace, "app"),
        timeout=30,
        what="the EnvPayload to be deleted past its finalizer",
    )


def rollout_scenario(
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    """Rotating one key restarts the Deployment that reads it, and not its neighbour."""
    write_source(core, namespace, "web-env", "DATABASE_PASSWORD=first\nAPI_KEY=k-1\n")
    apply_envpayload(custom, namespace, "web", {"source": {"secretRef": {"name": "web-env"}}})
    wait_for_ready(custom, namespace, "web", timeout=60)
    create(apps, namespace, deployment("api", env_keys("web", "DATABASE_PASSWORD")))
    create(apps, namespace, deployment("worker", env_keys("web", "API_KEY")))
    before = revision_counts(apps, namespace, [("Deployment", "api"), ("Deployment", "worker")])

    write_source(core, namespace, "web-env", "DATABASE_PASSWORD=second\nAPI_KEY=k-1\n")

    # Reading and patching Deployments, watching them roll out, and reporting it in
    # status all ran with the installation's permissions.
    wait_for_outcomes(custom, namespace, "web", {"Deployment/api": "Available"})
    assert restarts(apps, namespace, before) == {"Deployment/api": 1, "Deployment/worker": 0}


def permission_denials(log: str) -> list[str]:
    """Log lines that show a request the operator's permissions did not allow."""
    return [line for line in log.splitlines() if _DENIED.search(line)]


def _exists(custom: client.CustomObjectsApi, namespace: str, name: str) -> bool:
    try:
        obj: Any = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except ApiException as e:
        if e.status == 404:
            return False
        raise
    return bool(obj)
