"""Restarts of one workload merge and are paced, operator-wide.

The coordinator is given the patch as a plain function, so these tests give it one that
records what it was asked to write; what a patch does to a workload is tested on the
control plane (tests/cluster/test_rollout_*.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from envpayload.rollout.coordinator import Landed, RestartCoordinator, restart_due
from envpayload.rollout.markers import Changes, restart_changes, settle_changes
from envpayload.spec import WorkloadRef

WEB = WorkloadRef("Deployment", "web")
API = WorkloadRef("Deployment", "api")


class Recorder:
    """A patch function that records its calls (it runs in executor threads)."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.calls: list[tuple[WorkloadRef, Changes, float]] = []
        self._lock = threading.Lock()
        self._fail_with = fail_with

    def __call__(self, namespace: str, ref: WorkloadRef, changes: Changes) -> int:
        with self._lock:
            self.calls.append((ref, changes, time.monotonic()))
            if self._fail_with is not None:
                raise self._fail_with
            return len(self.calls)

    @property
    def restarts(self) -> list[tuple[WorkloadRef, Changes, float]]:
        return [c for c in self.calls if c[1].restarts]


T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def coordinator(
    patch: Recorder, coalesce: float = 0.0, interval: float = 0.0
) -> RestartCoordinator:
    return RestartCoordinator(patch, None, coalesce_seconds=coalesce, min_interval_seconds=interval)


def test_a_restart_is_due_after_the_window_and_the_interval() -> None:
    assert restart_due(100.0, None, 2.0, 30.0) == 102.0
    assert restart_due(100.0, 90.0, 2.0, 30.0) == 120.0
    assert restart_due(100.0, 10.0, 2.0, 30.0) == 102.0


def test_restarts_of_one_workload_within_the_window_become_one_patch() -> None:
    patch = Recorder()
    coordinate = coordinator(patch, coalesce=0.3)

    async def scenario() -> tuple[Landed, Landed]:
        return await asyncio.gather(
            coordinate.submit("ns", WEB, restart_changes("db-env", "f-db")),
            coordinate.submit("ns", WEB, restart_changes("api-env", "f-api")),
        )

    first, second = run(scenario())

    assert len(patch.calls) == 1
    ((_, changes, _),) = patch.calls
    assert set(changes.template.values()) == {"f-db", "f-api"}
    assert first == second


def test_different_workloads_restart_separately() -> None:
    patch = Recorder()
    coordinate = coordinator(patch, coalesce=0.1)

    async def scenario() -> None:
        await asyncio.gather(
            coordinate.submit("ns", WEB, restart_changes("s", "f")),
            coordinate.submit("ns", API, restart_changes("s", "f")),
        )

    run(scenario())

    assert sorted(ref.name for ref, _, _ in patch.calls) == ["api", "web"]


def test_a_workload_restarts_at_most_once_within_the_minimum_interval() -> None:
    patch = Recorder()
    coordinate = coordinator(patch, interval=1.0)

    async def scenario() -> None:
        await coordinate.submit("ns", WEB, restart_changes("s", "f1"))
        # Both arrive within the interval after the first restart: one more restart.
        await asyncio.gather(
            coordinate.submit("ns", WEB, restart_changes("s", "f2")),
            coordinate.submit("ns", WEB, restart_changes("t", "g2")),
        )

    run(scenario())

    first, second = patch.restarts
    assert second[2] - first[2] >= 1.0
    assert second[1].template == {
        "fingerprint.envpayload.io/s": "f2",
        "fingerprint.envpayload.io/t": "g2",
    }


def test_an_urgent_restart_does_not_wait_and_takes_pending_changes_along() -> None:
    patch = Recorder()
    coordinate = coordinator(patch, coalesce=60.0)

    async def scenario() -> None:
        waiting = asyncio.ensure_future(coordinate.submit("ns", WEB, restart_changes("a", "fa")))
        await asyncio.sleep(0.05)
        urgent = coordinate.submit("ns", WEB, restart_changes("b", "fb"), urgent=True)
        await asyncio.wait_for(asyncio.gather(waiting, urgent), timeout=10)

    run(scenario())

    ((_, changes, _),) = patch.calls
    assert set(changes.template.values()) == {"fa", "fb"}


def test_settling_without_a_restart_is_written_at_once_and_paces_nothing() -> None:
    patch = Recorder()
    coordinate = coordinator(patch, coalesce=60.0, interval=60.0)

    async def scenario() -> None:
        await asyncio.wait_for(coordinate.submit("ns", WEB, settle_changes("s", "f")), timeout=10)

    run(scenario())

    assert len(patch.calls) == 1
    assert patch.restarts == []


def test_every_waiter_learns_that_the_patch_failed() -> None:
    patch = Recorder(fail_with=RuntimeError("the apiserver said no"))
    coordinate = coordinator(patch, coalesce=0.1)

    async def scenario() -> tuple[Any, ...]:
        return await asyncio.gather(
            coordinate.submit("ns", WEB, restart_changes("a", "fa")),
            coordinate.submit("ns", WEB, restart_changes("b", "fb")),
            return_exceptions=True,
        )

    outcomes = run(scenario())

    assert [type(o) for o in outcomes] == [RuntimeError, RuntimeError]
    assert coordinate.pending() == 0


def test_a_caller_that_stops_waiting_does_not_cancel_the_restart_for_others() -> None:
    patch = Recorder()
    coordinate = coordinator(patch, coalesce=0.2)

    async def scenario() -> Landed:
        quitter = asyncio.ensure_future(coordinate.submit("ns", WEB, restart_changes("a", "fa")))
        stayer = asyncio.ensure_future(coordinate.submit("ns", WEB, restart_changes("b", "fb")))
        await asyncio.sleep(0.05)
        quitter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await quitter
        return await stayer

    landed = run(scenario())

    assert landed.generation == 1
    assert len(patch.calls) == 1
