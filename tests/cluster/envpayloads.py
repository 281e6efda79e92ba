"""Helpers for tests that drive EnvPayloads: create them, feed sources, read results."""

from __future__ import annotations

import base64
import datetime
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.spec import GROUP, PLURAL, VERSION
from localplane.plane import OPERATOR_USER, ControlPlane
from tests.support import wait_for

CRD_MANIFEST = Path(__file__).resolve().parents[2] / "manifests/crds/envpayloads.envpayload.io.yaml"


def install_crd(api_client: client.ApiClient) -> str:
    """Install (or update) the EnvPayload CRD from manifests/ and wait until established."""
    manifest = yaml.safe_load(CRD_MANIFEST.read_text())
    extensions = client.ApiextensionsV1Api(api_client)
    name: str = manifest["metadata"]["name"]
    try:
        extensions.create_custom_resource_definition(manifest)
    except ApiException as e:
        if e.status != 409:
            raise
        current: Any = extensions.read_custom_resource_definition(name)
        manifest["metadata"]["resourceVersion"] = current.metadata.resource_version
        extensions.replace_custom_resource_definition(name, manifest)

    def established() -> bool:
        current: Any = extensions.read_custom_resource_definition(name)
        conditions = current.status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    wait_for(established, timeout=30, what=f"CRD {name} to be established")
    return name


def apply_envpayload(
    custom: client.CustomObjectsApi, namespace: str, name: str, spec: Mapping[str, Any]
) -> dict[str, Any]:
    """Create the EnvPayload, or replace its spec when it exists."""
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "EnvPayload",
        "metadata": {"name": name},
        "spec": dict(spec),
    }
    try:
        created: Any = custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, body
        )
        return dict(created)
    except ApiException as e:
        if e.status != 409:
            raise
    patched: Any = custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        name,
        {"spec": dict(spec)},
        _content_type="application/merge-patch+json",
    )
    return dict(patched)


def get_envpayload(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    obj: Any = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return dict(obj)


def condition(obj: Mapping[str, Any], type_: str) -> dict[str, Any]:
    """The EnvPayload's status condition of ``type_``, or {} when it has none."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == type_), {})


def ready_condition(obj: Mapping[str, Any]) -> dict[str, Any]:
    return condition(obj, "Ready")


def wait_for_ready(
    custom: client.CustomObjectsApi,
    namespace: str,
    name: str,
    *,
    status: str = "True",
    reason: str | None = None,
    timeout: float = 30,
    since_generation: int | None = None,
) -> dict[str, Any]:
    """Wait until Ready has ``status`` (and ``reason``) for the current generation."""

    def check() -> dict[str, Any] | None:
        obj = get_envpayload(custom, namespace, name)
        ready = ready_condition(obj)
        generation = obj["metadata"].get("generation")
        if ready.get("status") != status or (reason is not None and ready.get("reason") != reason):
            return None
        if (obj.get("status") or {}).get("observedGeneration") != (since_generation or generation):
            return None
        return dict(obj)

    return wait_for(
        check, timeout=timeout, what=f"EnvPayload {namespace}/{name} Ready={status} {reason or ''}"
    )


def write_source(
    core: client.CoreV1Api, namespace: str, name: str, text: str | bytes, key: str = ".env"
) -> None:
    """Create or replace a source Secret holding ``text`` under ``key``."""
    raw = text.encode() if isinstance(text, str) else text
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(name=name), data={key: base64.b64encode(raw).decode()}
    )
    try:
        core.create_namespaced_secret(namespace, secret)
    except ApiException as e:
        if e.status != 409:
            raise
        core.replace_namespaced_secret(name, namespace, secret)


def secret_values(core: client.CoreV1Api, namespace: str, name: str) -> dict[str, str] | None:
    """The decoded data of a Secret, or None when it does not exist."""
    try:
        secret: Any = core.read_namespaced_secret(name, namespace)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def events_for(core: client.CoreV1Api, namespace: str, name: str) -> list[Any]:
    """Events whose involved object is ``name``, oldest first."""
    items: list[Any] = core.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}"
    ).items
    return sorted(
        items, key=lambda e: e.last_timestamp or e.event_time or e.metadata.creation_timestamp
    )


def operator_writes(plane: ControlPlane, namespace: str, after: float) -> list[dict[str, Any]]:
    """Writes the operator under test made in ``namespace`` since ``after`` (epoch seconds)."""

    def relevant(events: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for event in events:
            if event.get("user", {}).get("username") != OPERATOR_USER:
                continue
            if (event.get("objectRef") or {}).get("namespace") != namespace:
                continue
            stamp = event.get("requestReceivedTimestamp", "")
            if epoch(stamp) >= after:
                yield event

    return list(relevant(plane.audit_events()))


def epoch(stamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 time as the apiserver writes it; 0 for none."""
    if not stamp:
        return 0.0
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def settle(seconds: float) -> None:
    """Give the operator time to do something it should not do (before asserting it did not)."""
    time.sleep(seconds)


def release_envpayloads(custom: client.CustomObjectsApi, namespace: str) -> None:
    """Drop Kopf's finalizer from every EnvPayload in ``namespace``, for want of an operator.

    docs/install.md gives the same recipe with kubectl. Without the CRD, nothing to do.
    """
    try:
        listed: Any = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    except ApiException as e:
        if e.status == 404:
            return
        raise
    for item in listed["items"]:
        if item["metadata"].get("finalizers"):
            custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                item["metadata"]["name"],
                {"metadata": {"finalizers": None}},
            )
