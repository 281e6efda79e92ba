"""The sync loop's rollout step: carry out a sync's plan, and tell people what it did.

The plan was made in the sync's thread (``reconcile``); here, on the event loop, the
runtime's :class:`~envpayload.rollout.runner.RolloutRunner` carries it out, each result
becomes Events on the workload and on the EnvPayload as it happens, and the report
becomes ``status.rollouts`` and the ``RolledOut`` condition.

A rollout that was rolled back turns the sync into a failure (``RolledBack``): the
Secret no longer holds what the source says, on purpose, and Ready says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from envpayload.errors import RolledBackError
from envpayload.reconcile import Outcome, Subject
from envpayload.report import events
from envpayload.report.status import Status, set_condition
from envpayload.rollout.plan import RolloutPlan
from envpayload.rollout.runner import RolloutRunner
from envpayload.rollout.summary import (
    FAILED,
    HELD,
    NOTIFIED,
    PAUSED,
    RESTARTED,
    ROLLED_BACK,
    RolloutReport,
    WorkloadResult,
    describe_for_workload,
    describe_result,
    rolled_out_condition,
    status_entries,
)

Log = logging.Logger | logging.LoggerAdapter[Any]

# Outcome -> (Event type, reason); outcomes missing here post no Event.
_EVENTS: dict[str, tuple[str, str]] = {
    RESTARTED: ("Normal", events.ROLLOUT_RESTARTED),
    NOTIFIED: ("Normal", events.ROLLOUT_NOTIFIED),
    PAUSED: ("Warning", events.ROLLOUT_SKIPPED_PAUSED),
    FAILED: ("Warning", events.ROLLOUT_FAILED),
    HELD: ("Warning", events.ROLLOUT_FAILED),
    ROLLED_BACK: ("Warning", events.ROLLED_BACK),
}


@runtime_checkable
class RolloutObserver(Protocol):
    """An observer (see ``runtime.Observer``) that also wants every rollout's report."""

    def rolled_out(self, subject: Subject, report: RolloutReport) -> None: ...


async def roll_out(
    runner: RolloutRunner | None,
    body: Mapping[str, Any],
    subject: Subject,
    outcome: Outcome,
    log: Log,
    newer: asyncio.Event | None = None,
) -> Outcome:
    """Carry out ``outcome.plan``; the outcome with the report, status and any failure.

    ``newer`` set (a new content or spec arrived) ends the watch early: the next sync
    plans again from the newest content.
    """
    plan = outcome.plan
    if runner is None or plan is None or not plan.decisions:
        return outcome

    reporter = _Reporter(body, plan, subject.status.get("rollouts") or (), log)
    report = await runner.run(plan, reporter.tell, newer)

    conditions = [c for c in (rolled_out_condition(report),) if c is not None]
    synced = dataclasses.replace(
        outcome.synced,
        rollouts=status_entries(subject.status.get("rollouts"), report, plan.consumers),
        extra_conditions=(*outcome.synced.extra_conditions, *conditions),
    )
    held = RolledBackError(plan.secret_name) if report.rolled_back else outcome.held
    return dataclasses.replace(outcome, synced=synced, rollout=report, held=held)


def with_rollout(
    status: Status, outcome: Outcome, generation: int, now: datetime.datetime
) -> Status:
    """A failed sync's status, with what its rollout did (entries, RolledOut condition)."""
    status = dict(status)
    if outcome.synced.rollouts is not None:
        status["rollouts"] = [dict(r) for r in outcome.synced.rollouts]
    conditions: list[dict[str, Any]] = list(status.get("conditions") or ())
    for extra in outcome.synced.extra_conditions:
        conditions = set_condition(conditions, generation=generation, now=now, **extra)
    status["conditions"] = conditions
    return status


class _Reporter:
    """Turns each result into Events and a log line as the runner reports it."""

    def __init__(
        self, body: Mapping[str, Any], plan: RolloutPlan, previous: Sequence[Any], log: Log
    ) -> None:
        self._body = body
        self._plan = plan
        self._uids = {d.ref: d.uid for d in plan.decisions}
        self._previous = {
            (e.get("kind"), e.get("name"), e.get("fingerprint"), e.get("outcome"))
            for e in previous
            if isinstance(e, Mapping)
        }
        self._log = log

    def tell(self, result: WorkloadResult) -> None:
        event = _EVENTS.get(result.outcome)
        if event is None:
            return
        # A paused workload stays paused across syncs: say it once per content.
        if result.outcome == PAUSED and self._already_reported(result):
            return
        type_, reason = event

        about = describe_result(result)
        self._log.info("%s (Secret %s)", about, self._plan.secret_name)
        workload = {
            "apiVersion": "apps/v1",
            "kind": result.ref.kind,
            "metadata": {
                "name": result.ref.name,
                "namespace": self._plan.namespace,
                "uid": self._uids.get(result.ref, ""),
            },
        }
        post = events.warning if type_ == "Warning" else events.normal
        post(
            workload,
            reason,
            describe_for_workload(result, self._plan.secret_name, self._plan.envpayload),
        )
        post(self._body, reason, about)

    def _already_reported(self, result: WorkloadResult) -> bool:
        key = (result.ref.kind, result.ref.name, result.fingerprint, result.outcome)
        return key in self._previous
