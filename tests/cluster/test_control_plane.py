"""The local control plane behaves like a real cluster where envpayload depends on it."""

from __future__ import annotations

import datetime
from typing import Any

from kubernetes import client

from localplane.plane import NODE_NAME
from tests.support import wait_for, wait_for_rollout


def _deployment(name: str, replicas: int = 2) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="app", image="example.invalid/app:1")]
                ),
            ),
        ),
    )


def _replica_sets(apps: client.AppsV1Api, namespace: str, name: str) -> list[Any]:
    items: list[Any] = apps.list_namespaced_replica_set(
        namespace, label_selector=f"app={name}"
    ).items
    return sorted(
        items, key=lambda rs: int(rs.metadata.annotations["deployment.kubernetes.io/revision"])
    )


def test_the_fake_node_is_ready(core: client.CoreV1Api) -> None:
    node: Any = core.read_node(NODE_NAME)
    ready = {c.type: c.status for c in node.status.conditions}
    assert ready.get("Ready") == "True"


def test_a_deployment_becomes_available_on_the_fake_node(
    apps: client.AppsV1Api, core: client.CoreV1Api, namespace: str
) -> None:
    apps.create_namespaced_deployment(namespace, _deployment("web"))

    deployment = wait_for_rollout(apps, "Deployment", "web", namespace)

    assert deployment.status.available_replicas == 2
    pods: list[Any] = core.list_namespaced_pod(namespace, label_selector="app=web").items
    assert {p.spec.node_name for p in pods} == {NODE_NAME}
    assert all(p.status.phase == "Running" for p in pods)


def test_a_pod_template_patch_rolls_out_a_new_replica_set(
    apps: client.AppsV1Api, namespace: str
) -> None:
    apps.create_namespaced_deployment(namespace, _deployment("web"))
    wait_for_rollout(apps, "Deployment", "web", namespace)

    # What `kubectl rollout restart` does.
    now = datetime.datetime.now(datetime.UTC).isoformat()
    patch = {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}
        }
    }
    apps.patch_namespaced_deployment("web", namespace, patch)
    wait_for_rollout(apps, "Deployment", "web", namespace)

    old, new = _replica_sets(apps, namespace, "web")
    assert new.status.available_replicas == 2
    assert (old.spec.replicas, old.status.replicas or 0) == (0, 0)


def test_deleting_an_owner_garbage_collects_what_it_owns(
    core: client.CoreV1Api, namespace: str
) -> None:
    owner: Any = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    reference = client.V1OwnerReference(
        api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid
    )
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="owned", owner_references=[reference])),
    )

    core.delete_namespaced_config_map("owner", namespace)

    def gone() -> bool:
        secrets: list[Any] = core.list_namespaced_secret(namespace).items
        names = [s.metadata.name for s in secrets]
        return "owned" not in names

    wait_for(gone, timeout=30, what="the owned Secret to be garbage collected")
