"""Delivering alerts to ``OPERATIONS_ALERT_WEBHOOK``, without ever holding up a sync.

Alerts go into a bounded queue and one background task posts them, in order, so a sync
only pays for a ``put_nowait``. Each attempt has a timeout; a failed attempt is retried
with exponential backoff (doubling from one second, capped, with jitter, honouring a
``Retry-After`` up to the cap) a bounded number of times. When the webhook stays down,
alerts are dropped and counted rather than piling up in memory: first the ones that no
longer fit in the queue, then each one whose attempts are used up.

NB: the queue lives in memory only. Alerts still queued when the process dies are lost
(the state they reported is still in status, and a failing EnvPayload alerts again from
a new operator only if its state changes); a durable outbox is not built.

NB: the URL is a credential (Slack's carries its token in the path), so it is never
logged, never put in a metric label, and never in an exception message that could be:
failures are described by a fixed cause word and the HTTP status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from typing import Final

import aiohttp

from envpayload.report.alert_formats import render
from envpayload.report.alerts import Alert
from envpayload.report.metrics import Metrics

logger = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS: Final = 1.0
JITTER: Final = 0.1
# Statuses worth retrying: the receiver is overloaded or briefly broken.
RETRYABLE_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Delivery:
    """How alerts are sent (from the settings)."""

    url: str
    format: str
    cluster: str = ""
    timeout_seconds: float = 10.0
    max_attempts: int = 5
    backoff_max_seconds: float = 60.0
    queue_size: int = 100

    def __repr__(self) -> str:
        return f"Delivery(format={self.format!r}, url=<redacted>)"


@dataclass(frozen=True)
class _Attempt:
    """How one attempt went: a fixed cause word, never text from the receiver."""

    delivered: bool
    retry: bool
    cause: str = ""
    retry_after: float | None = None


class WebhookSender:
    """A bounded queue of alerts and the task that posts them."""

    def __init__(self, delivery: Delivery, metrics: Metrics) -> None:
        self._delivery = delivery
        self._metrics = metrics
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=delivery.queue_size)
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"WebhookSender({self._delivery!r})"

    def submit(self, alert: Alert) -> bool:
        """Queue ``alert`` (on the event loop, without waiting); False when it was dropped."""
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            self._metrics.alert(alert.kind, "dropped")
            logger.warning(
                "Dropped alert %s about EnvPayload %s: %d alerts are already waiting",
                alert.kind,
                alert.subject,
                self._queue.qsize(),
            )
            return False
        self._metrics.alert_queue_length(self._queue.qsize())
        return True

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._delivery.timeout_seconds)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._task = asyncio.create_task(self._run(), name="alert delivery")
        logger.info("Alerts go to the %s webhook", self._delivery.format)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Give queued alerts ``grace_seconds`` to go out, then stop."""
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), grace_seconds)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()
        if left := self._queue.qsize():
            logger.warning("Stopping with %d alerts undelivered", left)

    async def _run(self) -> None:
        while True:
            alert = await self._queue.get()
            try:
                await self._deliver(alert)
            except Exception as e:  # a bug here must not stop later alerts
                logger.error("Delivering alert %s failed with %s", alert.kind, type(e).__name__)
            finally:
                self._queue.task_done()
                self._metrics.alert_queue_length(self._queue.qsize())

    async def _deliver(self, alert: Alert) -> None:
        body = render(alert, self._delivery.format, self._delivery.cluster)
        attempts = self._delivery.max_attempts
        for attempt in range(1, attempts + 1):
            result = await self._attempt(body)
            if result.delivered:
                self._metrics.alert(alert.kind, "sent")
                logger.info(
                    "Sent alert %s about EnvPayload %s (attempt %d)",
                    alert.kind,
                    alert.subject,
                    attempt,
                )
                return

            self._metrics.alert_attempt_failed(result.cause)
            if not result.retry or attempt == attempts:
                break
            delay = self._backoff(attempt, result.retry_after)
            logger.warning(
                "Alert %s about EnvPayload %s not delivered (%s, attempt %d of %d); "
                "retrying in %.1fs",
                alert.kind,
                alert.subject,
                result.cause,
                attempt,
                attempts,
                delay,
            )
            await asyncio.sleep(delay)

        self._metrics.alert(alert.kind, "failed")
        logger.error(
            "Alert %s about EnvPayload %s was not delivered: %s after %d attempts",
            alert.kind,
            alert.subject,
            result.cause,
            attempt,
        )

    async def _attempt(self, body: dict[str, object]) -> _Attempt:
        assert self._session is not None, "start() first"
        try:
            async with self._session.post(
                self._delivery.url, json=body, allow_redirects=False
            ) as response:
                status = response.status
                retry_after = _seconds(response.headers.get("Retry-After"))
                await response.read()
        except TimeoutError:
            return _Attempt(delivered=False, retry=True, cause="timeout")
        except aiohttp.ClientConnectionError:
            return _Attempt(delivered=False, retry=True, cause="connection")
        except aiohttp.ClientError:
            # Exception texts name the URL: only the class says what went wrong.
            return _Attempt(delivered=False, retry=False, cause="client error")

        if 200 <= status < 300:
            return _Attempt(delivered=True, retry=False)
        return _Attempt(
            delivered=False,
            retry=status in RETRYABLE_STATUSES,
            cause=f"HTTP {status}",
            retry_after=retry_after,
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        cap = self._delivery.backoff_max_seconds
        wanted = FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1)
        if retry_after is not None:
            wanted = max(wanted, retry_after)
        jitter = random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - not cryptographic
        return float(min(wanted, cap) * jitter)


def _seconds(header: str | None) -> float | None:
    """A ``Retry-After`` given in seconds (the HTTP-date form is rare for webhooks)."""
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None
