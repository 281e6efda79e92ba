"""Prometheus metrics of the operator: one registry, every series with bounded labels.

The metric objects for every part of the pipeline live here, each behind a method named
for what happened (a sync, a restart, a source request), so the fetchers, the rollout
step and the GitHub adapter record facts without knowing Prometheus, and the exported
names stay consistent. ``observability/`` (the dashboard and the alerting rules) and
``docs/observability.md`` use exactly these names; a test keeps them in step.

Labels are chosen so the number of series stays bounded: the namespace and name of an
EnvPayload (as many as there are EnvPayloads, and removed with them), and small fixed
sets (results, error reasons, source kinds, workload kinds). Nothing here ever carries a
key's value, and no label takes text from a payload or an error message.

Per-EnvPayload times are exported as Unix timestamps rather than ages, as Prometheus
recommends: ``time() - envpayload_last_sync_timestamp_seconds`` is the time since the last
successful sync, and keeps growing even when the operator itself has stopped.
"""

from __future__ import annotations

from typing import Final, Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

from envpayload import __version__

# Every counter and histogram would also export a ``_created`` series per label set: a
# third more series per EnvPayload, which no dashboard or rule here uses.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds; syncs are usually well under a second, GitHub or a slow apiserver can take tens.
SYNC_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# Rollouts wait for pods to become available: seconds to many minutes.
ROLLOUT_BUCKETS: Final = (1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)

SyncResult = Literal["changed", "unchanged", "failed"]
AlertResult = Literal["sent", "failed", "dropped"]

# The labels that name one EnvPayload; every series carrying them goes when it goes.
PAYLOAD_LABELS: Final = ("namespace", "name")


class Metrics:
    """Every metric of the operator, registered in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)

        self.build_info = Gauge(
            "envpayload_build_info", "The running operator's version.", ["version"], registry=r
        )
        self.build_info.labels(__version__).set(1)

        # Syncs.
        self.syncs = Counter(
            "envpayload_syncs",
            "Syncs by result: changed (the Secret was written), unchanged, failed.",
            [*PAYLOAD_LABELS, "result"],
            registry=r,
        )
        self.sync_errors = Counter(
            "envpayload_sync_errors",
            "Failed syncs by reason (the Ready condition's reason).",
            [*PAYLOAD_LABELS, "reason"],
            registry=r,
        )
        self.sync_duration = Histogram(
            "envpayload_sync_duration_seconds",
            "Duration of one sync, from fetching the source to writing the Secret.",
            ["source", "result"],
            buckets=SYNC_BUCKETS,
            registry=r,
        )
        self.ready = Gauge(
            "envpayload_ready",
            "1 when the EnvPayload's last sync succeeded, 0 when it failed.",
            PAYLOAD_LABELS,
            registry=r,
        )
        self.last_sync = Gauge(
            "envpayload_last_sync_timestamp_seconds",
            "When the EnvPayload last synced successfully (Unix time).",
            PAYLOAD_LABELS,
            registry=r,
        )
        self.last_change = Gauge(
            "envpayload_last_change_timestamp_seconds",
            "When the EnvPayload's Secret content last changed (Unix time; status.lastChangeTime).",
            PAYLOAD_LABELS,
            registry=r,
        )
        self.rotation_max_age = Gauge(
            "envpayload_rotation_max_age_seconds",
            "spec.rotation.maxAge: how long the payload may stay unchanged.",
            PAYLOAD_LABELS,
            registry=r,
        )
        self.retired_key = Gauge(
            "envpayload_sealed_with_retired_key",
            "1 when the EnvPayload's envelope was opened with a retired sealing key.",
            PAYLOAD_LABELS,
            registry=r,
        )

        # Rollouts.
        self.restarts = Counter(
            "envpayload_restarts",
            "Workload restarts by result: Restarted, Available, Failed, RolledBack, Paused, "
            "Notified.",
            [*PAYLOAD_LABELS, "kind", "result"],
            registry=r,
        )
        self.rollout_duration = Histogram(
            "envpayload_rollout_duration_seconds",
            "Duration of one rollout, from the first restart until every workload is available.",
            ["result"],
            buckets=ROLLOUT_BUCKETS,
            registry=r,
        )

        # Sources.
        self.source_requests = Counter(
            "envpayload_source_requests",
            "Reads of a payload source by source kind and result (Fetched or the error reason).",
            ["source", "result"],
            registry=r,
        )
        self.github_rate_limit = Gauge(
            "envpayload_github_rate_limit_remaining",
            "GitHub API requests left in the current rate-limit window, per API host and "
            "credentials Secret (namespace/name, or anonymous).",
            ["host", "credentials"],
            registry=r,
        )
        self.github_rate_limit_window_end = Gauge(
            "envpayload_github_rate_limit_reset_timestamp_seconds",
            "When GitHub's current rate-limit window ends (Unix time), per API host and "
            "credentials Secret.",
            ["host", "credentials"],
            registry=r,
        )
        self.github_requests = Counter(
            "envpayload_github_requests",
            "HTTP requests to the GitHub API by result (not_modified answers cost no rate limit).",
            ["result"],
            registry=r,
        )
        self.github_webhooks = Counter(
            "envpayload_github_webhook_requests",
            "GitHub push webhooks received, by result: accepted, ignored, and the refused "
            "unsigned, bad_signature and bad_request.",
            ["result"],
            registry=r,
        )

        # Alerts.
        self.alerts = Counter(
            "envpayload_alerts",
            "Webhook alerts by kind and result: sent, failed (every attempt failed), dropped "
            "(the queue was full).",
            ["alert", "result"],
            registry=r,
        )
        self.alert_attempts_failed = Counter(
            "envpayload_alert_delivery_failures",
            "Failed attempts to deliver an alert (each retry counts), by cause.",
            ["cause"],
            registry=r,
        )
        self.alert_queue = Gauge(
            "envpayload_alert_queue_length", "Alerts waiting for delivery.", registry=r
        )

    # Syncs -------------------------------------------------------------------------------

    def synced(
        self,
        namespace: str,
        name: str,
        *,
        source: str,
        changed: bool,
        seconds: float,
        now: float,
        last_change: float | None,
    ) -> None:
        """A successful sync; ``now`` and ``last_change`` are Unix times."""
        result: SyncResult = "changed" if changed else "unchanged"
        self.syncs.labels(namespace, name, result).inc()
        self.sync_duration.labels(source, result).observe(seconds)
        self.ready.labels(namespace, name).set(1)
        self.last_sync.labels(namespace, name).set(now)
        if last_change is not None:
            self.last_change.labels(namespace, name).set(last_change)

    def failed(
        self,
        namespace: str,
        name: str,
        *,
        source: str,
        reason: str,
        seconds: float,
        last_change: float | None,
    ) -> None:
        """A failed sync; ``reason`` is the error's CamelCase reason, never its message."""
        self.syncs.labels(namespace, name, "failed").inc()
        self.sync_errors.labels(namespace, name, reason).inc()
        self.sync_duration.labels(source, "failed").observe(seconds)
        self.ready.labels(namespace, name).set(0)
        if last_change is not None:
            self.last_change.labels(namespace, name).set(last_change)

    def rotation(self, namespace: str, name: str, max_age_seconds: float) -> None:
        self.rotation_max_age.labels(namespace, name).set(max_age_seconds)

    def sealed_with(self, namespace: str, name: str, *, retired_key: bool) -> None:
        """Which kind of key opened the EnvPayload's envelope (sealing.Opened.retired_key)."""
        self.retired_key.labels(namespace, name).set(1 if retired_key else 0)

    def forget(self, namespace: str, name: str) -> None:
        """Drop every series of a deleted EnvPayload, so the series count stays bounded."""
        labels = {"namespace": namespace, "name": name}
        for metric in (
            self.syncs,
            self.sync_errors,
            self.ready,
            self.last_sync,
            self.last_change,
            self.rotation_max_age,
            self.retired_key,
            self.restarts,
        ):
            metric.remove_by_labels(labels)

    # Rollouts ----------------------------------------------------------------------------

    def restart(self, namespace: str, name: str, *, kind: str, result: str) -> None:
        """One workload restart (or notification) for the EnvPayload ``namespace/name``."""
        self.restarts.labels(namespace, name, kind, result).inc()

    def rollout(self, *, result: str, seconds: float) -> None:
        """One rollout finished; ``result`` is Available, Failed or RolledBack."""
        self.rollout_duration.labels(result).observe(seconds)

    # Sources -----------------------------------------------------------------------------

    def source_request(self, source: str, result: str) -> None:
        """One read of a source; ``result`` is ``Fetched`` or an error reason."""
        self.source_requests.labels(source, result).inc()

    def github_rate_limit_remaining(self, host: str, credentials: str, remaining: int) -> None:
        """What GitHub's ``X-RateLimit-Remaining`` said for these credentials."""
        self.github_rate_limit.labels(host, credentials).set(remaining)

    def github_rate_limit_reset(self, host: str, credentials: str, reset: float) -> None:
        """When GitHub's rate-limit window for these credentials ends (Unix time)."""
        self.github_rate_limit_window_end.labels(host, credentials).set(reset)

    def github_request(self, result: str) -> None:
        """One HTTP request to GitHub; ``result`` is one of github_api.metrics' words."""
        self.github_requests.labels(result).inc()

    def github_webhook(self, result: str) -> None:
        self.github_webhooks.labels(result).inc()

    # Alerts ------------------------------------------------------------------------------

    def alert(self, alert: str, result: AlertResult) -> None:
        self.alerts.labels(alert, result).inc()

    def alert_attempt_failed(self, cause: str) -> None:
        self.alert_attempts_failed.labels(cause).inc()

    def alert_queue_length(self, length: int) -> None:
        self.alert_queue.set(length)

    def names(self) -> set[str]:
        """Every sample name this registry can export (for checking dashboards and rules)."""
        names: set[str] = set()
        for family in self.registry.collect():
            names.add(family.name)
            names.update(sample.name for sample in family.samples)
            if family.type == "counter":
                names.add(f"{family.name}_total")
            if family.type == "histogram":
                names.update(f"{family.name}_{s}" for s in ("bucket", "count", "sum"))
        return names


# The operator's metrics; the metrics endpoint serves this registry.
METRICS: Final = Metrics()
