"""Which alerts to send: on transitions, never on every retry.

People on call want to hear about an EnvPayload when something changes for it, not
every time the operator retries. :class:`AlertTracker` remembers, per EnvPayload, what
was last reported and turns each sync's result into zero or more :class:`Alert` s:

- ``Failing`` when a sync fails while the EnvPayload was healthy, or fails for another
  reason than before (a new failing state); one ``Recovered`` when it syncs again;
- ``SlowSync`` / ``SlowRollout`` when work takes longer than the threshold, once until
  work is fast again;
- ``RolloutFailed`` for every rollout that did not finish and was not rolled back (the
  Secret is in sync, so this is no failing sync; a rollback is one, ``RolledBack``);
- ``RotationOverdue`` when the payload has not changed for longer than
  ``spec.rotation.maxAge``, once per overdue period (a new change starts a new period).

The memory is per process. So that a restarted operator does not alert again about a
state it already knew, the first look at each EnvPayload starts from its status: a
``Ready=False`` condition means the failure was known (its ``lastTransitionTime`` says
since when), a ``RotationDue=True`` condition that the overdue payload was reported.

Alerts name the EnvPayload, the reason and key names. Their texts come from error
messages (which by construction name lines and keys, never values) and from names.
Pure: no I/O, and the clock is injected.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from envpayload.conventions import find_condition, format_time, parse_time
from envpayload.errors import EnvPayloadError
from envpayload.report import rotation

Clock = Callable[[], datetime.datetime]
Severity = Literal["critical", "warning", "resolved"]

# An alert lists at most this many key names; the rest are counted.
MAX_KEYS_SHOWN: Final = 20


class AlertKind(enum.StrEnum):
    FAILING = "Failing"
    RECOVERED = "Recovered"
    SLOW_SYNC = "SlowSync"
    SLOW_ROLLOUT = "SlowRollout"
    ROLLOUT_FAILED = "RolloutFailed"
    ROTATION_OVERDUE = "RotationOverdue"


@dataclass(frozen=True)
class Alert:
    """One message for the people on call; every field is safe to show."""

    kind: AlertKind
    severity: Severity
    namespace: str
    name: str
    reason: str
    summary: str
    details: str
    time: datetime.datetime
    keys: tuple[str, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()

    @property
    def subject(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class SyncResult:
    """What one sync of an EnvPayload did, as alerting needs to know it.

    ``previous_status`` is the status before the sync; ``error`` is None on success.
    """

    namespace: str
    name: str
    previous_status: Mapping[str, Any]
    seconds: float
    error: EnvPayloadError | None = None
    secret_name: str = ""
    changed_keys: Sequence[str] = ()
    keys: Sequence[str] = ()
    last_change: datetime.datetime | None = None
    rotation_max_age: datetime.timedelta | None = None


@dataclass
class _Memory:
    """What was last reported about one EnvPayload."""

    failing: str | None = None
    failing_since: datetime.datetime | None = None
    slow_sync: bool = False
    slow_rollout: bool = False
    rotation_reported_for: datetime.datetime | None = None

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> _Memory:
        """What an earlier run of the operator had already reported, judged from status."""
        memory = cls()
        ready = find_condition(status, "Ready")
        if ready.get("status") == "False":
            memory.failing = str(ready.get("reason") or "SyncFailed")
            memory.failing_since = parse_time(ready.get("lastTransitionTime"))
        if rotation.known_overdue(status):
            memory.rotation_reported_for = parse_time(status.get("lastChangeTime"))
        return memory


@dataclass
class AlertTracker:
    """Turns sync results into alerts, remembering per EnvPayload what was reported."""

    threshold_seconds: float
    clock: Clock = field(default=lambda: datetime.datetime.now(datetime.UTC))
    _memory: dict[tuple[str, str], _Memory] = field(default_factory=dict)

    def observe(self, result: SyncResult) -> list[Alert]:
        """The alerts one sync's result calls for (often none)."""
        memory = self._remembered(result.namespace, result.name, result.previous_status)
        now = self.clock()

        alerts = [
            *self._health(result, memory, now),
            *self._slow_sync(result, memory, now),
            *self._rotation(result, memory, now),
        ]
        return alerts

    def observe_rollout(
        self,
        namespace: str,
        name: str,
        seconds: float,
        workloads: Sequence[str],
        previous_status: Mapping[str, Any],
    ) -> list[Alert]:
        """The alerts one finished rollout calls for: a slow one, once until fast again.

        ``workloads`` are names such as ``Deployment/web``. A rollout that failed is
        reported by :meth:`rollout_failed`, or, rolled back, as a failing sync.
        """
        memory = self._remembered(namespace, name, previous_status)
        slow = self._is_slow(seconds)
        reported, memory.slow_rollout = memory.slow_rollout, slow
        if not slow or reported:
            return []
        return [
            self._slow(
                AlertKind.SLOW_ROLLOUT,
                (namespace, name),
                f"rollout took {seconds:.0f}s",
                f"Restarted: {', '.join(workloads) or 'none'}.",
                seconds,
                self.clock(),
            )
        ]

    def rollout_failed(
        self, namespace: str, name: str, details: str, keys: Sequence[str] = ()
    ) -> list[Alert]:
        """The alert for a rollout that did not finish: one per rollout, each is news.

        ``details`` names the workloads and why (the ``RolledOut`` condition's message).
        """
        return [
            _alert(
                AlertKind.ROLLOUT_FAILED,
                "critical",
                (namespace, name),
                ": restarted workloads did not become available",
                f"{details}. The Secret holds the new content; pods that did not restart "
                "still run the previous one.",
                self.clock(),
                reason="RolloutFailed",
                keys=keys,
            )
        ]

    def _remembered(self, namespace: str, name: str, status: Mapping[str, Any]) -> _Memory:
        """What was reported about the EnvPayload; at first, what its status shows.

        Whichever report comes first after a start (a sync or a rollout) seeds it from
        status, so a known failure is neither alerted again nor its recovery missed.
        """
        memory = self._memory.get((namespace, name))
        if memory is None:
            memory = self._memory[(namespace, name)] = _Memory.from_status(status)
        return memory

    def forget(self, namespace: str, name: str) -> None:
        """The EnvPayload was deleted: nothing more to report about it."""
        self._memory.pop((namespace, name), None)

    def _health(self, result: SyncResult, memory: _Memory, now: datetime.datetime) -> list[Alert]:
        where = (result.namespace, result.name)
        error = result.error
        if error is not None:
            if memory.failing == error.reason:
                return []  # the same failing state, retried: already reported
            was = memory.failing
            memory.failing = error.reason
            memory.failing_since = memory.failing_since if was else now
            return [
                _alert(
                    AlertKind.FAILING,
                    "critical",
                    where,
                    f" is failing: {error.reason}" + (f" (was {was})" if was else ""),
                    f"{_full_stop(str(error))} The Secret keeps its last good content until "
                    "this is fixed.",
                    now,
                    reason=error.reason,
                    facts=(("Retrying", "yes" if error.retryable else "after a change"),),
                )
            ]

        if memory.failing is None:
            return []
        was, since = memory.failing, memory.failing_since
        memory.failing = memory.failing_since = None
        secret = f"Secret {result.secret_name}" if result.secret_name else "The Secret"
        return [
            _alert(
                AlertKind.RECOVERED,
                "resolved",
                where,
                " recovered" + (f" after {rotation.describe_age(now - since)}" if since else ""),
                f"{secret} is in sync again; it was failing with {was}.",
                now,
                keys=result.changed_keys,
                facts=(("Was", was),),
            )
        ]

    def _slow_sync(
        self, result: SyncResult, memory: _Memory, now: datetime.datetime
    ) -> list[Alert]:
        slow = self._is_slow(result.seconds)
        reported, memory.slow_sync = memory.slow_sync, slow
        if not slow or reported:
            return []
        outcome = f"failed with {result.error.reason}" if result.error else "succeeded"
        return [
            self._slow(
                AlertKind.SLOW_SYNC,
                (result.namespace, result.name),
                f"sync took {result.seconds:.0f}s",
                f"The sync {outcome}.",
                result.seconds,
                now,
                keys=result.changed_keys,
            )
        ]

    def _rotation(self, result: SyncResult, memory: _Memory, now: datetime.datetime) -> list[Alert]:
        last_change, max_age = result.last_change, result.rotation_max_age
        if max_age is None or not rotation.is_overdue(last_change, max_age, now):
            memory.rotation_reported_for = None
            return []
        assert last_change is not None  # is_overdue says so
        if memory.rotation_reported_for == last_change:
            return []  # this overdue period was reported already
        memory.rotation_reported_for = last_change

        limit = rotation.describe_duration(max_age)
        age = rotation.describe_age(now - last_change)
        return [
            _alert(
                AlertKind.ROTATION_OVERDUE,
                "warning",
                (result.namespace, result.name),
                f": credentials unchanged for {age}, longer than rotation.maxAge {limit}",
                f"The payload last changed at {format_time(last_change)}. Rotate the credentials "
                "it holds and update the source.",
                now,
                keys=result.keys,
                facts=(("Last change", format_time(last_change)), ("Max age", limit)),
            )
        ]

    def _slow(
        self,
        kind: AlertKind,
        where: tuple[str, str],
        what: str,
        details: str,
        seconds: float,
        now: datetime.datetime,
        keys: Sequence[str] = (),
    ) -> Alert:
        return _alert(
            kind,
            "warning",
            where,
            f": {what}, over the {self.threshold_seconds:g}s threshold",
            details,
            now,
            keys=keys,
            facts=(("Duration", f"{seconds:.1f}s"), ("Threshold", f"{self.threshold_seconds:g}s")),
        )

    def _is_slow(self, seconds: float) -> bool:
        return self.threshold_seconds > 0 and seconds > self.threshold_seconds


def _alert(
    kind: AlertKind,
    severity: Severity,
    where: tuple[str, str],
    headline: str,
    details: str,
    now: datetime.datetime,
    *,
    reason: str | None = None,
    keys: Sequence[str] = (),
    facts: tuple[tuple[str, str], ...] = (),
) -> Alert:
    """An alert about the EnvPayload ``where``; its summary starts with its name."""
    namespace, name = where
    return Alert(
        kind=kind,
        severity=severity,
        namespace=namespace,
        name=name,
        reason=reason or str(kind),
        summary=f"EnvPayload {namespace}/{name}{headline}",
        details=details,
        time=now,
        keys=_shown(keys),
        facts=facts,
    )


def _full_stop(text: str) -> str:
    """``text`` ending as a sentence, so a sentence can follow it."""
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _shown(keys: Sequence[str]) -> tuple[str, ...]:
    """At most :data:`MAX_KEYS_SHOWN` key names, then how many more there are."""
    keys = tuple(keys)
    if len(keys) <= MAX_KEYS_SHOWN:
        return keys
    return (*keys[:MAX_KEYS_SHOWN], f"(+{len(keys) - MAX_KEYS_SHOWN} more)")
