"""Delivering alerts to a real loopback webhook: retries, bounds, and a URL that never leaks."""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from envpayload.devtools.webhook_receiver import AlertReceiver
from envpayload.report.alerts import Alert, AlertKind
from envpayload.report.metrics import Metrics
from envpayload.report.webhook import Delivery, WebhookSender

TOKEN = "T0KEN-in-the-path"


def alert(name: str = "app") -> Alert:
    return Alert(
        kind=AlertKind.FAILING,
        severity="critical",
        namespace="shop",
        name=name,
        reason="InvalidPayload",
        summary=f"EnvPayload shop/{name} is failing: InvalidPayload",
        details="line 3: the statement has no '='",
        time=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    with AlertReceiver() as running:
        yield running


def delivery(url: str, **kwargs: float) -> Delivery:
    settings: dict[str, float] = {"timeout_seconds": 2, "max_attempts": 3}
    settings.update(kwargs)
    return Delivery(
        url=f"{url}/{TOKEN}",
        format="generic",
        timeout_seconds=settings["timeout_seconds"],
        max_attempts=int(settings["max_attempts"]),
        backoff_max_seconds=settings.get("backoff_max_seconds", 0.05),
        queue_size=int(settings.get("queue_size", 100)),
    )


async def send(sender: WebhookSender, *alerts: Alert, grace: float = 10) -> list[bool]:
    await sender.start()
    queued = [sender.submit(a) for a in alerts]
    await sender.stop(grace_seconds=grace)
    return queued


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_alerts_are_delivered_in_order(receiver: AlertReceiver) -> None:
    metrics = Metrics(CollectorRegistry())
    sender = WebhookSender(delivery(receiver.url), metrics)

    asyncio.run(send(sender, alert("one"), alert("two")))

    assert [body["name"] for body in receiver.received] == ["one", "two"]
    assert sample(metrics, "envpayload_alerts_total", alert="Failing", result="sent") == 2


def test_a_failing_webhook_is_retried_until_it_answers(
    receiver: AlertReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics(CollectorRegistry())
    receiver.status = 503
    sender = WebhookSender(delivery(receiver.url, max_attempts=10), metrics)

    async def scenario() -> None:
        await sender.start()
        sender.submit(alert())
        while receiver.attempts < 2:
            await asyncio.sleep(0.01)
        receiver.status = 200
        await sender.stop(grace_seconds=10)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())

    assert len(receiver.received) == 1
    assert receiver.attempts >= 3
    assert sample(metrics, "envpayload_alert_delivery_failures_total", cause="HTTP 503") >= 2
    assert "retrying" in caplog.text
    assert TOKEN not in caplog.text


def test_delivery_gives_up_after_the_last_attempt_and_counts_the_loss(
    receiver: AlertReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics(CollectorRegistry())
    receiver.status = 500
    sender = WebhookSender(delivery(receiver.url, max_attempts=3), metrics)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(send(sender, alert()))

    assert receiver.attempts == 3
    assert sample(metrics, "envpayload_alerts_total", alert="Failing", result="failed") == 1
    assert "was not delivered: HTTP 500 after 3 attempts" in caplog.text
    assert TOKEN not in caplog.text


def test_a_client_error_is_not_retried(receiver: AlertReceiver) -> None:
    metrics = Metrics(CollectorRegistry())
    receiver.status = 404  # a deleted Slack webhook answers like this
    sender = WebhookSender(delivery(receiver.url, max_attempts=5), metrics)

    asyncio.run(send(sender, alert()))

    assert receiver.attempts == 1
    assert sample(metrics, "envpayload_alerts_total", alert="Failing", result="failed") == 1


def test_an_unreachable_webhook_is_retried_and_never_named_in_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics(CollectorRegistry())
    with AlertReceiver() as gone:
        url = gone.url  # a port that was just closed: connections are refused
    sender = WebhookSender(delivery(url, max_attempts=2), metrics)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(send(sender, alert()))

    assert sample(metrics, "envpayload_alert_delivery_failures_total", cause="connection") == 2
    assert url.split("//")[1].split("/")[0] not in caplog.text
    assert TOKEN not in caplog.text


def test_a_slow_webhook_times_out_per_attempt() -> None:
    metrics = Metrics(CollectorRegistry())
    with AlertReceiver(delay=3) as slow:
        sender = WebhookSender(delivery(slow.url, timeout_seconds=0.2, max_attempts=2), metrics)
        asyncio.run(send(sender, alert()))

    assert sample(metrics, "envpayload_alert_delivery_failures_total", cause="timeout") == 2


def test_submitting_never_waits_for_the_webhook() -> None:
    metrics = Metrics(CollectorRegistry())
    with AlertReceiver(delay=3) as slow:
        sender = WebhookSender(delivery(slow.url, queue_size=5), metrics)

        async def scenario() -> tuple[float, list[bool]]:
            await sender.start()
            started = time.monotonic()
            queued = [sender.submit(alert(f"p{i}")) for i in range(8)]
            elapsed = time.monotonic() - started
            await sender.stop(grace_seconds=0)
            return elapsed, queued

        elapsed, queued = asyncio.run(scenario())

    # Submitting is a put on a queue: it returns before the receiver could even answer.
    assert elapsed < 1
    # Five fit in the queue; the rest are dropped and counted, not held.
    assert queued == [True] * 5 + [False] * 3
    assert sample(metrics, "envpayload_alerts_total", alert="Failing", result="dropped") == 3


def test_the_delivery_settings_never_show_the_url() -> None:
    settings = delivery("https://hooks.slack.com/services")

    assert TOKEN not in repr(settings)
    assert TOKEN not in repr(WebhookSender(settings, Metrics(CollectorRegistry())))
