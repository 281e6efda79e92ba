"""The ``/metrics`` endpoint Prometheus scrapes, on ``ENVPAYLOAD_METRICS_PORT``.

prometheus-client serves the registry from a thread of its own, so a scrape never waits
for the event loop and a busy loop never makes a scrape time out. Started and stopped by
Kopf's startup and cleanup handlers; port 0 means no endpoint at all.
"""

from __future__ import annotations

import asyncio
import logging
from threading import Thread
from typing import Any

from prometheus_client import start_http_server

from envpayload.report.metrics import Metrics

logger = logging.getLogger(__name__)


class MetricsEndpointError(RuntimeError):
    """The endpoint could not listen (the port is taken, say)."""


class MetricsEndpoint:
    """Serves one registry over HTTP while the operator runs."""

    def __init__(self, metrics: Metrics, address: str, port: int) -> None:
        self._metrics = metrics
        self._address = address
        self._port = port
        self._server: Any = None
        self._thread: Thread | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server, self._thread = await loop.run_in_executor(None, self._listen)
        except OSError as e:
            raise MetricsEndpointError(
                f"the metrics endpoint cannot listen on {self._address}:{self._port}: "
                f"{e.strerror or type(e).__name__}"
            ) from None
        logger.info("Serving metrics on http://%s:%d/metrics", self._address, self._port)

    async def stop(self) -> None:
        if self._server is None:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._server.shutdown)
        self._server.server_close()
        self._server = None

    def _listen(self) -> tuple[Any, Thread]:
        server, thread = start_http_server(
            self._port, addr=self._address, registry=self._metrics.registry
        )
        return server, thread
