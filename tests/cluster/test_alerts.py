"""Alerts reach a webhook once per failure and once per recovery, never holding up syncs.

Every test runs the real operator against the local plane with
``OPERATIONS_ALERT_WEBHOOK`` pointing at a loopback receiver (the one the demo uses),
and reads what arrived.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from kubernetes import client

from envpayload.devtools.webhook_receiver import AlertReceiver
from localplane.operator import RunningOperator, operator_with
from tests.cluster.envpayloads import (
    apply_envpayload,
    events_for,
    get_envpayload,
    secret_values,
    settle,
    wait_for_ready,
    write_source,
)
from tests.support import wait_for

CANARY = "canary-7f3a9c1e-never-print-me"
GOOD = f"DATABASE_URL=mysql://app@db/app\nAPI_KEY={CANARY}\n"
# The second line is a multi-line value pasted without quotes: it does not parse.
BAD = f"DATABASE_URL=mysql://app@db/app\nAPI_KEY={CANARY}\n{CANARY} continued\n"


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    with AlertReceiver() as running:
        yield running


@pytest.fixture
def operator_env(receiver: AlertReceiver) -> dict[str, str]:
    return {
        "OPERATIONS_ALERT_WEBHOOK": receiver.url,
        "ENVPAYLOAD_ALERT_FORMAT": "generic",
        "ENVPAYLOAD_ALERT_BACKOFF_MAX_SECONDS": "0.2",
        "ENVPAYLOAD_ALERT_TIMEOUT_SECONDS": "2",
    }


def kinds(receiver: AlertReceiver, name: str) -> list[str]:
    return [body["kind"] for body in receiver.received if body["name"] == name]


def create_app(
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
    text: str,
    **spec: Any,
) -> None:
    """The EnvPayload ``app`` reading the Secret ``app-env``, which holds ``text``."""
    write_source(core, namespace, "app-env", text)
    apply_envpayload(
        custom, namespace, "app", {"source": {"secretRef": {"name": "app-env"}}, **spec}
    )


def test_a_failure_alerts_once_and_the_fix_alerts_once_more(
    operator: RunningOperator,
    receiver: AlertReceiver,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    create_app(core, custom, namespace, GOOD)
    wait_for_ready(custom, namespace, "app")

    write_source(core, namespace, "app-env", BAD)
    wait_for_ready(custom, namespace, "app", status="False", reason="InvalidPayload")
    wait_for(lambda: kinds(receiver, "app") == ["Failing"], what="the failure alert")

    # The same failure again (a new source version that is just as bad) is a retry of a
    # known state: no second alert.
    write_source(core, namespace, "app-env", BAD + "# still bad\n")
    settle(3)
    assert kinds(receiver, "app") == ["Failing"]

    write_source(core, namespace, "app-env", GOOD)
    wait_for_ready(custom, namespace, "app")
    wait_for(lambda: kinds(receiver, "app") == ["Failing", "Recovered"], what="the recovery")

    failing, recovered = receiver.received
    assert failing["namespace"] == namespace
    assert failing["reason"] == "InvalidPayload"
    assert "line 3" in failing["details"]
    assert recovered["reason"] == "Recovered"
    assert "InvalidPayload" in recovered["details"]
    assert CANARY not in str(receiver.received)
    assert CANARY not in operator.logs()
    # Nor anywhere else the operator writes: status, annotations, Events.
    assert CANARY not in str(get_envpayload(custom, namespace, "app"))
    assert CANARY not in str([e.message for e in events_for(core, namespace, "app")])


def test_a_restarted_operator_does_not_alert_again_about_a_known_failure(
    operator: RunningOperator,
    receiver: AlertReceiver,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    create_app(core, custom, namespace, BAD)
    wait_for_ready(custom, namespace, "app", status="False", reason="InvalidPayload")
    wait_for(lambda: kinds(receiver, "app") == ["Failing"], what="the failure alert")

    operator.stop()
    operator.start()
    # The new process syncs, fails the same way, and knows from status it was reported.
    write_source(core, namespace, "app-env", BAD + "# touched\n")
    settle(3)
    assert kinds(receiver, "app") == ["Failing"]

    write_source(core, namespace, "app-env", GOOD)
    wait_for(lambda: kinds(receiver, "app") == ["Failing", "Recovered"], what="the recovery")


def test_a_sync_slower_than_the_threshold_alerts(
    plane: Any,
    crd: str,
    receiver: AlertReceiver,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
    tmp_path: Any,
) -> None:
    # Any real sync takes longer than a microsecond.
    env = {
        "OPERATIONS_ALERT_WEBHOOK": receiver.url,
        "ENVPAYLOAD_ALERT_FORMAT": "generic",
        "SCHEDULER_ALERT_THRESHOLD_SECONDS": "0.000001",
    }
    with operator_with(plane, namespace, tmp_path / "operator.log", env):
        create_app(core, custom, namespace, GOOD)
        wait_for(lambda: kinds(receiver, "app") == ["SlowSync"], what="the slow-sync alert")

        # Still slow on the next sync: no second alert until syncs are fast again.
        write_source(core, namespace, "app-env", GOOD + "OTHER=1\n")
        wait_for(lambda: secret_values(core, namespace, "app") is not None, what="the Secret")
        settle(2)
        assert kinds(receiver, "app") == ["SlowSync"]
        assert receiver.received[0]["facts"]["Threshold"] == "1e-06s"


def test_a_payload_unchanged_for_longer_than_max_age_alerts_once(
    operator: RunningOperator,
    receiver: AlertReceiver,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    create_app(core, custom, namespace, GOOD, rotation={"maxAge": "2s"})
    wait_for_ready(custom, namespace, "app")
    settle(3)

    # A new source version with the same content: a sync that changes nothing, so the
    # payload's age keeps growing and the rotation check runs.
    write_source(core, namespace, "app-env", GOOD + "# reviewed, not rotated\n")
    wait_for(lambda: kinds(receiver, "app") == ["RotationOverdue"], what="the rotation alert")
    obj = wait_for_ready(custom, namespace, "app")
    due = next(c for c in obj["status"]["conditions"] if c["type"] == "RotationDue")
    assert due["status"] == "True"

    write_source(core, namespace, "app-env", GOOD + "# reviewed again\n")
    settle(3)
    assert kinds(receiver, "app") == ["RotationOverdue"]
    assert receiver.received[0]["keys"] == ["DATABASE_URL", "API_KEY"]
    assert CANARY not in str(receiver.received)


def _has_round(core: client.CoreV1Api, namespace: str, round: int) -> bool:
    return (secret_values(core, namespace, "app") or {}).get("ROUND") == str(round)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize("webhook", ["down", "slow"])
def test_a_webhook_that_is_down_or_slow_does_not_delay_syncs(
    webhook: str,
    plane: Any,
    crd: str,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
    tmp_path: Any,
) -> None:
    with AlertReceiver(delay=60) as slow:
        url = slow.url if webhook == "slow" else f"http://127.0.0.1:{_closed_port()}/alerts"
        env = {
            "OPERATIONS_ALERT_WEBHOOK": url,
            "ENVPAYLOAD_ALERT_TIMEOUT_SECONDS": "30",
            "ENVPAYLOAD_ALERT_MAX_ATTEMPTS": "10",
        }
        with operator_with(plane, namespace, tmp_path / "operator.log", env) as running:
            # Each flip between bad and good queues an alert the webhook never takes.
            create_app(core, custom, namespace, GOOD)
            wait_for_ready(custom, namespace, "app")
            for round in range(3):
                write_source(core, namespace, "app-env", BAD)
                wait_for_ready(custom, namespace, "app", status="False", timeout=5)
                write_source(core, namespace, "app-env", f"{GOOD}ROUND={round}\n")
                wait_for(
                    partial(_has_round, core, namespace, round),
                    timeout=5,
                    what=f"round {round} to reach the Secret",
                )
            assert "retrying" in running.logs() or webhook == "slow"
            assert url not in running.logs()
