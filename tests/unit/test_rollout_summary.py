"""What a rollout did, as status.rollouts and the RolledOut condition show it."""

from __future__ import annotations

import datetime

from envpayload.rollout.summary import (
    AVAILABLE,
    FAILED,
    HELD,
    NOTIFIED,
    PAUSED,
    ROLLED_BACK,
    RolloutReport,
    WorkloadResult,
    describe_for_workload,
    describe_result,
    rolled_out_condition,
    status_entries,
)
from envpayload.spec import WorkloadRef

WHEN = datetime.datetime(2026, 3, 1, 12, 0, 5, tzinfo=datetime.UTC)
API, WORKER, DB = (
    WorkloadRef("Deployment", "api"),
    WorkloadRef("Deployment", "worker"),
    WorkloadRef("StatefulSet", "db"),
)


def result(ref: WorkloadRef, outcome: str, message: str = "") -> WorkloadResult:
    return WorkloadResult(ref, outcome, ("DB",), "abc123-0011", WHEN, message=message)


def report(*results: WorkloadResult, rolled_back: bool = False) -> RolloutReport:
    return RolloutReport("app-env", "Auto", "Parallel", results, 1.5, rolled_back)


def test_status_keeps_one_entry_per_current_consumer_with_its_last_restart() -> None:
    previous = [
        {"kind": "Deployment", "name": "worker", "outcome": AVAILABLE, "fingerprint": "old"},
        {"kind": "Deployment", "name": "deleted-since", "outcome": AVAILABLE},
    ]

    entries = status_entries(previous, report(result(API, AVAILABLE)), [API, WORKER, DB])

    assert entries == [
        {
            "kind": "Deployment",
            "name": "api",
            "keys": ["DB"],
            "fingerprint": "abc123-0011",
            "time": "2026-03-01T12:00:05Z",
            "outcome": AVAILABLE,
        },
        previous[0],
    ]


def test_a_rollout_with_no_results_leaves_status_as_it_was() -> None:
    assert status_entries([{"kind": "Deployment", "name": "api"}], report(), [API]) is None


def test_the_condition_is_true_when_every_restart_became_available() -> None:
    condition = rolled_out_condition(report(result(API, AVAILABLE)))

    assert condition == {
        "type": "RolledOut",
        "status": "True",
        "reason": "RolledOut",
        "message": "Deployment/api restarted and available for keys DB",
    }


def test_the_condition_says_which_workload_failed_and_which_were_held() -> None:
    condition = rolled_out_condition(
        report(
            result(API, FAILED, "not available within 5s; waiting for 0 of 1 replicas updated"),
            result(DB, HELD, "the Sequential rollout stopped at Deployment/api"),
        )
    )

    assert condition is not None
    assert (condition["status"], condition["reason"]) == ("False", "RolloutFailed")
    assert condition["message"] == (
        "Deployment/api restarted but not available for keys DB: not available within 5s; "
        "waiting for 0 of 1 replicas updated; StatefulSet/db not restarted for keys DB: "
        "the Sequential rollout stopped at Deployment/api"
    )


def test_a_rolled_back_rollout_says_so() -> None:
    condition = rolled_out_condition(report(result(API, ROLLED_BACK), rolled_back=True))

    assert condition is not None
    assert (condition["status"], condition["reason"]) == ("False", "RolledBack")
    assert report(result(API, ROLLED_BACK), rolled_back=True).result() == "RolledBack"


def test_a_paused_deployment_keeps_the_condition_false() -> None:
    condition = rolled_out_condition(report(result(API, PAUSED)))

    assert condition is not None
    assert (condition["status"], condition["reason"]) == ("False", "Paused")


def test_notify_mode_sets_no_condition() -> None:
    assert rolled_out_condition(report(result(API, NOTIFIED))) is None


def test_a_workload_event_names_the_secret_and_the_envpayload() -> None:
    assert describe_for_workload(result(API, AVAILABLE), "app-env", "app") == (
        "Restarted and available for keys DB of Secret app-env (EnvPayload app)"
    )
    assert describe_result(result(API, NOTIFIED)) == (
        "Deployment/api needs a restart (mode Notify) for keys DB"
    )


def test_a_condition_names_at_most_ten_workloads() -> None:
    many = [result(WorkloadRef("Deployment", f"w{i:02}"), AVAILABLE) for i in range(12)]

    condition = rolled_out_condition(report(*many))

    assert condition is not None
    assert condition["message"].count("restarted and available") == 10
    assert condition["message"].endswith("and 2 more (see status.rollouts)")
