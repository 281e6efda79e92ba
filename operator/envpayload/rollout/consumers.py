"""Which keys of which Secrets a pod template consumes: a pure reading of the template.

A pod gets a Secret's keys in four ways, in containers and init containers alike:

- ``envFrom[].secretRef``: every key, as environment variables;
- ``env[].valueFrom.secretKeyRef``: the one key named;
- ``volumes[].secret``: every key as a file, or only the ``items`` listed;
- ``volumes[].projected.sources[].secret``: the same, inside a projected volume.

Environment variables only change when the pod restarts, and files mounted with
``subPath`` never change at all, so each of these makes the workload a consumer whose
pods must restart when a key they take changes. ``imagePullSecrets`` are not counted:
the kubelet reads them when it pulls an image, not the application, so a restart does
not help them. Ephemeral containers cannot be part of a template.

Templates are read as the API serves them (camelCase dictionaries), so this module needs
no Kubernetes client and is tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Consumption:
    """The keys of one Secret a template takes: all of them, or the ones named."""

    all_keys: bool = False
    keys: frozenset[str] = frozenset()

    def __or__(self, other: Consumption) -> Consumption:
        if self.all_keys or other.all_keys:
            return ALL_KEYS
        return Consumption(keys=self.keys | other.keys)

    def taken_from(self, available: Iterable[str]) -> tuple[str, ...]:
        """The keys among ``available`` this consumption takes, sorted."""
        if self.all_keys:
            return tuple(sorted(available))
        return tuple(sorted(self.keys.intersection(available)))


ALL_KEYS = Consumption(all_keys=True)


def consumed_secrets(pod_spec: Json) -> dict[str, Consumption]:
    """Every Secret the pod spec of a template reads, with the keys it takes from each."""
    found: dict[str, Consumption] = {}
    for name, consumption in _references(pod_spec):
        found[name] = found[name] | consumption if name in found else consumption
    return found


def consumption_of(pod_spec: Json, secret_name: str) -> Consumption | None:
    """The keys of ``secret_name`` the pod spec takes, or None when it takes none."""
    return consumed_secrets(pod_spec).get(secret_name)


def _references(pod_spec: Json) -> Iterator[tuple[str, Consumption]]:
    containers = [*(pod_spec.get("initContainers") or ()), *(pod_spec.get("containers") or ())]
    for container in containers:
        for source in container.get("envFrom") or ():
            ref = source.get("secretRef") or {}
            if ref.get("name"):
                yield ref["name"], ALL_KEYS
        for variable in container.get("env") or ():
            ref = (variable.get("valueFrom") or {}).get("secretKeyRef") or {}
            if ref.get("name") and ref.get("key"):
                yield ref["name"], Consumption(keys=frozenset({ref["key"]}))

    for volume in pod_spec.get("volumes") or ():
        secret = volume.get("secret") or {}
        if secret.get("secretName"):
            yield secret["secretName"], _items(secret)
        for source in (volume.get("projected") or {}).get("sources") or ():
            projected = source.get("secret") or {}
            if projected.get("name"):
                yield projected["name"], _items(projected)


def _items(volume_source: Json) -> Consumption:
    """A secret volume takes every key unless ``items`` lists the ones it takes."""
    items = volume_source.get("items")
    if not items:
        return ALL_KEYS
    return Consumption(keys=frozenset(item["key"] for item in items if item.get("key")))
