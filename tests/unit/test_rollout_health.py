"""Whether a restarted workload finished rolling out, as ``kubectl rollout status`` says."""

from __future__ import annotations

from typing import Any

import pytest

from envpayload.rollout.health import progress


def deployment(want: int = 2, **status: Any) -> dict[str, Any]:
    return {"spec": {"replicas": want}, "status": {"observedGeneration": 5, **status}}


def test_a_deployment_whose_new_replicas_are_all_available_is_done() -> None:
    obj = deployment(want=2, updatedReplicas=2, replicas=2, availableReplicas=2)

    assert progress("Deployment", obj, generation=5).done


@pytest.mark.parametrize(
    ("status", "waiting_for"),
    [
        ({"updatedReplicas": 1, "replicas": 3, "availableReplicas": 2}, "1 of 2 replicas updated"),
        ({"updatedReplicas": 2, "replicas": 3, "availableReplicas": 2}, "1 old replicas to stop"),
        (
            {"updatedReplicas": 2, "replicas": 2, "availableReplicas": 1},
            "1 of 2 replicas available",
        ),
    ],
)
def test_a_deployment_still_rolling_says_what_it_waits_for(
    status: dict[str, int], waiting_for: str
) -> None:
    state = progress("Deployment", deployment(**status), generation=5)

    assert (state.done, state.failure, state.waiting_for) == (False, None, waiting_for)


def test_a_status_from_before_the_restart_is_not_done() -> None:
    obj = deployment(updatedReplicas=2, replicas=2, availableReplicas=2)

    assert not progress("Deployment", obj, generation=6).done


def test_a_deployment_past_its_progress_deadline_has_failed() -> None:
    condition = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    obj = deployment(updatedReplicas=1, replicas=2, conditions=[condition])

    assert progress("Deployment", obj, generation=5).failure == "its progress deadline was exceeded"


def test_a_stateful_set_is_done_when_every_replica_runs_the_update_revision() -> None:
    def sts(**status: Any) -> dict[str, Any]:
        return {"spec": {"replicas": 2}, "status": {"observedGeneration": 1, **status}}

    rolling = sts(updateRevision="r2", currentRevision="r1", updatedReplicas=1, availableReplicas=2)
    done = sts(updateRevision="r2", currentRevision="r2", updatedReplicas=2, availableReplicas=2)

    assert not progress("StatefulSet", rolling, generation=1).done
    assert progress("StatefulSet", done, generation=1).done


def test_a_daemon_set_is_done_when_every_node_runs_an_available_updated_pod() -> None:
    def ds(updated: int, available: int) -> dict[str, Any]:
        status = {
            "observedGeneration": 2,
            "desiredNumberScheduled": 3,
            "updatedNumberScheduled": updated,
            "numberAvailable": available,
        }
        return {"spec": {}, "status": status}

    assert not progress("DaemonSet", ds(2, 3), generation=2).done
    assert progress("DaemonSet", ds(3, 3), generation=2).done


def test_workloads_updated_on_delete_are_not_watched() -> None:
    obj = {"spec": {"updateStrategy": {"type": "OnDelete"}}, "status": {"observedGeneration": 1}}

    state = progress("StatefulSet", obj, generation=1)

    assert (state.done, state.watched) == (True, False)
