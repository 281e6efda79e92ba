"""Step 6 of the pipeline: write the rendered Secret, and say which keys changed.

The Secret is written with server-side apply under the ``envpayload-operator`` field
manager, so a key that leaves the payload also leaves the Secret (a merge patch would
keep it). Before writing, the live Secret is read for three reasons:

- ownership: a Secret the operator did not create is only taken over with
  ``target.adopt``; otherwise :class:`ConflictError` and nothing is written. A Secret
  that another EnvPayload writes is never taken over, not even with ``adopt``: two
  EnvPayloads writing one Secret would undo each other's writes, each waking the other;
- idempotence: when the live Secret already matches, nothing is written at all, so a
  refresh of unchanged content costs one read and no write;
- the change set: comparing before and after names the keys that changed, which decides
  which workloads restart.

When the target is renamed, :func:`retire_secret` lets go of the Secret written under
the former name: deleted under ``deletionPolicy: Delete``, released (our labels
removed) under ``Retain``, and left alone once it is someone else's.

A caller may pass ``before_write``: it sees the live data and annotations just before a
write and may cancel it (the rollout step records what consumers run with, and refuses
content that was rolled back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.errors import ConflictError, EnvPayloadError
from envpayload.kube import describe_api_error
from envpayload.render import MANAGED_BY_LABEL, OWNER_LABEL, Owner

FIELD_MANAGER: Final = "envpayload-operator"

logger = logging.getLogger(__name__)

# (live data or None when there is no Secret yet, live annotations) -> go ahead?
BeforeWrite = Callable[[Mapping[str, str] | None, Mapping[str, str]], bool]


class ApplyError(EnvPayloadError):
    """The apiserver refused or failed the write."""

    reason = "ApplyFailed"
    retryable = True


@dataclass(frozen=True)
class Applied:
    """What applying did. ``previous`` is the live data before (base64), for rollback.

    ``withheld``: ``before_write`` cancelled the write; ``current`` is the live data.
    ``resource_version``: the Secret's version after the write (None when nothing was
    written), so the watch event that echoes the write can be told from someone else's.
    """

    secret_name: str
    created: bool
    written: bool
    changed_keys: tuple[str, ...]
    previous: Mapping[str, str] | None = field(default=None, repr=False)
    current: Mapping[str, str] = field(default_factory=dict, repr=False)
    withheld: bool = False
    resource_version: str | None = None


def apply_secret(
    core: client.CoreV1Api,
    desired: dict[str, Any],
    owner: Owner,
    *,
    adopt: bool,
    before_write: BeforeWrite | None = None,
) -> Applied:
    """Make the Secret match ``desired``; write nothing when it already does."""
    meta = desired["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    live = _read(core, name, namespace)

    if live is not None and not _is_managed_by(live, owner):
        _check_adoptable(live, name, adopt)

    desired_data: dict[str, str] = desired["data"]
    previous: dict[str, str] | None = None if live is None else dict(live.data or {})
    changed = changed_keys(previous or {}, desired_data)
    in_sync = live is not None and _matches(live, desired, owner)
    withheld = not in_sync and not _may_write(before_write, live, previous)
    if in_sync or withheld:
        return Applied(
            name,
            created=False,
            written=False,
            changed_keys=(),
            previous=previous,
            current=(previous or {}) if withheld else desired_data,
            withheld=withheld,
        )

    try:
        result = core.patch_namespaced_secret(
            name,
            namespace,
            desired,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
        )
        # Keys written by another field manager (a Secret adopted from `kubectl create`)
        # survive an apply; remove the ones the payload no longer has.
        assert result.metadata is not None
        version = str(result.metadata.resource_version)
        extra = sorted(set(result.data or {}) - set(desired_data))
        if extra:
            version = _remove_keys(core, name, namespace, version, extra)
    except ApiException as e:
        raise ApplyError(f"writing Secret {name} failed: {describe_api_error(e)}") from None

    logger.debug("Applied Secret %s/%s; changed keys: %s", namespace, name, ", ".join(changed))
    return Applied(
        name,
        created=live is None,
        written=True,
        changed_keys=changed,
        previous=previous,
        current=desired_data,
        resource_version=version,
    )


Retired = Literal["deleted", "released", "gone"]


def retire_secret(
    core: client.CoreV1Api, namespace: str, name: str, owner: Owner, *, delete: bool
) -> Retired:
    """Let go of Secret ``name``, a former target; returns what became of it.

    ``deleted`` or ``released`` (``delete`` false: our labels are removed, the Secret
    stays), or ``gone`` when there is no such Secret or it is not ours any more.
    """
    live = _read(core, name, namespace)
    if live is None or not _is_managed_by(live, owner):
        return "gone"

    try:
        if delete:
            # The uid precondition: a Secret re-created meanwhile under the name is spared.
            options = client.V1DeleteOptions(
                preconditions=client.V1Preconditions(uid=live.metadata.uid)
            )
            core.delete_namespaced_secret(name, namespace, body=options)
            return "deleted"
        metadata: dict[str, Any] = {"labels": {OWNER_LABEL: None, MANAGED_BY_LABEL: None}}
        refs = live.metadata.owner_references or []
        others = [r for r in refs if r.uid != owner.uid]
        if len(others) != len(refs):
            # A merge patch replaces the whole list: the others, as the API spells them.
            metadata["ownerReferences"] = core.api_client.sanitize_for_serialization(others)
        core.patch_namespaced_secret(
            name,
            namespace,
            {"metadata": metadata},
            _content_type="application/merge-patch+json",
        )
        return "released"
    except ApiException as e:
        if e.status in (404, 409):
            return "gone"
        raise ApplyError(f"letting go of Secret {name} failed: {describe_api_error(e)}") from None


def _may_write(
    before_write: BeforeWrite | None, live: Any, previous: Mapping[str, str] | None
) -> bool:
    if before_write is None:
        return True
    annotations = dict(live.metadata.annotations or {}) if live is not None else {}
    return before_write(previous, annotations)


def changed_keys(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[str, ...]:
    """Keys added, removed or given another value, in a stable order."""
    keys = set(before) | set(after)
    return tuple(sorted(k for k in keys if before.get(k) != after.get(k)))


def _read(core: client.CoreV1Api, name: str, namespace: str) -> Any:
    try:
        return core.read_namespaced_secret(name, namespace)
    except ApiException as e:
        if e.status == 404:
            return None
        raise ApplyError(f"reading Secret {name} failed: {describe_api_error(e)}") from None


def _check_adoptable(live: Any, name: str, adopt: bool) -> None:
    """Raise ConflictError unless ``adopt`` may take over the live Secret ``name``."""
    writer = (live.metadata.labels or {}).get(OWNER_LABEL)
    if writer:
        raise ConflictError(
            f"Secret {name} is written by EnvPayload {writer}; one Secret can have one "
            f"EnvPayload (if {writer} is gone, remove the label {OWNER_LABEL} from the "
            "Secret to adopt it)"
        )
    if not adopt:
        raise ConflictError(
            f"Secret {name} already exists and is not managed by this EnvPayload; "
            "set spec.target.adopt to take it over"
        )


def _is_managed_by(live: Any, owner: Owner) -> bool:
    labels = live.metadata.labels or {}
    if labels.get(OWNER_LABEL) == owner.name:
        return True
    return any(ref.uid == owner.uid for ref in live.metadata.owner_references or ())


def _matches(live: Any, desired: dict[str, Any], owner: Owner) -> bool:
    """True when applying ``desired`` would change nothing we manage."""
    meta = desired["metadata"]
    if (live.data or {}) != desired["data"] or (live.type or "Opaque") != desired["type"]:
        return False
    labels = live.metadata.labels or {}
    if any(labels.get(k) != v for k, v in meta["labels"].items()):
        return False
    ours = [r for r in live.metadata.owner_references or () if r.uid == owner.uid]
    if "ownerReferences" in meta:
        return len(ours) == 1 and bool(ours[0].controller)
    return not ours


def _remove_keys(
    core: client.CoreV1Api, name: str, namespace: str, version: str, keys: list[str]
) -> str:
    """Remove ``keys`` from the Secret at ``version``; returns its version after."""
    # The test op makes the removal fail rather than race with a concurrent writer.
    patch: list[dict[str, Any]] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": version}
    ]
    patch += [{"op": "remove", "path": f"/data/{_pointer(key)}"} for key in keys]
    result = core.patch_namespaced_secret(
        name, namespace, patch, _content_type="application/json-patch+json"
    )
    assert result.metadata is not None
    return str(result.metadata.resource_version)


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
