"""The operator's /metrics, liveness endpoint and JSON logs, seen from outside the process."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from localplane.operator import OperatorDidNotStart, RunningOperator, operator_with
from localplane.plane import ControlPlane, free_port
from tests.cluster.envpayloads import apply_envpayload, wait_for_ready, write_source
from tests.support import wait_for

CANARY = "canary-52d1e0b4-never-print-me"


METRICS_PORT = free_port()
# Kopf delivers a watch event a tenth of a second after it arrives; two seconds is ample.
ECHO_WINDOW = 2.0


@pytest.fixture
def operator_env() -> dict[str, str]:
    return {
        "ENVPAYLOAD_METRICS_PORT": str(METRICS_PORT),
        "ENVPAYLOAD_METRICS_ADDRESS": "127.0.0.1",
        "ENVPAYLOAD_LOG_FORMAT": "json",
    }


def get(port: int, path: str, timeout: float = 5) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict[Any, float], metric: str, /, **labels: str) -> float | None:
    return scraped.get((metric, frozenset(labels.items())))


def sync_then_break(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, namespace: str
) -> None:
    """The EnvPayload ``app`` syncs a payload with the canary, then fails on a bad line."""
    write_source(core, namespace, "app-env", f"API_KEY={CANARY}\n")
    apply_envpayload(custom, namespace, "app", {"source": {"secretRef": {"name": "app-env"}}})
    wait_for_ready(custom, namespace, "app")
    write_source(core, namespace, "app-env", f"API_KEY={CANARY}\n{CANARY} oops\n")
    wait_for_ready(custom, namespace, "app", status="False", reason="InvalidPayload")


def test_metrics_scraped_over_http_show_syncs_failures_and_times(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    sync_then_break(core, custom, namespace)

    payload = {"namespace": namespace, "name": "app"}

    def scraped() -> dict[Any, float] | None:
        status, text = get(METRICS_PORT, "/metrics")
        assert status == 200
        assert CANARY not in text
        found = samples(text)
        return found if value(found, "envpayload_ready", **payload) == 0 else None

    found = wait_for(scraped, what="the failed sync in /metrics")
    assert value(found, "envpayload_syncs_total", **payload, result="changed") == 1
    assert value(found, "envpayload_syncs_total", **payload, result="failed") == 1
    assert value(found, "envpayload_sync_errors_total", **payload, reason="InvalidPayload") == 1
    assert (value(found, "envpayload_last_sync_timestamp_seconds", **payload) or 0) > 1.7e9
    assert (value(found, "envpayload_last_change_timestamp_seconds", **payload) or 0) > 1.7e9
    assert value(found, "envpayload_rotation_max_age_seconds", **payload) == 90 * 86400
    assert value(found, "envpayload_source_requests_total", source="secretRef", result="Fetched")
    count = value(
        found, "envpayload_sync_duration_seconds_count", source="secretRef", result="changed"
    )
    assert (count or 0) >= 1
    assert value(found, "envpayload_build_info", version="0.1.0") == 1

    # A deleted EnvPayload takes its series with it.
    custom.delete_namespaced_custom_object(
        "envpayload.io", "v1alpha1", namespace, "envpayloads", "app"
    )
    wait_for(
        lambda: (
            value(samples(get(METRICS_PORT, "/metrics")[1]), "envpayload_ready", **payload) is None
        ),
        what="the series to go",
    )


def test_the_watch_event_of_the_operators_own_write_brings_no_extra_sync(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    write_source(core, namespace, "app-env", "API_KEY=1\n")
    apply_envpayload(custom, namespace, "app", {"source": {"secretRef": {"name": "app-env"}}})
    wait_for_ready(custom, namespace, "app")
    payload = {"namespace": namespace, "name": "app"}

    def syncs(result: str) -> float:
        scraped = samples(get(METRICS_PORT, "/metrics")[1])
        return value(scraped, "envpayload_syncs_total", **payload, result=result) or 0

    time.sleep(ECHO_WINDOW)  # the wake-ups of the creation settle first
    unchanged, changed = syncs("unchanged"), syncs("changed")

    write_source(core, namespace, "app-env", "API_KEY=2\n")
    wait_for(lambda: syncs("changed") > changed, what="the sync of the new source")
    time.sleep(ECHO_WINDOW)  # the target Secret's watch event arrives well within this

    # One sync for one change: the write's echo found the loop knowing its version.
    assert (syncs("changed"), syncs("unchanged")) == (changed + 1, unchanged)


def test_json_logs_are_one_object_a_line_and_carry_no_values(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    sync_then_break(core, custom, namespace)

    logs = operator.logs()
    assert CANARY not in logs
    records = [json.loads(line) for line in logs.splitlines() if line.strip()]
    messages = [r["message"] for r in records]
    assert any("Wrote Secret" in m and "API_KEY" in m for m in messages)
    assert any(r.get("object", {}).get("name") == "app" for r in records)


def test_text_logs_name_the_envpayload_each_line_is_about(
    plane: ControlPlane,
    crd: str,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
    tmp_path: Path,
) -> None:
    with operator_with(plane, namespace, tmp_path / "operator.log", {}) as operator:
        write_source(core, namespace, "app-env", "API_KEY=1\n")
        apply_envpayload(custom, namespace, "app", {"source": {"secretRef": {"name": "app-env"}}})
        wait_for_ready(custom, namespace, "app")

        # Lines like "Sync took 0.03s" say nothing of the object: the prefix must.
        syncs = [line for line in operator.logs().splitlines() if "Sync took" in line]
        assert syncs
        assert all(f"[{namespace}/app] Sync took" in line for line in syncs)


def test_the_liveness_endpoint_answers_while_the_operator_runs_and_not_when_it_hangs(
    operator: RunningOperator,
) -> None:
    status, body = get(operator.liveness_port, "/healthz")
    assert status == 200
    assert json.loads(body)["syncLoops"] == 0

    # A frozen process (stuck event loop, deadlock) must fail its probe, so that the
    # kubelet restarts it: stop the process and the endpoint stops answering.
    os.kill(operator.pid, signal.SIGSTOP)
    try:
        with pytest.raises(TimeoutError):
            get(operator.liveness_port, "/healthz", timeout=2)
    finally:
        os.kill(operator.pid, signal.SIGCONT)
    assert get(operator.liveness_port, "/healthz")[0] == 200


def test_a_taken_metrics_port_stops_the_operator_naming_the_port(
    plane: ControlPlane, crd: str, namespace: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"ENVPAYLOAD_METRICS_PORT": str(port), "ENVPAYLOAD_METRICS_ADDRESS": "127.0.0.1"}
        log = tmp_path / "operator.log"
        with (
            pytest.raises(OperatorDidNotStart, match="the operator exited"),
            operator_with(plane, namespace, log, env),
        ):
            pass

    assert f"cannot listen on 127.0.0.1:{port}" in log.read_text()
