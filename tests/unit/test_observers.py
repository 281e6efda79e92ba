"""The observers translate each sync's result into metrics and alerts.

Built from real pipeline results (Subject, Outcome, errors): no Kubernetes involved.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from envpayload.apply import Applied
from envpayload.controller.observers import AlertObserver, CountingFetcher, MetricsObserver
from envpayload.errors import PayloadError, SourceNotFoundError
from envpayload.fetch import Fetched
from envpayload.reconcile import Outcome, Subject
from envpayload.report.alerts import Alert, AlertKind, AlertTracker
from envpayload.report.metrics import Metrics
from envpayload.report.status import Synced
from envpayload.rollout.summary import RolloutReport, WorkloadResult
from envpayload.sealing import Opened
from envpayload.spec import SecretRefSource, Source, WorkloadRef, read_spec

NOW = datetime.datetime(2026, 4, 1, tzinfo=datetime.UTC)
SPEC = {"source": {"secretRef": {"name": "app-env"}}, "rotation": {"maxAge": "30d"}}


def subject(status: dict[str, Any] | None = None) -> Subject:
    return Subject("shop", "app", "uid-1", 1, SPEC, status or {})


def outcome(written: bool = True, opened: Opened | None = None) -> Outcome:
    keys = ("DATABASE_URL", "API_KEY")
    return Outcome(
        spec=read_spec("app", SPEC),
        synced=Synced(
            source_kind="secretRef",
            source_version="rv:7",
            secret_name="app",
            keys=keys,
            written=written,
            changed_keys=keys if written else (),
        ),
        applied=Applied(
            "app", created=written, written=written, changed_keys=keys if written else ()
        ),
        opened=opened,
    )


class Sink:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def submit(self, alert: Alert) -> bool:
        self.alerts.append(alert)
        return True


def value(m: Metrics, metric: str, /, **labels: str) -> float | None:
    return m.registry.get_sample_value(metric, labels)


def test_a_sync_is_recorded_with_its_change_time_and_rotation_limit() -> None:
    m = Metrics(CollectorRegistry())
    observer = MetricsObserver(m, clock=lambda: NOW)

    observer.synced(subject(), outcome(), 0.25)

    assert value(m, "envpayload_syncs_total", namespace="shop", name="app", result="changed") == 1
    assert (
        value(m, "envpayload_last_change_timestamp_seconds", namespace="shop", name="app")
        == NOW.timestamp()
    )
    assert (
        value(m, "envpayload_rotation_max_age_seconds", namespace="shop", name="app") == 30 * 86400
    )


def test_an_unchanged_sync_keeps_the_change_time_from_status() -> None:
    m = Metrics(CollectorRegistry())
    observer = MetricsObserver(m, clock=lambda: NOW)

    observer.synced(
        subject({"lastChangeTime": "2026-01-01T00:00:00Z"}), outcome(written=False), 0.1
    )

    changed = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp()
    assert (
        value(m, "envpayload_last_change_timestamp_seconds", namespace="shop", name="app")
        == changed
    )


def test_an_envelope_opened_with_a_retired_key_is_flagged() -> None:
    m = Metrics(CollectorRegistry())
    opened = Opened(plaintext=b"", key_id="k1", serial=3, retired_key=True)

    MetricsObserver(m, clock=lambda: NOW).synced(subject(), outcome(opened=opened), 0.1)

    assert value(m, "envpayload_sealed_with_retired_key", namespace="shop", name="app") == 1


def test_a_failure_is_recorded_by_reason_and_source() -> None:
    m = Metrics(CollectorRegistry())

    MetricsObserver(m).failed(subject(), PayloadError(["line 2: no '='"]), 0.1)

    assert (
        value(
            m, "envpayload_sync_errors_total", namespace="shop", name="app", reason="InvalidPayload"
        )
        == 1
    )
    assert (
        value(m, "envpayload_sync_duration_seconds_count", source="secretRef", result="failed") == 1
    )


def test_alerts_follow_failure_and_recovery_and_rotation_age() -> None:
    sink = Sink()
    clock = lambda: NOW  # noqa: E731
    observer = AlertObserver(AlertTracker(threshold_seconds=300, clock=clock), sink, clock=clock)

    observer.failed(subject(), PayloadError(["line 2: no '='"]), 0.1)
    observer.failed(subject(), PayloadError(["line 2: no '='"]), 0.1)
    old = {"lastChangeTime": "2026-01-01T00:00:00Z", "keys": ["DATABASE_URL", "API_KEY"]}
    observer.synced(subject(old), outcome(written=False), 0.1)

    assert [a.kind for a in sink.alerts] == [
        AlertKind.FAILING,
        AlertKind.RECOVERED,
        AlertKind.ROTATION_OVERDUE,
    ]
    assert sink.alerts[2].keys == ("DATABASE_URL", "API_KEY")


def test_a_deleted_envpayload_is_forgotten_by_both_observers() -> None:
    m = Metrics(CollectorRegistry())
    sink = Sink()
    metrics_observer = MetricsObserver(m)
    alert_observer = AlertObserver(AlertTracker(threshold_seconds=300), sink)
    metrics_observer.failed(subject(), SourceNotFoundError("gone"), 0.1)
    alert_observer.failed(subject(), SourceNotFoundError("gone"), 0.1)

    metrics_observer.deleted("shop", "app")
    alert_observer.deleted("shop", "app")
    alert_observer.synced(subject(), outcome(), 0.1)

    assert value(m, "envpayload_ready", namespace="shop", name="app") is None
    assert [a.kind for a in sink.alerts] == [AlertKind.FAILING]


class Source404:
    def fetch(self, namespace: str, source: Source) -> Fetched:
        raise SourceNotFoundError("Secret app-env key .env: the Secret does not exist")


class SourceOk:
    def fetch(self, namespace: str, source: Source) -> Fetched:
        return Fetched(content=b"A=1\n", version="rv:1", where="Secret app-env")


def test_source_requests_are_counted_by_result() -> None:
    m = Metrics(CollectorRegistry())
    source = SecretRefSource("app-env")

    CountingFetcher("secretRef", SourceOk(), m).fetch("shop", source)
    with pytest.raises(SourceNotFoundError):
        CountingFetcher("secretRef", Source404(), m).fetch("shop", source)

    assert value(m, "envpayload_source_requests_total", source="secretRef", result="Fetched") == 1
    assert (
        value(m, "envpayload_source_requests_total", source="secretRef", result="SourceNotFound")
        == 1
    )


def rollout(
    *outcomes: tuple[str, str], seconds: float = 12.0, rolled_back: bool = False
) -> RolloutReport:
    results = tuple(
        WorkloadResult(WorkloadRef("Deployment", name), result, ("API_KEY",), "ab12cd-00", NOW)
        for name, result in outcomes
    )
    return RolloutReport("app", "Auto", "Parallel", results, seconds, rolled_back)


def test_a_rollout_counts_each_workload_and_times_the_whole() -> None:
    m = Metrics(CollectorRegistry())

    MetricsObserver(m).rolled_out(subject(), rollout(("web", "Available"), ("api", "Failed")))

    labels = {"namespace": "shop", "name": "app", "kind": "Deployment"}
    assert value(m, "envpayload_restarts_total", **labels, result="Available") == 1
    assert value(m, "envpayload_restarts_total", **labels, result="Failed") == 1
    assert value(m, "envpayload_rollout_duration_seconds_count", result="Failed") == 1


def test_a_notification_alone_is_counted_but_not_timed() -> None:
    m = Metrics(CollectorRegistry())

    MetricsObserver(m).rolled_out(subject(), rollout(("web", "Notified")))

    labels = {"namespace": "shop", "name": "app", "kind": "Deployment", "result": "Notified"}
    assert value(m, "envpayload_restarts_total", **labels) == 1
    assert value(m, "envpayload_rollout_duration_seconds_count", result="Available") is None


def test_a_failed_rollout_alerts_and_a_slow_one_warns() -> None:
    sink = Sink()
    observer = AlertObserver(AlertTracker(threshold_seconds=10, clock=lambda: NOW), sink)

    observer.rolled_out(subject(), rollout(("web", "Failed"), seconds=30))

    assert [a.kind for a in sink.alerts] == [AlertKind.SLOW_ROLLOUT, AlertKind.ROLLOUT_FAILED]
    failed = sink.alerts[1]
    assert "Deployment/web restarted but not available" in failed.details
    assert failed.keys == ("API_KEY",)


def test_a_rolled_back_rollout_leaves_the_alert_to_the_failing_sync() -> None:
    sink = Sink()
    observer = AlertObserver(AlertTracker(threshold_seconds=0, clock=lambda: NOW), sink)

    observer.rolled_out(subject(), rollout(("web", "RolledBack"), rolled_back=True))

    assert sink.alerts == []
