"""Kubernetes Events about EnvPayloads and the workloads they restart.

Events are posted through Kopf's background poster, so posting never blocks a sync, and
only on something worth a line in ``kubectl describe``: a write, a failure or a change
of failure, a recovery. A refresh that finds nothing new posts nothing (Events are API
writes too). Reasons are the fixed words below, so people can filter on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

import kopf

# Every reason this operator posts, in one place.
SYNCED: Final = "Synced"
RECOVERED: Final = "Recovered"
ROLLOUT_RESTARTED: Final = "Restarted"
ROLLOUT_NOTIFIED: Final = "RestartNeeded"
ROLLOUT_SKIPPED_PAUSED: Final = "RestartSkippedPaused"
ROLLOUT_FAILED: Final = "RolloutFailed"
ROLLED_BACK: Final = "RolledBack"
ROTATION_DUE: Final = "RotationDue"
SEALING_KEY_RETIRED: Final = "SealingKeyRetired"

# Failure reasons come from the errors themselves (errors.py): SourceUnavailable,
# SourceNotFound, SourceForbidden, EnvelopeRejected, UnknownSealingKey, EnvelopeReplayed,
# InvalidPayload, ValidationFailed, Conflict, ApplyFailed, InternalError.


def normal(obj: Mapping[str, Any], reason: str, message: str) -> None:
    kopf.event(cast(kopf.Body, obj), type="Normal", reason=reason, message=message)


def warning(obj: Mapping[str, Any], reason: str, message: str) -> None:
    kopf.event(cast(kopf.Body, obj), type="Warning", reason=reason, message=message)
