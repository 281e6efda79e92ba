"""What metrics and alerts cost: per sync, per scrape, and in series as EnvPayloads grow.

Observers run on the operator's event loop after every sync, so their cost per sync
bounds how many syncs a second one operator can report; the size of a scrape grows
with the number of EnvPayloads (the per-EnvPayload series). Prints figures only.
"""

from __future__ import annotations

import datetime
import time
import tracemalloc
from functools import partial

from prometheus_client import CollectorRegistry, generate_latest

from envpayload.apply import Applied
from envpayload.controller.observers import AlertObserver, MetricsObserver
from envpayload.controller.runtime import Observer
from envpayload.errors import PayloadError
from envpayload.reconcile import Outcome, Subject
from envpayload.report.alert_formats import render
from envpayload.report.alerts import Alert, AlertTracker, SyncResult
from envpayload.report.metrics import Metrics
from envpayload.report.status import Synced
from envpayload.spec import read_spec

SPEC = {"source": {"secretRef": {"name": "app-env"}}}
KEYS = tuple(f"KEY_{i}" for i in range(20))


class Discard:
    def submit(self, alert: Alert) -> bool:
        return True


def outcome() -> Outcome:
    return Outcome(
        spec=read_spec("app", SPEC),
        synced=Synced("secretRef", "rv:1", "app", KEYS, False, ()),
        applied=Applied("app", created=False, written=False, changed_keys=()),
        opened=None,
    )


def per_call(label: str, calls: int, fn: object) -> None:
    assert callable(fn)
    started = time.perf_counter()
    for i in range(calls):
        fn(i)
    elapsed = time.perf_counter() - started
    print(f"{label:<48} {elapsed / calls * 1e6:8.1f} µs per call ({calls} calls)")


def observer_costs(payloads: int = 1000) -> None:
    metrics = Metrics(CollectorRegistry())
    observers: list[Observer] = [
        MetricsObserver(metrics),
        AlertObserver(AlertTracker(threshold_seconds=300), Discard()),
    ]
    done = outcome()
    status = {"lastChangeTime": "2026-01-01T00:00:00Z", "conditions": []}
    subjects = [Subject("ns", f"app-{i}", "uid", 1, SPEC, status) for i in range(payloads)]
    error = PayloadError(["line 3: the statement has no '='"])

    def synced(i: int) -> None:
        for observer in observers:
            observer.synced(subjects[i % payloads], done, 0.05)

    def failed(i: int) -> None:
        for observer in observers:
            observer.failed(subjects[i % payloads], error, 0.05)

    per_call("both observers, successful sync", 20000, synced)
    per_call("both observers, failed sync", 20000, failed)


def scrape_costs() -> None:
    for payloads in (100, 1000, 10000):
        metrics = Metrics(CollectorRegistry())
        tracemalloc.start()
        for i in range(payloads):
            name = f"app-{i}"
            metrics.synced(
                "ns", name, source="secretRef", changed=True, seconds=0.1, now=1.0, last_change=1.0
            )
            metrics.failed(
                "ns",
                name,
                source="secretRef",
                reason="InvalidPayload",
                seconds=0.1,
                last_change=1.0,
            )
            metrics.rotation("ns", name, 7776000)
            metrics.restart("ns", name, kind="Deployment", result="Restarted")
        memory, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        started = time.perf_counter()
        text = generate_latest(metrics.registry)
        elapsed = time.perf_counter() - started
        series = sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
        print(
            f"{payloads:>6} EnvPayloads: {series:>7} series, scrape {len(text) / 1024:8.0f} KiB "
            f"in {elapsed * 1000:7.1f} ms, metrics memory {memory / 1024 / 1024:6.1f} MiB"
        )


def render_costs() -> None:
    tracker = AlertTracker(
        threshold_seconds=300, clock=lambda: datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    )
    [alert] = tracker.observe(
        SyncResult("ns", "app", {}, 0.1, error=PayloadError(["line 3: no '='"]))
    )
    for format in ("slack", "teams", "generic"):
        per_call(f"render a {format} alert", 20000, partial(_render, alert, format))


def _render(alert: Alert, format: str, _: int) -> None:
    render(alert, format, "prod")


def main() -> None:
    observer_costs()
    render_costs()
    scrape_costs()


if __name__ == "__main__":
    main()
