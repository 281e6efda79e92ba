"""The EnvPayload's status, computed from what a sync did: a pure function.

Status is written only when it differs from what is there, so a refresh that finds
nothing new writes nothing. For the same reason no field here holds a clock reading
unless something happened: ``lastSyncTime`` moves when a new source version, a new
spec or a recovery was synced, ``lastChangeTime`` when the Secret's content changed,
and a condition's ``lastTransitionTime`` when its status flips.

Nothing in status ever carries a payload value: key names, version markers, key ids and
counts only.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from envpayload.conventions import find_condition, format_time
from envpayload.errors import EnvPayloadError

Status = dict[str, Any]


@dataclass(frozen=True)
class Synced:
    """What a successful sync produced, as status needs to know it."""

    source_kind: str
    source_version: str
    secret_name: str
    keys: Sequence[str]
    written: bool
    changed_keys: Sequence[str]
    warnings: Sequence[str] = ()
    sealing_key_id: str | None = None
    sealed_serial: int | None = None
    extra_conditions: Sequence[Mapping[str, str]] = field(default=())
    rollouts: Sequence[Mapping[str, Any]] | None = None
    # Secrets written under a former target name and kept, since workloads read them.
    former_secret_names: Sequence[str] = ()


def set_condition(
    conditions: Sequence[Mapping[str, Any]],
    *,
    type: str,
    status: str,
    reason: str,
    message: str,
    generation: int,
    now: datetime.datetime,
) -> list[dict[str, Any]]:
    """Conditions with ``type`` set; its transition time moves only when status flips."""
    previous = next((c for c in conditions if c.get("type") == type), None)
    changed = previous is None or previous.get("status") != status
    condition = {
        "type": type,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": format_time(now) if changed else previous["lastTransitionTime"],  # type: ignore[index]
    }
    others = [dict(c) for c in conditions if c.get("type") != type]
    return sorted([*others, condition], key=lambda c: (c["type"] != "Ready", c["type"]))


def is_ready(status: Mapping[str, Any] | None) -> bool:
    return find_condition(status, "Ready").get("status") == "True"


def synced_status(
    previous: Mapping[str, Any] | None, synced: Synced, generation: int, now: datetime.datetime
) -> Status:
    """Status after a successful sync."""
    previous = previous or {}
    news = (
        synced.written
        or previous.get("sourceVersion") != synced.source_version
        or previous.get("observedGeneration") != generation
        or not is_ready(previous)
    )
    changed = synced.written and bool(synced.changed_keys)
    keys = list(synced.keys)
    message = f"Secret {synced.secret_name} holds {len(keys)} keys from {synced.source_kind}"

    conditions = set_condition(
        previous.get("conditions") or (),
        type="Ready",
        status="True",
        reason="Synced",
        message=message,
        generation=generation,
        now=now,
    )
    for extra in synced.extra_conditions:
        conditions = set_condition(conditions, generation=generation, now=now, **extra)

    status: Status = {
        "observedGeneration": generation,
        "conditions": conditions,
        "keys": keys,
        "keyCount": len(keys),
        "secretName": synced.secret_name,
        "sourceKind": synced.source_kind,
        "sourceVersion": synced.source_version,
        "lastSyncTime": format_time(now)
        if news
        else previous.get("lastSyncTime", format_time(now)),
        "lastChangeTime": format_time(now)
        if changed or "lastChangeTime" not in previous
        else previous["lastChangeTime"],
    }
    if synced.warnings:
        status["warnings"] = list(synced.warnings)
    if synced.former_secret_names:
        status["formerSecretNames"] = list(synced.former_secret_names)
    if synced.sealing_key_id is not None:
        status["sealingKeyId"] = synced.sealing_key_id
    if synced.sealed_serial is not None:
        status["sealedSerial"] = synced.sealed_serial
    rollouts = synced.rollouts if synced.rollouts is not None else previous.get("rollouts")
    if rollouts:
        status["rollouts"] = [dict(r) for r in rollouts]
    return status


def failed_status(
    previous: Mapping[str, Any] | None,
    error: EnvPayloadError,
    generation: int,
    now: datetime.datetime,
    source_kind: str | None = None,
) -> Status:
    """Status after a failed sync: the last good facts stay, Ready says why not."""
    status: Status = dict(previous or {})
    status["observedGeneration"] = generation
    status["conditions"] = set_condition(
        status.get("conditions") or (),
        type="Ready",
        status="False",
        reason=error.reason,
        message=str(error),
        generation=generation,
        now=now,
    )
    if source_kind is not None:
        status["sourceKind"] = source_kind
    return status
