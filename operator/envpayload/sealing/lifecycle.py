"""When a sealing key is born, retired and deleted: pure decisions, unit-tested.

- A new key is generated when the active one is older than the rotation period (30 days
  by default). The previous key is then *retired*: it seals nothing new but keeps
  opening what it sealed.
- A retired key is deleted only when all of these hold, because deleting a key that an
  envelope still needs breaks that payload for good:

  1. it has been retired for at least the retention period (none: never deleted);
  2. the scan of the cluster's EnvPayloads is complete: every one that is not being
     deleted has been synced at its current generation and is Ready, so no envelope
     waits in a source that the scan cannot see into;
  3. no EnvPayload's status names it as the key that opened its payload, and no inline
     envelope names it in its header.

Envelopes kept outside the cluster (in git, in CI artifacts) cannot be seen. That is
what the retention period is for, and why a deleted key's envelopes fail with an error
naming the key id, so the owner knows to re-seal.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

from envpayload.sealing.keys import Keyset


@dataclass(frozen=True)
class KeyUsage:
    """Which EnvPayloads use which keys, as a scan of the cluster found them.

    ``users`` maps a key id to the EnvPayloads (``namespace/name``) that use it.
    ``unsettled`` lists EnvPayloads whose source may hold an envelope the scan cannot
    see; ``error`` says why the scan could not run. Either makes the scan incomplete.
    """

    users: Mapping[str, frozenset[str]] = field(default_factory=dict)
    unsettled: tuple[str, ...] = ()
    error: str = ""

    @property
    def complete(self) -> bool:
        return not self.unsettled and not self.error

    def in_use(self, key_id: str) -> bool:
        return bool(self.users.get(key_id))


def rotation_due(keyset: Keyset, now: datetime.datetime, period: datetime.timedelta) -> bool:
    """True when there is no key yet, or the active one is at least ``period`` old."""
    active = keyset.active
    return active is None or now - active.created >= period


def next_rotation(keyset: Keyset, period: datetime.timedelta) -> datetime.datetime | None:
    """When the active key falls due for rotation; None when there is no key at all."""
    active = keyset.active
    return None if active is None else active.created + period


def keys_to_delete(
    keyset: Keyset,
    usage: KeyUsage,
    now: datetime.datetime,
    retention: datetime.timedelta | None,
) -> tuple[str, ...]:
    """The ids of retired keys that may go now (see the module's rules); often none."""
    if retention is None or not usage.complete:
        return ()
    doomed = []
    for key in keyset.keys:
        retired_at = keyset.retired_at(key.id)
        if retired_at is None or now - retired_at < retention or usage.in_use(key.id):
            continue
        doomed.append(key.id)
    return tuple(doomed)
