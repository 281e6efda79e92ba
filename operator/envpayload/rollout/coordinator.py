"""One place per operator process where restarts of the same workload meet and merge.

Several EnvPayloads may feed one workload (a database Secret and an API-key Secret, say),
and a CI job that rotates both updates them within a second. Each of their sync loops
decides on its own that the workload must restart; restarting it once per loop would
roll the pods twice. So restarts go through the :class:`RestartCoordinator`, keyed by
workload:

- a request waits ``coalesce_seconds`` for others to the same workload, and all that
  arrive meanwhile become one patch (their annotations merged);
- a workload restarts at most once within ``min_interval_seconds``: a request that
  comes sooner waits until the interval has passed, merging with any others that come.

Every caller waiting on a batch learns the same result. Nothing here needs to survive a
crash: what the batch would have written is derived from content again by the next sync
(see ``markers``), so a pending batch lost with the process is redone, never doubled.
Changes that do not touch the template (settled marks) are not restarts and skip the
queue. The patch itself is given as a blocking function and runs in the executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from envpayload.rollout.markers import Changes
from envpayload.spec import WorkloadRef


@dataclass(frozen=True)
class Landed:
    """A patch the apiserver accepted: the workload's generation after it, and when."""

    generation: int
    at: float


WorkloadKey = tuple[str, WorkloadRef]  # (namespace, workload)
Patch = Callable[[str, WorkloadRef, Changes], int]  # returns the generation after the patch
Clock = Callable[[], float]


def restart_due(
    now: float, last_restart: float | None, coalesce_seconds: float, min_interval_seconds: float
) -> float:
    """When a restart requested at ``now`` may be written."""
    due = now + coalesce_seconds
    if last_restart is not None:
        due = max(due, last_restart + min_interval_seconds)
    return due


@dataclass
class _Batch:
    changes: Changes
    due: float
    result: asyncio.Future[Landed]
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class RestartCoordinator:
    """Merges and paces the restarts of each workload (one per operator process)."""

    def __init__(
        self,
        patch: Patch,
        executor: Executor | None,
        *,
        coalesce_seconds: float,
        min_interval_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self._patch = patch
        self._executor = executor
        self._coalesce = coalesce_seconds
        self._min_interval = min_interval_seconds
        self._clock = clock
        self._pending: dict[WorkloadKey, _Batch] = {}
        self._last: dict[WorkloadKey, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(
        self, namespace: str, ref: WorkloadRef, changes: Changes, *, urgent: bool = False
    ) -> Landed:
        """Write ``changes`` on the workload, merged with others to it; wait until written.

        ``urgent`` (a rollback) skips the wait, taking any pending changes along.
        """
        if not changes.restarts:
            return await self._write((namespace, ref), changes)

        key = (namespace, ref)
        batch = self._pending.get(key)
        if batch is None:
            loop = asyncio.get_running_loop()
            now = self._clock()
            self._forget_old(now)
            due = (
                now
                if urgent
                else restart_due(now, self._last.get(key), self._coalesce, self._min_interval)
            )
            batch = _Batch(changes=changes, due=due, result=loop.create_future())
            # Read the outcome even when every waiter went away, so asyncio does not
            # complain about an exception nobody retrieved.
            batch.result.add_done_callback(retrieve_result)
            self._pending[key] = batch
            task = loop.create_task(self._flush(key, batch))
            self._tasks.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(self._tasks.discard)
        else:
            batch.changes = batch.changes.merged(changes)
            if urgent:
                batch.due = self._clock()
                batch.wake.set()
        # Shielded: a caller that stops waiting (its EnvPayload was deleted) must not
        # cancel the write others wait for.
        return await asyncio.shield(batch.result)

    def pending(self) -> int:
        """How many workloads have a restart waiting."""
        return len(self._pending)

    async def _flush(self, key: WorkloadKey, batch: _Batch) -> None:
        try:
            # Sleep until due; an urgent request moves the time forward and wakes us.
            while (delay := batch.due - self._clock()) > 0:
                batch.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(batch.wake.wait(), timeout=delay)

            # From here on, new requests start a new batch (paced by this one's restart).
            del self._pending[key]
            landed = await self._write(key, batch.changes)
        except asyncio.CancelledError:
            # The operator is stopping; the next sync derives the same changes again.
            if self._pending.get(key) is batch:
                del self._pending[key]
            batch.result.cancel()
            raise
        except Exception as e:
            batch.result.set_exception(e)
        else:
            self._last[key] = landed.at
            batch.result.set_result(landed)

    async def _write(self, key: WorkloadKey, changes: Changes) -> Landed:
        namespace, ref = key
        loop = asyncio.get_running_loop()
        generation = await loop.run_in_executor(
            self._executor, self._patch, namespace, ref, changes
        )
        return Landed(generation=generation, at=self._clock())

    def _forget_old(self, now: float) -> None:
        """Drop restart times older than the interval: they can no longer delay anything."""
        for key in [k for k, at in self._last.items() if at + self._min_interval <= now]:
            del self._last[key]


def retrieve_result(future: asyncio.Future[Any]) -> None:
    """Read a result nobody waits for any more, so asyncio does not warn about it."""
    if not future.cancelled():
        future.exception()
