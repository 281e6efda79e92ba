"""Kubernetes Events about EnvPayloads and the workloads they restart.

Events are posted through Kopf's background poster, so posting never blocks a sync, and
only on something worth a line in ``kubectl describe``: a write, a failure or a change
of failure, a recovery, a payload overdue for rotation. A refresh that finds nothing new
posts nothing (Events are API writes too).

Reasons are fixed CamelCase words, listed below and in ``docs/observability.md``, so
people can filter on them (``kubectl get events --field-selector reason=Conflict``).
A failure's reason is its error's ``reason`` (errors.py), the same word as the Ready
condition's reason and the ``reason`` label of ``envpayload_sync_errors_total``; a test
checks that every error's reason is in :data:`FAILURE_REASONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

import kopf

# Normal Events.
SYNCED: Final = "Synced"
RECOVERED: Final = "Recovered"
ROLLOUT_RESTARTED: Final = "Restarted"
ROLLOUT_NOTIFIED: Final = "RestartNeeded"

# Warning Events that are not sync failures.
ROLLOUT_SKIPPED_PAUSED: Final = "RestartSkippedPaused"
ROLLED_BACK: Final = "RolledBack"  # also a failure: Ready says so until the source changes
# A restarted workload that did not become available, or one left out after that.
ROLLOUT_FAILED: Final = "RolloutFailed"
ROTATION_DUE: Final = "RotationDue"
SEALING_KEY_RETIRED: Final = "SealingKeyRetired"

# Warning Events for failed syncs: the reasons of the errors in errors.py and of the
# few errors defined beside the code that raises them.
FAILURE_REASONS: Final = frozenset(
    {
        "SyncFailed",
        "SourceUnavailable",
        "SourceNotFound",
        "SourceForbidden",
        "SourceRateLimited",
        "EnvelopeRejected",
        "UnknownSealingKey",
        "EnvelopeReplayed",
        "InvalidPayload",
        "ValidationFailed",
        "Conflict",
        "RolloutFailed",
        "RolledBack",
        "InvalidSelector",
        "WorkloadsUnavailable",
        "ApplyFailed",
        "KeyringUnavailable",
        "InternalError",
    }
)

NORMAL_REASONS: Final = frozenset({SYNCED, RECOVERED, ROLLOUT_RESTARTED, ROLLOUT_NOTIFIED})
WARNING_REASONS: Final = FAILURE_REASONS | {
    ROLLOUT_SKIPPED_PAUSED,
    ROLLED_BACK,
    ROTATION_DUE,
    SEALING_KEY_RETIRED,
}


def normal(obj: Mapping[str, Any], reason: str, message: str) -> None:
    kopf.event(cast(kopf.Body, obj), type="Normal", reason=reason, message=message)


def warning(obj: Mapping[str, Any], reason: str, message: str) -> None:
    kopf.event(cast(kopf.Body, obj), type="Warning", reason=reason, message=message)
