"""Which alerts a sequence of syncs produces: transitions only, with a clock the test moves."""

from __future__ import annotations

import datetime
from typing import Any

from envpayload.errors import (
    ConflictError,
    EnvPayloadError,
    PayloadError,
    RolloutError,
    SourceError,
)
from envpayload.report.alerts import AlertKind, AlertTracker, SyncResult

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)

# The status a previous operator left: failing since an hour before T0.
FAILING_STATUS = {
    "conditions": [
        {
            "type": "Ready",
            "status": "False",
            "reason": "InvalidPayload",
            "lastTransitionTime": "2025-12-31T23:00:00Z",
        }
    ]
}


class Clock:
    def __init__(self, now: datetime.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now


def ok(seconds: float = 0.1, **kwargs: Any) -> SyncResult:
    return SyncResult(namespace="shop", name="app", previous_status={}, seconds=seconds, **kwargs)


def failed(error: EnvPayloadError, **kwargs: Any) -> SyncResult:
    return SyncResult(
        namespace="shop", name="app", previous_status={}, seconds=0.1, error=error, **kwargs
    )


def tracker(clock: Clock | None = None, threshold: float = 300) -> AlertTracker:
    return AlertTracker(threshold_seconds=threshold, clock=clock or Clock())


def test_a_failure_alerts_once_however_often_it_is_retried() -> None:
    alerts = tracker()

    first = alerts.observe(failed(PayloadError(["line 3: no '='"])))
    retries = [alerts.observe(failed(PayloadError(["line 3: no '='"]))) for _ in range(5)]

    assert [a.kind for a in first] == [AlertKind.FAILING]
    assert first[0].reason == "InvalidPayload"
    assert first[0].severity == "critical"
    assert "line 3" in first[0].details
    assert retries == [[]] * 5


def test_the_failure_and_what_it_means_read_as_two_sentences() -> None:
    (without_stop,) = tracker().observe(failed(PayloadError(["line 3: no '='"])))
    (with_stop,) = tracker().observe(failed(SourceError("GitHub did not answer.")))

    assert without_stop.details == (
        "line 3: no '='. The Secret keeps its last good content until this is fixed."
    )
    assert with_stop.details.startswith("GitHub did not answer. The Secret keeps")


def test_a_recovery_alerts_once_and_says_what_failed_and_for_how_long() -> None:
    clock = Clock()
    alerts = tracker(clock)
    alerts.observe(failed(ConflictError("Secret app exists and is not managed")))

    clock.now += datetime.timedelta(minutes=12)
    recovered = alerts.observe(ok(secret_name="app", changed_keys=["API_KEY"]))
    again = alerts.observe(ok())

    assert [a.kind for a in recovered] == [AlertKind.RECOVERED]
    assert recovered[0].severity == "resolved"
    assert "after 12 minutes" in recovered[0].summary
    assert "Conflict" in recovered[0].details
    assert recovered[0].keys == ("API_KEY",)
    assert again == []


def test_a_healthy_payload_that_keeps_syncing_never_alerts() -> None:
    alerts = tracker()

    assert [alerts.observe(ok()) for _ in range(3)] == [[], [], []]


def test_a_different_failure_is_a_new_failing_state() -> None:
    alerts = tracker()
    alerts.observe(failed(SourceError("Secret app-env: HTTP 500")))

    changed = alerts.observe(failed(RolloutError("Deployment web did not become available")))

    assert [a.kind for a in changed] == [AlertKind.FAILING]
    assert "(was SourceUnavailable)" in changed[0].summary


def test_a_restarted_operator_knows_a_failure_from_status_and_alerts_only_the_recovery() -> None:
    status = FAILING_STATUS
    alerts = tracker()

    same = alerts.observe(
        SyncResult("shop", "app", status, 0.1, error=PayloadError(["line 2: no '='"]))
    )
    recovered = alerts.observe(ok())

    assert same == []
    assert [a.kind for a in recovered] == [AlertKind.RECOVERED]
    assert "after 60 minutes" in recovered[0].summary


def test_a_slow_sync_alerts_once_until_syncs_are_fast_again() -> None:
    alerts = tracker(threshold=10)

    slow = [alerts.observe(ok(seconds=11)), alerts.observe(ok(seconds=30))]
    fast = alerts.observe(ok(seconds=1))
    slow_again = alerts.observe(ok(seconds=12))

    assert [a.kind for a in slow[0]] == [AlertKind.SLOW_SYNC]
    assert "took 11s, over the 10s threshold" in slow[0][0].summary
    assert slow[1] == []
    assert fast == []
    assert [a.kind for a in slow_again] == [AlertKind.SLOW_SYNC]


def test_a_threshold_of_zero_turns_slow_alerts_off() -> None:
    assert tracker(threshold=0).observe(ok(seconds=3600)) == []


def test_a_slow_rollout_alerts_once_and_names_the_workloads() -> None:
    alerts = tracker(threshold=60)

    first = alerts.observe_rollout("shop", "app", 90, ["Deployment/web", "StatefulSet/db"], {})
    second = alerts.observe_rollout("shop", "app", 120, ["Deployment/web"], {})

    assert [a.kind for a in first] == [AlertKind.SLOW_ROLLOUT]
    assert "Deployment/web, StatefulSet/db" in first[0].details
    assert second == []


def test_rotation_overdue_alerts_once_per_overdue_period() -> None:
    clock = Clock(T0 + 91 * DAY)
    alerts = tracker(clock)
    changed_at = T0

    first = alerts.observe(ok(last_change=changed_at, rotation_max_age=90 * DAY, keys=["K"]))
    clock.now += DAY
    next_day = alerts.observe(ok(last_change=changed_at, rotation_max_age=90 * DAY))

    assert [a.kind for a in first] == [AlertKind.ROTATION_OVERDUE]
    assert "unchanged for 91 days, longer than rotation.maxAge 90d" in first[0].summary
    assert first[0].keys == ("K",)
    assert next_day == []

    # Rotated: a new period starts, and is reported when it runs out in turn.
    rotated_at = clock.now
    assert alerts.observe(ok(last_change=rotated_at, rotation_max_age=90 * DAY)) == []
    clock.now = rotated_at + 90 * DAY + datetime.timedelta(seconds=1)
    overdue_again = alerts.observe(ok(last_change=rotated_at, rotation_max_age=90 * DAY))
    assert [a.kind for a in overdue_again] == [AlertKind.ROTATION_OVERDUE]


def test_rotation_is_not_overdue_until_max_age_has_passed() -> None:
    alerts = tracker(Clock(T0 + 90 * DAY))

    assert alerts.observe(ok(last_change=T0, rotation_max_age=90 * DAY)) == []


def test_a_restarted_operator_knows_an_overdue_rotation_from_status() -> None:
    status = {
        "lastChangeTime": "2026-01-01T00:00:00Z",
        "conditions": [{"type": "RotationDue", "status": "True", "reason": "MaxAgeExceeded"}],
    }
    alerts = tracker(Clock(T0 + 100 * DAY))

    result = SyncResult("shop", "app", status, 0.1, last_change=T0, rotation_max_age=90 * DAY)

    assert alerts.observe(result) == []


def test_a_failing_payload_is_still_checked_for_rotation() -> None:
    alerts = tracker(Clock(T0 + 100 * DAY))

    found = alerts.observe(failed(SourceError("down"), last_change=T0, rotation_max_age=90 * DAY))

    assert [a.kind for a in found] == [AlertKind.FAILING, AlertKind.ROTATION_OVERDUE]


def test_a_deleted_payload_is_forgotten() -> None:
    alerts = tracker()
    alerts.observe(failed(SourceError("down")))

    alerts.forget("shop", "app")

    assert alerts.observe(ok()) == []


def test_long_key_lists_are_cut_and_counted() -> None:
    alerts = tracker(Clock(T0 + 100 * DAY))
    keys = [f"KEY_{i}" for i in range(30)]

    [alert] = alerts.observe(ok(last_change=T0, rotation_max_age=90 * DAY, keys=keys))

    assert len(alert.keys) == 21
    assert alert.keys[-1] == "(+10 more)"


def test_a_rollout_reported_first_after_a_start_keeps_the_known_failure_in_mind() -> None:
    # A restarted operator whose first sync fixes a failing EnvPayload and restarts
    # workloads: the rollout is reported before the sync, and the recovery must alert.
    alerts = tracker()

    alerts.observe_rollout("shop", "app", 5, ["Deployment/web"], FAILING_STATUS)
    recovered = alerts.observe(
        SyncResult(namespace="shop", name="app", previous_status=FAILING_STATUS, seconds=0.1)
    )

    assert [a.kind for a in recovered] == [AlertKind.RECOVERED]
