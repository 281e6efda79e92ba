"""Kopf's peering objects, created when missing, so a hot standby needs no manual step.

An operator started with ``--peering NAME`` takes part in Kopf peering: every operator
of that name writes its priority and a keep-alive into one shared object, and only the
one with the highest priority works. Kopf keeps such an operator paused until it sees
that object (a ClusterKopfPeering when serving every namespace, a KopfPeering in each
served namespace) and never creates it. A Helm chart cannot create it either on a first
install, because the peering CRDs arrive in the same release. So the operator makes sure
the objects exist before Kopf starts; when two operators race, one creates and the other
finds it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.kube import describe_api_error

GROUP: Final = "kopf.dev"
VERSION: Final = "v1"

logger = logging.getLogger(__name__)


class PeeringError(RuntimeError):
    """The peering object could not be read or created.

    Like a bad setting, it stops the operator at start (``envpayload run`` exits 1); it
    is never the outcome of a sync, so it is no EnvPayloadError and has no Event reason.
    """


def ensure_peering(
    custom: client.CustomObjectsApi, name: str, namespaces: Sequence[str] | None
) -> None:
    """Make sure the peering object ``name`` exists: cluster-wide, or in each namespace."""
    if namespaces is None:
        _ensure(custom, name, None)
        return
    for namespace in namespaces:
        _ensure(custom, name, namespace)


def _ensure(custom: client.CustomObjectsApi, name: str, namespace: str | None) -> None:
    kind = "ClusterKopfPeering" if namespace is None else "KopfPeering"
    where = "cluster-wide" if namespace is None else f"in namespace {namespace}"
    if _exists(custom, kind, name, namespace):
        return

    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}}
    try:
        if namespace is None:
            custom.create_cluster_custom_object(GROUP, VERSION, "clusterkopfpeerings", body)
        else:
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "kopfpeerings", body)
    except ApiException as e:
        if e.status != 409:  # another operator created it meanwhile
            raise _error(kind, name, where, e) from None
        return
    logger.info("Created the %s %s %s for peering", kind, name, where)


def _exists(custom: client.CustomObjectsApi, kind: str, name: str, namespace: str | None) -> bool:
    where = "cluster-wide" if namespace is None else f"in namespace {namespace}"
    try:
        if namespace is None:
            custom.get_cluster_custom_object(GROUP, VERSION, "clusterkopfpeerings", name)
        else:
            custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "kopfpeerings", name)
    except ApiException as e:
        if e.status == 404:  # or the CRD is missing: creating it will say which
            return False
        raise _error(kind, name, where, e) from None
    return True


def _error(kind: str, name: str, where: str, error: ApiException) -> PeeringError:
    hint = ""
    if error.status == 404:
        hint = "; are Kopf's peering CRDs (kopf.dev) installed?"
    return PeeringError(f"the {kind} {name} {where}: {describe_api_error(error)}{hint}")
