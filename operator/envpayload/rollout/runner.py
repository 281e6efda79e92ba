"""Carrying out a rollout plan: restarts, waits for health, stops and rollbacks.

The plan (``plan.py``) says which consumers must restart; the runner restarts them
through the operator-wide :class:`~envpayload.rollout.coordinator.RestartCoordinator`,
then watches them until they are available or the timeout passes:

- ``Parallel`` restarts every consumer at once and waits for all of them;
- ``Sequential`` restarts one, waits until it is available, then the next; a consumer
  that is not available in time stops the sequence, and the ones after it are held:
  settled with the new content without a restart, so later syncs do not carry on with a
  rollout that already failed (a new content restarts them as usual);
- with ``rollbackOnFailure``, a failure writes the previous content back into the Secret
  (marked as rolled back, so it is not applied again) and restarts the consumers that
  already restarted back onto it, putting their markers back as they were.

Waiting never holds a thread nor blocks the event loop: each check is one read in the
executor, and the runner sleeps on the event loop in between. When a newer content
arrives meanwhile (the ``newer`` event), the runner stops waiting at once: whatever it
still waited for is ``Superseded``, and the next sync plans from the newest content (a
restart still queued in the coordinator merges with the newer one).

NB: the previous content a rollback needs is held in memory only, from the write of the
new content until the rollout ends; an operator that stops meanwhile cannot roll back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Executor
from dataclasses import replace
from typing import Any, TypeVar

from envpayload.errors import EnvPayloadError
from envpayload.rollout.cluster import WorkloadAccessError, WorkloadApi, WorkloadGoneError
from envpayload.rollout.coordinator import Landed, RestartCoordinator, retrieve_result
from envpayload.rollout.health import progress
from envpayload.rollout.markers import restart_changes, revert_changes, settle_changes
from envpayload.rollout.plan import NOTIFY, PAUSED, Decision, RolloutPlan
from envpayload.rollout.summary import (
    AVAILABLE,
    FAILED,
    HELD,
    NOTIFIED,
    RESTARTED,
    ROLLED_BACK,
    SUPERSEDED,
    RolloutReport,
    WorkloadResult,
)
from envpayload.rollout.workloads import describe

logger = logging.getLogger(__name__)

OnResult = Callable[[WorkloadResult], None]
Step = tuple[Decision, WorkloadResult]
T = TypeVar("T")


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class RolloutRunner:
    """Executes rollout plans; one per operator process, shared by every sync loop."""

    def __init__(
        self,
        api: WorkloadApi,
        coordinator: RestartCoordinator,
        executor: Executor | None,
        *,
        poll_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime.datetime] = _utc_now,
    ) -> None:
        self.api = api
        self.coordinator = coordinator
        self.executor = executor
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.now = now

    async def run(
        self, plan: RolloutPlan, on_result: OnResult, newer: asyncio.Event | None = None
    ) -> RolloutReport:
        """Carry out ``plan``; ``on_result`` hears of every result as it happens.

        ``newer``, once set, ends every wait (see the module's docstring).
        """
        return await _Run(self, plan, on_result, newer or asyncio.Event()).execute()


class _Run:
    """One execution of one plan."""

    def __init__(
        self, runner: RolloutRunner, plan: RolloutPlan, on_result: OnResult, newer: asyncio.Event
    ) -> None:
        self.runner = runner
        self.plan = plan
        self.on_result = on_result
        self.newer = newer
        self.started = runner.clock()

    async def execute(self) -> RolloutReport:
        plan = self.plan
        steps: list[Step] = []
        for decision in plan.decisions:
            if decision.action == NOTIFY:
                steps.append((decision, await self._notify(decision)))
            elif decision.action == PAUSED:
                message = "a paused Deployment is not restarted; resume it to restart"
                steps.append((decision, self._result(decision, outcome=PAUSED, message=message)))
            else:
                continue
            self.on_result(steps[-1][1])

        rolled_back = False
        if plan.restarts:
            if plan.rollout.strategy == "Sequential":
                restarts = await self._sequential()
            else:
                restarts = await self._parallel()
            failed = any(r.outcome == FAILED for _, r in restarts)
            # A newer content is on its way: it replaces this one, no need to go back.
            if failed and plan.rollout.rollback_on_failure and not self.newer.is_set():
                restarts, rolled_back = await self._rollback(restarts)
            steps += restarts

        return RolloutReport(
            secret_name=plan.secret_name,
            mode=plan.rollout.mode,
            strategy=plan.rollout.strategy,
            results=tuple(result for _, result in steps),
            seconds=self.runner.clock() - self.started,
            rolled_back=rolled_back,
        )

    # -- strategies ----------------------------------------------------------------------

    async def _parallel(self) -> list[Step]:
        restarted = await asyncio.gather(*(self._restart(d) for d in self.plan.restarts))
        finals = await asyncio.gather(*(self._settle(r, landed) for _, r, landed in restarted))
        steps = [(d, final) for (d, _, _), final in zip(restarted, finals, strict=True)]
        for _, final in steps:
            if final.outcome == FAILED:
                self.on_result(final)
        return steps

    async def _sequential(self) -> list[Step]:
        steps: list[Step] = []
        restarts = self.plan.restarts
        for index, decision in enumerate(restarts):
            _, result, landed = await self._restart(decision)
            final = await self._settle(result, landed)
            steps.append((decision, final))
            if final.outcome == SUPERSEDED:
                break  # the next sync restarts the rest onto the newer content
            if final.outcome != FAILED:
                continue

            self.on_result(final)
            rollout = self.plan.rollout
            will_roll_back = rollout.rollback_on_failure and self.plan.restore is not None
            for later in restarts[index + 1 :]:
                held = await self._hold(later, decision, settle=not will_roll_back)
                steps.append((later, held))
                self.on_result(held)
            break
        return steps

    # -- one workload --------------------------------------------------------------------

    async def _restart(self, decision: Decision) -> tuple[Decision, WorkloadResult, Landed | None]:
        """Write the restart marker (through the coordinator, which may hold it a while)."""
        plan = self.plan
        changes = restart_changes(plan.secret_name, decision.fingerprint)
        submitted = self.runner.coordinator.submit(plan.namespace, decision.ref, changes)
        try:
            landed = await self._unless_newer(submitted)
        except WorkloadAccessError as e:
            logger.warning("Restarting %s/%s failed: %s", plan.namespace, describe(decision.ref), e)
            return decision, self._result(decision, outcome=FAILED, message=str(e)), None
        if landed is None:
            return decision, self._result(decision, outcome=SUPERSEDED), None

        logger.info(
            "Restarted %s/%s for keys %s of Secret %s (marker %s)",
            plan.namespace,
            describe(decision.ref),
            ", ".join(decision.keys),
            plan.secret_name,
            decision.fingerprint,
        )
        result = self._result(decision, outcome=RESTARTED)
        self.on_result(result)
        return decision, result, landed

    async def _settle(self, result: WorkloadResult, landed: Landed | None) -> WorkloadResult:
        """Wait until the restarted workload is available, has failed, or ran out of time."""
        if landed is None:
            return result
        plan, clock = self.plan, self.runner.clock
        timeout = plan.rollout.timeout.total_seconds()
        deadline = landed.at + timeout
        while not self.newer.is_set():
            try:
                obj = await self._in_executor(self.runner.api.read, plan.namespace, result.ref)
            except WorkloadGoneError as e:
                return replace(result, outcome=FAILED, message=str(e))
            except WorkloadAccessError as e:
                # A failed read says nothing about the rollout: try again until the deadline.
                obj, waiting_for = None, str(e)
            if obj is not None:
                state = progress(result.ref.kind, obj, landed.generation)
                if not state.watched:
                    message = "its pods take the new content when deleted (OnDelete)"
                    return replace(result, message=message)
                if state.done:
                    return replace(result, outcome=AVAILABLE)
                if state.failure is not None:
                    return replace(result, outcome=FAILED, message=state.failure)
                waiting_for = state.waiting_for

            remaining = deadline - clock()
            if remaining <= 0:
                message = f"not available within {timeout:g}s; waiting for {waiting_for}"
                logger.warning(
                    "Rollout of %s/%s failed: %s", plan.namespace, describe(result.ref), message
                )
                return replace(result, outcome=FAILED, message=message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.newer.wait(), timeout=min(self.runner.poll_seconds, remaining)
                )
        return replace(result, outcome=SUPERSEDED)

    async def _notify(self, decision: Decision) -> WorkloadResult:
        """Mode Notify: announce the restart and settle, so it is announced once."""
        changes = settle_changes(self.plan.secret_name, decision.fingerprint)
        try:
            await self.runner.coordinator.submit(self.plan.namespace, decision.ref, changes)
        except WorkloadAccessError as e:
            return self._result(decision, outcome=NOTIFIED, message=str(e))
        return self._result(decision, outcome=NOTIFIED)

    async def _hold(
        self, decision: Decision, stopped_at: Decision, *, settle: bool
    ) -> WorkloadResult:
        """Leave a workload after a stopped Sequential rollout as it is."""
        message = f"the Sequential rollout stopped at {describe(stopped_at.ref)}"
        if settle:
            changes = settle_changes(self.plan.secret_name, decision.fingerprint)
            try:
                await self.runner.coordinator.submit(self.plan.namespace, decision.ref, changes)
            except WorkloadAccessError as e:
                message = f"{message}; {e}"
        return self._result(decision, outcome=HELD, message=message)

    # -- rollback ------------------------------------------------------------------------

    async def _rollback(self, steps: Sequence[Step]) -> tuple[list[Step], bool]:
        """Restore the previous content, then restart the restarted consumers back onto it."""
        plan = self.plan
        where = f"{plan.namespace}/{plan.secret_name}"
        if plan.restore is None:
            logger.warning("Cannot roll back Secret %s: it had no previous content", where)
            return list(steps), False
        try:
            await self._in_executor(plan.restore)
        except EnvPayloadError as e:
            logger.error("Rolling back Secret %s failed: %s", where, e)
            return list(steps), False
        logger.warning("Rolled back Secret %s to its previous content", where)

        finals = await asyncio.gather(*(self._restart_back(d, r) for d, r in steps))
        return [(d, final) for (d, _), final in zip(steps, finals, strict=True)], True

    async def _restart_back(self, decision: Decision, result: WorkloadResult) -> WorkloadResult:
        """Put a restarted workload's marker back as it was, and wait for it."""
        if not result.restarted or decision.previous_fingerprint is None:
            return result
        changes = revert_changes(
            self.plan.secret_name, decision.marker_before, decision.previous_fingerprint
        )
        try:
            landed = await self.runner.coordinator.submit(
                self.plan.namespace, decision.ref, changes, urgent=True
            )
        except WorkloadAccessError as e:
            return replace(result, message=f"{result.message}; rolling back failed: {e}")
        settled = await self._settle(result, landed)
        state = (
            "available again"
            if settled.outcome == AVAILABLE
            else f"still not available: {settled.message}"
        )
        rolled = replace(
            result, outcome=ROLLED_BACK, message=f"{result.message}; rolled back, {state}"
        )
        self.on_result(rolled)
        return rolled

    # -- helpers -------------------------------------------------------------------------

    def _result(
        self,
        decision: Decision,
        *,
        outcome: str,
        message: str = "",
    ) -> WorkloadResult:
        return WorkloadResult(
            ref=decision.ref,
            outcome=outcome,
            keys=decision.keys,
            fingerprint=decision.fingerprint,
            time=self.runner.now(),
            message=message,
        )

    async def _unless_newer(self, work: Coroutine[Any, Any, T]) -> T | None:
        """The result of ``work``, or None when a newer content arrives first.

        ``work`` goes on regardless (a queued restart still lands, and merges with the
        newer one if that comes in time).
        """
        task = asyncio.ensure_future(work)
        waiter = asyncio.ensure_future(self.newer.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if task.done():
            return task.result()
        task.add_done_callback(retrieve_result)
        return None

    async def _in_executor(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.runner.executor, function, *args)
