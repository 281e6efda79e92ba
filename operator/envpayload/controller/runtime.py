"""What every handler and sync loop shares: settings, clients, the reconciler, a pool.

Built once at start by ``envpayload run`` and handed to Kopf as its memo, so handlers
reach it as ``memo["runtime"]`` and tests can build one with their own adapters.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from envpayload.errors import EnvPayloadError
from envpayload.fetch.github import SecretVersions
from envpayload.kube import Clients
from envpayload.reconcile import Outcome, Reconciler, Subject
from envpayload.rollout.runner import RolloutRunner
from envpayload.settings import Settings

if TYPE_CHECKING:
    from envpayload.controller.worker import Wakeups


class Observer(Protocol):
    """Learns the result of every sync (metrics, alerts); must return quickly, never raise."""

    def synced(self, subject: Subject, outcome: Outcome, seconds: float) -> None: ...

    def failed(self, subject: Subject, error: EnvPayloadError, seconds: float) -> None: ...

    def deleted(self, namespace: str, name: str) -> None: ...


class Service(Protocol):
    """Something that runs beside the handlers (the metrics endpoint, alert delivery).

    Started by Kopf's startup handler on the operator's event loop, stopped by its
    cleanup handler, in reverse order.
    """

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    clients: Clients
    reconciler: Reconciler
    wakeups: Wakeups
    executor: ThreadPoolExecutor = field(default_factory=ThreadPoolExecutor)
    observers: list[Observer] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    # Carries out rollout plans (one coordinator for the whole process); None: no restarts.
    rollouts: RolloutRunner | None = None
    # The newest versions of the Secrets EnvPayloads read, as the watch sees them.
    secret_versions: SecretVersions | None = None
