"""What a rollout did, in the words status, Events, metrics and alerts use: pure.

The runner produces one :class:`WorkloadResult` per consumer it acted on; a
:class:`RolloutReport` gathers them with the rollout's duration. This module turns a
report into the ``status.rollouts`` entries (the last restart of every consumer) and the
``RolledOut`` condition. Nothing here carries a value: workload names, key names,
keyed fingerprints and outcomes only.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from envpayload.conventions import format_time
from envpayload.rollout.workloads import describe
from envpayload.spec import WorkloadRef

# Outcomes, as status.rollouts[].outcome shows them.
RESTARTED: Final = "Restarted"  # the marker landed; the rollout is not watched (OnDelete)
AVAILABLE: Final = "Available"  # restarted, and every replica is available again
FAILED: Final = "Failed"  # restarted, and not available within the timeout
ROLLED_BACK: Final = "RolledBack"  # failed, then restarted back onto the previous content
PAUSED: Final = "Paused"  # a paused Deployment: reported, not forced
NOTIFIED: Final = "Notified"  # mode Notify: announced, not restarted
HELD: Final = "Held"  # not restarted because a Sequential rollout stopped before it
SUPERSEDED: Final = "Superseded"  # a newer content arrived; the next rollout takes over

# Outcomes whose marker landed in the pod template: they count as restarts.
RESTART_OUTCOMES: Final = frozenset({RESTARTED, AVAILABLE, FAILED, ROLLED_BACK})

ROLLED_OUT: Final = "RolledOut"  # the condition type

# Enough workloads to name in a condition message without flooding it.
MAX_DESCRIBED: Final = 10


@dataclass(frozen=True)
class WorkloadResult:
    """What happened to one consumer, and when."""

    ref: WorkloadRef
    outcome: str
    keys: tuple[str, ...]
    fingerprint: str
    time: datetime.datetime
    message: str = ""

    @property
    def restarted(self) -> bool:
        return self.outcome in RESTART_OUTCOMES


@dataclass(frozen=True)
class RolloutReport:
    """One rollout of one EnvPayload's Secret, for status and for observers."""

    secret_name: str
    mode: str
    strategy: str
    results: tuple[WorkloadResult, ...] = ()
    seconds: float = 0.0
    rolled_back: bool = False

    @property
    def failed(self) -> bool:
        return any(r.outcome in (FAILED, ROLLED_BACK) for r in self.results)

    @property
    def restarted(self) -> tuple[WorkloadResult, ...]:
        return tuple(r for r in self.results if r.restarted)

    def result(self) -> str:
        """Available, Failed or RolledBack: the rollout as a whole (for metrics)."""
        if self.rolled_back:
            return ROLLED_BACK
        return FAILED if self.failed else AVAILABLE


def status_entries(
    previous: Sequence[Mapping[str, Any]] | None,
    report: RolloutReport,
    consumers: Sequence[WorkloadRef],
) -> list[dict[str, Any]] | None:
    """``status.rollouts`` after ``report``: one entry per current consumer.

    None when the report has nothing new, so status keeps what it had and a refresh that
    restarts nothing writes nothing. Entries of workloads that no longer consume the
    Secret are dropped.
    """
    if not report.results:
        return None
    fresh = {r.ref: _entry(r) for r in report.results}
    kept = {
        WorkloadRef(kind=str(e.get("kind")), name=str(e.get("name"))): dict(e)
        for e in previous or ()
    }
    entries = [fresh.get(ref) or kept.get(ref) for ref in consumers]
    return [e for e in entries if e is not None]


def rolled_out_condition(report: RolloutReport) -> dict[str, str] | None:
    """The ``RolledOut`` condition, when this rollout restarted (or could not restart)."""
    restarted = report.restarted
    paused = [r for r in report.results if r.outcome == PAUSED]
    if not restarted and not paused:
        return None

    if report.rolled_back:
        status, reason = "False", ROLLED_BACK
    elif report.failed:
        status, reason = "False", "RolloutFailed"
    elif paused:
        status, reason = "False", PAUSED
    else:
        status, reason = "True", ROLLED_OUT
    lines = [describe_result(r) for r in report.results[:MAX_DESCRIBED]]
    if len(report.results) > MAX_DESCRIBED:
        lines.append(f"and {len(report.results) - MAX_DESCRIBED} more (see status.rollouts)")
    return {"type": ROLLED_OUT, "status": status, "reason": reason, "message": "; ".join(lines)}


_WHAT: Final = {
    RESTARTED: "restarted",
    AVAILABLE: "restarted and available",
    FAILED: "restarted but not available",
    ROLLED_BACK: "rolled back to the previous content",
    PAUSED: "needs a restart but is paused",
    NOTIFIED: "needs a restart (mode Notify)",
    HELD: "not restarted",
    SUPERSEDED: "left to the rollout of a newer change",
}


def describe_result(result: WorkloadResult) -> str:
    """One line about one workload, for the EnvPayload: what happened, with key names."""
    return _sentence(f"{describe(result.ref)} {_WHAT.get(result.outcome, result.outcome)}", result)


def describe_for_workload(result: WorkloadResult, secret_name: str, envpayload: str) -> str:
    """The same line for the workload's own Event, naming where the keys come from."""
    what = _WHAT.get(result.outcome, result.outcome)
    source = f" of Secret {secret_name} (EnvPayload {envpayload})"
    return _sentence(what[:1].upper() + what[1:], result, source)


def _sentence(head: str, result: WorkloadResult, source: str = "") -> str:
    text = f"{head} for keys {', '.join(result.keys) or 'none'}{source}"
    return f"{text}: {result.message}" if result.message else text


def _entry(result: WorkloadResult) -> dict[str, Any]:
    return {
        "kind": result.ref.kind,
        "name": result.ref.name,
        "keys": list(result.keys),
        "fingerprint": result.fingerprint,
        "time": format_time(result.time),
        "outcome": result.outcome,
    }
