"""Whether a restarted workload finished rolling out: a pure reading of its status.

The rules are the ones ``kubectl rollout status`` applies, so "available" means here what
it means to the people on call: the controller saw the new template (observed
generation), every replica runs it, old replicas are gone, and the new ones are
available. A Deployment whose progress deadline passed has failed for good; anything
else that is not done yet is still in progress, and the caller's timeout decides.

Workloads that never roll by themselves (``updateStrategy: OnDelete``) are not watched:
their pods take the new content when someone deletes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Progress:
    """How far a rollout got; ``waiting_for`` says what is missing, in words."""

    done: bool
    failure: str | None = None
    waiting_for: str = ""
    watched: bool = True


def progress(kind: str, obj: Json, generation: int) -> Progress:
    """The rollout progress of ``obj`` towards its template of ``generation``."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if int(status.get("observedGeneration") or 0) < generation:
        return Progress(done=False, waiting_for="the controller to see the new template")
    if kind == "Deployment":
        return _deployment(spec, status)
    if kind == "StatefulSet":
        return _stateful_set(spec, status)
    if kind == "DaemonSet":
        return _daemon_set(spec, status)
    raise ValueError(f"not a workload kind: {kind}")


def _deployment(spec: Json, status: Json) -> Progress:
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Progressing" and (
            condition.get("reason") == "ProgressDeadlineExceeded"
        ):
            return Progress(done=False, failure="its progress deadline was exceeded")

    want = int(spec["replicas"]) if spec.get("replicas") is not None else 1
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    return _replicas(want, updated, total, available)


def _stateful_set(spec: Json, status: Json) -> Progress:
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return Progress(done=True, watched=False)
    want = int(spec["replicas"]) if spec.get("replicas") is not None else 1
    rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
    partition = int(rolling.get("partition") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    ready = int(status.get("availableReplicas", status.get("readyReplicas")) or 0)
    if partition == 0 and status.get("updateRevision") != status.get("currentRevision"):
        return Progress(done=False, waiting_for=f"{updated} of {want} replicas updated")
    if updated < want - partition:
        return Progress(done=False, waiting_for=f"{updated} of {want - partition} replicas updated")
    if ready < want:
        return Progress(done=False, waiting_for=f"{ready} of {want} replicas available")
    return Progress(done=True)


def _daemon_set(spec: Json, status: Json) -> Progress:
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return Progress(done=True, watched=False)
    want = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    return _replicas(want, updated, want, available)


def _replicas(want: int, updated: int, total: int, available: int) -> Progress:
    if updated < want:
        return Progress(done=False, waiting_for=f"{updated} of {want} replicas updated")
    if total > updated:
        return Progress(done=False, waiting_for=f"{total - updated} old replicas to stop")
    if available < updated:
        return Progress(done=False, waiting_for=f"{available} of {updated} replicas available")
    return Progress(done=True)
