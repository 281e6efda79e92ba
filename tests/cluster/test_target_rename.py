"""A renamed target: the Secret of the former name does not linger with stale content."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from localplane.operator import RunningOperator
from tests.cluster.envpayloads import (
    apply_envpayload,
    get_envpayload,
    secret_values,
    wait_for_ready,
    write_source,
)
from tests.cluster.workloads import create, deployment, env_from
from tests.support import wait_for

SOURCE = {"secretRef": {"name": "app-env"}}


def target(name: str, **target: Any) -> dict[str, Any]:
    return {"source": SOURCE, "target": {"name": name, **target}}


def secret(core: client.CoreV1Api, namespace: str, name: str) -> Any:
    return core.read_namespaced_secret(name, namespace)


def synced_to_old_env(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, namespace: str, **extra: Any
) -> None:
    """EnvPayload ``app`` has written its payload to the Secret ``old-env``."""
    write_source(core, namespace, "app-env", "API_KEY=1\n")
    apply_envpayload(custom, namespace, "app", target("old-env", **extra))
    wait_for_ready(custom, namespace, "app")


def test_the_former_secret_is_deleted_at_once_when_nothing_reads_it(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    synced_to_old_env(core, custom, namespace)

    apply_envpayload(custom, namespace, "app", target("new-env"))

    wait_for(lambda: secret_values(core, namespace, "old-env") is None, what="old-env to go")
    assert secret_values(core, namespace, "new-env") == {"API_KEY": "1"}
    status = get_envpayload(custom, namespace, "app")["status"]
    assert "formerSecretNames" not in status


def test_the_former_secret_is_kept_while_a_workload_reads_it(
    operator: RunningOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    synced_to_old_env(core, custom, namespace)
    create(apps, namespace, deployment("web", env_from("old-env")))

    apply_envpayload(custom, namespace, "app", target("new-env"))

    # Deleting it now would keep web's pods from starting again.
    wait_for(
        lambda: (
            get_envpayload(custom, namespace, "app")["status"].get("formerSecretNames")
            == ["old-env"]
        ),
        what="old-env to be reported as kept",
    )
    status = get_envpayload(custom, namespace, "app")["status"]
    assert (
        "Secret old-env, a former target, is kept while Deployment/web read it"
        in status["warnings"]
    )
    assert secret_values(core, namespace, "old-env") == {"API_KEY": "1"}

    # Once web reads the new Secret, the next sync deletes the former one.
    container = {"name": "app", **env_from("new-env")}
    apps.patch_namespaced_deployment(
        "web", namespace, {"spec": {"template": {"spec": {"containers": [container]}}}}
    )
    write_source(core, namespace, "app-env", "API_KEY=2\n")
    wait_for(lambda: secret_values(core, namespace, "old-env") is None, what="old-env to go")
    wait_for(
        lambda: "formerSecretNames" not in get_envpayload(custom, namespace, "app")["status"],
        what="the report to clear",
    )


def test_with_retain_the_former_secret_stays_released(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    synced_to_old_env(core, custom, namespace, deletionPolicy="Retain")

    apply_envpayload(custom, namespace, "app", target("new-env", deletionPolicy="Retain"))

    wait_for(
        lambda: (
            "envpayload.io/envpayload"
            not in (secret(core, namespace, "old-env").metadata.labels or {})
        ),
        what="old-env to be released",
    )
    assert secret_values(core, namespace, "old-env") == {"API_KEY": "1"}
    assert secret_values(core, namespace, "new-env") == {"API_KEY": "1"}
