"""Latency from a change of a source Secret to the restart marker landing on its consumer.

The operator runs as a process (as in the cluster tests) against the local control plane
(the one ``make cluster`` runs, or a fresh one for the run). One EnvPayload reads a
source Secret; one Deployment reads one of its keys. Each rotation writes a new value
into the source and times, with a watch on the Deployment, how long until its pod
template carries a new marker. The next rotation starts once the restart rolled out, so
rotations do not queue behind each other.

Measured twice: with a coalescing window of 0 (the pipeline itself: watch event, fetch,
apply, plan, patch) and with the default window, which waits on purpose for other
EnvPayloads' changes to the same workload.

    python -m benchmarks rollout_latency        # ROTATIONS=50 by default
"""

from __future__ import annotations

import os
import queue
import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

from envpayload.rollout.markers import marker_key
from envpayload.settings import Settings
from localplane.operator import RunningOperator
from localplane.plane import ControlPlane
from tests.cluster.envpayloads import apply_envpayload, install_crd, wait_for_ready, write_source
from tests.cluster.workloads import create, deployment, env_keys
from tests.support import wait_for, wait_for_rollout

REPO = Path(__file__).resolve().parents[1]
ROTATIONS = int(os.environ.get("ROTATIONS", "50"))


def main() -> None:
    shared = ControlPlane(REPO / ".cluster")
    with tempfile.TemporaryDirectory() as folder:
        plane = shared if shared.is_up() else ControlPlane(Path(folder) / "plane")
        if plane is not shared:
            print("starting a local control plane for this run...", flush=True)
            plane.start(say=lambda _: None)
        try:
            api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(plane.kubeconfig)
            )
            install_crd(api)
            default_window = Settings().restart_coalesce_seconds
            for window in (0.0, default_window):
                measure(plane, api, Path(folder), window)
        finally:
            if plane is not shared:
                plane.stop(quiet=True)


def measure(plane: ControlPlane, api: client.ApiClient, folder: Path, window: float) -> None:
    core, apps, custom = client.CoreV1Api(api), client.AppsV1Api(api), client.CustomObjectsApi(api)
    namespace = f"bench-rollout-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    operator = RunningOperator(
        plane,
        [namespace],
        folder / f"operator-{namespace}.log",
        operator_namespace=namespace,
        env={
            "ENVPAYLOAD_RESTART_COALESCE_SECONDS": str(window),
            "ENVPAYLOAD_MIN_RESTART_INTERVAL_SECONDS": "0",
        },
    )
    operator.start()
    markers: queue.Queue[tuple[float, str | None]] = queue.Queue()
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch_markers, args=(apps, namespace, markers, stop), daemon=True
    )
    try:
        write_source(core, namespace, "app-source", "KEY=0\n")
        apply_envpayload(
            custom,
            namespace,
            "app",
            {"source": {"secretRef": {"name": "app-source"}}, "refreshInterval": "1h"},
        )
        wait_for_ready(custom, namespace, "app")
        create(apps, namespace, deployment("api", env_keys("app", "KEY")))
        watcher.start()

        latencies, last = [], None
        for rotation in range(1, ROTATIONS + 1):
            _drain(markers)
            started = time.monotonic()
            write_source(core, namespace, "app-source", f"KEY={rotation}\n")
            landed, last = _next_marker(markers, last)
            latencies.append(landed - started)
            wait_for_rollout(apps, "Deployment", "api", namespace, timeout=120)
            _wait_until_idle(custom, namespace, last)
        _report(window, latencies)
    finally:
        stop.set()
        operator.stop()
        core.delete_namespace(namespace)


def _watch_markers(
    apps: client.AppsV1Api,
    namespace: str,
    markers: queue.Queue[tuple[float, str | None]],
    stop: threading.Event,
) -> None:
    """Put (monotonic time, marker) for every change the watch sees on Deployment api."""
    stream = watch.Watch()  # type: ignore[no-untyped-call]
    while not stop.is_set():
        for event in stream.stream(  # type: ignore[no-untyped-call]
            apps.list_namespaced_deployment,
            namespace,
            field_selector="metadata.name=api",
            timeout_seconds=5,
        ):
            seen = time.monotonic()
            template: Any = event["object"].spec.template
            annotations = (template.metadata and template.metadata.annotations) or {}
            markers.put((seen, annotations.get(marker_key("app"))))
            if stop.is_set():
                break


def _next_marker(
    markers: queue.Queue[tuple[float, str | None]], last: str | None
) -> tuple[float, str | None]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen, value = markers.get(timeout=max(deadline - time.monotonic(), 0.1))
        if value is not None and value != last:
            return seen, value
    raise TimeoutError("no new restart marker within 120s")


def _drain(markers: queue.Queue[tuple[float, str | None]]) -> None:
    while not markers.empty():
        markers.get_nowait()


def _wait_until_idle(custom: client.CustomObjectsApi, namespace: str, marker: str | None) -> None:
    """Wait until the operator reported the restart onto ``marker`` (its loop is free)."""

    def reported() -> bool:
        obj: Any = custom.get_namespaced_custom_object(
            "envpayload.io", "v1alpha1", namespace, "envpayloads", "app"
        )
        entries = (obj.get("status") or {}).get("rollouts") or []
        return any(
            e.get("fingerprint") == marker and e.get("outcome") == "Available" for e in entries
        )

    wait_for(reported, timeout=120, what=f"the restart onto {marker} to be reported")


def _report(window: float, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    print(
        f"coalescing window {window:g}s, {len(ordered)} rotations: "
        f"source change -> restart marker landed: median {statistics.median(ordered):.3f}s, "
        f"p95 {p95:.3f}s, min {ordered[0]:.3f}s, max {ordered[-1]:.3f}s",
        flush=True,
    )
