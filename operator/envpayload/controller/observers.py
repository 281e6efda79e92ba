"""Observers that turn every sync's (and rollout's) result into metrics and alerts.

The sync loop (worker.py) tells each observer in ``runtime.observers`` how a sync went;
the adapters here translate the controller's vocabulary (``Subject``, ``Outcome``,
errors) into the plain facts that ``report.metrics`` and ``report.alerts`` take, so
those stay free of the controller and easy to test. Observers run on the event loop:
they only update counters and queue alerts, and never raise.

:class:`CountingFetcher` wraps a source's fetcher to count its requests by result.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, Protocol

from envpayload.conventions import parse_time
from envpayload.errors import EnvPayloadError
from envpayload.fetch import Fetched, Fetcher
from envpayload.reconcile import Outcome, Subject
from envpayload.report.alerts import Alert, AlertTracker, SyncResult
from envpayload.report.metrics import Metrics
from envpayload.report.status import synced_status
from envpayload.rollout.summary import RolloutReport, rolled_out_condition
from envpayload.rollout.workloads import describe
from envpayload.spec import EnvPayloadSpec, Source, SpecError, read_spec

Clock = Callable[[], datetime.datetime]


class AlertSink(Protocol):
    """Takes alerts without waiting (report.webhook.WebhookSender)."""

    def submit(self, alert: Alert) -> bool: ...


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class MetricsObserver:
    """Records every sync in the operator's metrics."""

    def __init__(self, metrics: Metrics, clock: Clock = utc_now) -> None:
        self._metrics = metrics
        self._clock = clock

    def synced(self, subject: Subject, outcome: Outcome, seconds: float) -> None:
        now = self._clock()
        last_change = _last_change_after(subject, outcome, now)
        self._metrics.synced(
            subject.namespace,
            subject.name,
            source=outcome.spec.source_kind,
            changed=outcome.applied.written,
            seconds=seconds,
            now=now.timestamp(),
            last_change=last_change.timestamp() if last_change else None,
        )
        self._metrics.rotation(
            subject.namespace, subject.name, outcome.spec.rotation_max_age.total_seconds()
        )
        if outcome.opened is not None:
            self._metrics.sealed_with(
                subject.namespace, subject.name, retired_key=outcome.opened.retired_key
            )

    def rolled_out(self, subject: Subject, report: RolloutReport) -> None:
        """Each workload's result, and how long the rollout took when something restarted."""
        for result in report.results:
            self._metrics.restart(
                subject.namespace, subject.name, kind=result.ref.kind, result=result.outcome
            )
        if report.restarted:
            self._metrics.rollout(result=report.result(), seconds=report.seconds)

    def failed(self, subject: Subject, error: EnvPayloadError, seconds: float) -> None:
        spec = _spec_or_none(subject)
        last_change = parse_time(subject.status.get("lastChangeTime"))
        self._metrics.failed(
            subject.namespace,
            subject.name,
            source=spec.source_kind if spec else "unknown",
            reason=error.reason,
            seconds=seconds,
            last_change=last_change.timestamp() if last_change else None,
        )
        if spec is not None:
            self._metrics.rotation(
                subject.namespace, subject.name, spec.rotation_max_age.total_seconds()
            )

    def deleted(self, namespace: str, name: str) -> None:
        self._metrics.forget(namespace, name)


class AlertObserver:
    """Decides alerts with an :class:`AlertTracker` and queues them for the webhook."""

    def __init__(self, tracker: AlertTracker, sender: AlertSink, clock: Clock = utc_now) -> None:
        self._tracker = tracker
        self._sender = sender
        self._clock = clock

    def synced(self, subject: Subject, outcome: Outcome, seconds: float) -> None:
        result = SyncResult(
            namespace=subject.namespace,
            name=subject.name,
            previous_status=subject.status,
            seconds=seconds,
            secret_name=outcome.applied.secret_name,
            changed_keys=outcome.applied.changed_keys,
            keys=outcome.synced.keys,
            last_change=_last_change_after(subject, outcome, self._clock()),
            rotation_max_age=outcome.spec.rotation_max_age,
        )
        self._send(result)

    def failed(self, subject: Subject, error: EnvPayloadError, seconds: float) -> None:
        spec = _spec_or_none(subject)
        result = SyncResult(
            namespace=subject.namespace,
            name=subject.name,
            previous_status=subject.status,
            seconds=seconds,
            error=error,
            keys=subject.status.get("keys") or (),
            last_change=parse_time(subject.status.get("lastChangeTime")),
            rotation_max_age=spec.rotation_max_age if spec else None,
        )
        self._send(result)

    def rolled_out(self, subject: Subject, report: RolloutReport) -> None:
        """A slow rollout, and one that did not finish (a rollback fails the sync instead)."""
        restarted = report.restarted
        if restarted:
            workloads = [describe(r.ref) for r in restarted]
            for alert in self._tracker.observe_rollout(
                subject.namespace, subject.name, report.seconds, workloads, subject.status
            ):
                self._sender.submit(alert)
        if report.failed and not report.rolled_back:
            condition = rolled_out_condition(report) or {}
            keys = sorted({key for r in restarted for key in r.keys})
            for alert in self._tracker.rollout_failed(
                subject.namespace, subject.name, condition.get("message", ""), keys
            ):
                self._sender.submit(alert)

    def deleted(self, namespace: str, name: str) -> None:
        self._tracker.forget(namespace, name)

    def _send(self, result: SyncResult) -> None:
        for alert in self._tracker.observe(result):
            self._sender.submit(alert)


class CountingFetcher:
    """A fetcher that counts its requests by source kind and result."""

    def __init__(self, source: str, fetcher: Fetcher, metrics: Metrics) -> None:
        self._source = source
        self._fetcher = fetcher
        self._metrics = metrics

    def fetch(self, namespace: str, source: Source) -> Fetched:
        try:
            fetched = self._fetcher.fetch(namespace, source)
        except EnvPayloadError as e:
            self._metrics.source_request(self._source, e.reason)
            raise
        except Exception:
            self._metrics.source_request(self._source, "InternalError")
            raise
        self._metrics.source_request(self._source, "Fetched")
        return fetched


def _last_change_after(
    subject: Subject, outcome: Outcome, now: datetime.datetime
) -> datetime.datetime | None:
    """``status.lastChangeTime`` as the worker writes it after this sync."""
    status: dict[str, Any] = synced_status(subject.status, outcome.synced, subject.generation, now)
    return parse_time(status.get("lastChangeTime"))


def _spec_or_none(subject: Subject) -> EnvPayloadSpec | None:
    try:
        return read_spec(subject.name, subject.spec)
    except (SpecError, KeyError, TypeError):
        return None
