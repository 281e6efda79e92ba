"""The rollout step's Kubernetes calls: list, read and patch workloads.

Everything else in ``rollout/`` decides; this module only talks to the apiserver. It
reads workloads as the API's JSON (``_preload_content=False``) rather than as client
models, so the pure modules see the same dictionaries the API documents, and a list of
a thousand Deployments costs no model building.

Patches are JSON merge patches of annotations only: they never race with whoever owns
the rest of the workload (a Helm release, a GitOps controller), and a merge patch of a
key to null removes just that key.

NB: the client's exceptions print response bodies; only ``describe_api_error`` text
leaves this module.
"""

from __future__ import annotations

import json
from typing import Any, Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.errors import RolloutError
from envpayload.kube import describe_api_error
from envpayload.rollout.consumers import Json
from envpayload.rollout.markers import Changes
from envpayload.rollout.workloads import KINDS, Workload, describe
from envpayload.spec import WorkloadRef

_PATH: Final = {
    "Deployment": "deployment",
    "StatefulSet": "stateful_set",
    "DaemonSet": "daemon_set",
}


class WorkloadAccessError(RolloutError):
    """Workloads could not be listed, read or patched; retrying may help."""

    reason = "WorkloadsUnavailable"


class WorkloadGoneError(WorkloadAccessError):
    """The workload was deleted meanwhile."""


class WorkloadApi:
    """Deployments, StatefulSets and DaemonSets of one namespace, as the rollout needs them."""

    def __init__(self, apps: client.AppsV1Api) -> None:
        self._apps = apps

    def list(self, namespace: str) -> list[Workload]:
        """Every workload of the three kinds in ``namespace``."""
        found: list[Workload] = []
        for kind in KINDS:
            method = getattr(self._apps, f"list_namespaced_{_PATH[kind]}")
            try:
                items = _json(method(namespace, _preload_content=False)).get("items") or ()
            except ApiException as e:
                raise WorkloadAccessError(
                    f"listing {kind}s failed: {describe_api_error(e)}"
                ) from None
            found += [Workload.from_api(kind, item) for item in items]
        return found

    def read(self, namespace: str, ref: WorkloadRef) -> Json:
        """The workload as the API serves it, status included."""
        method = getattr(self._apps, f"read_namespaced_{_PATH[ref.kind]}")
        try:
            return _json(method(ref.name, namespace, _preload_content=False))
        except ApiException as e:
            raise _error(e, "reading", ref) from None

    def patch(self, namespace: str, ref: WorkloadRef, changes: Changes) -> int:
        """Apply ``changes``; returns the workload's generation after the patch."""
        method = getattr(self._apps, f"patch_namespaced_{_PATH[ref.kind]}")
        try:
            response = method(
                ref.name,
                namespace,
                changes.merge_patch(),
                _content_type="application/merge-patch+json",
                _preload_content=False,
            )
        except ApiException as e:
            raise _error(e, "patching", ref) from None
        return int((_json(response).get("metadata") or {}).get("generation") or 0)


def _json(response: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(response.data)
    return loaded


def _error(error: ApiException, doing: str, ref: WorkloadRef) -> WorkloadAccessError:
    kind = WorkloadGoneError if error.status == 404 else WorkloadAccessError
    return kind(f"{doing} {describe(ref)} failed: {describe_api_error(error)}")
