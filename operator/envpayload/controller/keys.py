"""The keyring's upkeep: rotate the sealing key when due, publish, delete what nothing uses.

It runs once at start (before Kopf, so the first EnvPayload already finds a keyring and
published keys) and then in the background as one of the runtime's services, waking
when the active key falls due or after an hour at the latest, so a key added or deleted
elsewhere is published again within the hour. Every replica runs it: the keyring's
writes are conditional (see ``keyring.py``), so two replicas never both rotate.

One pass does, in order: make sure the keyring exists, add a new key when the active
one is older than the rotation period, delete retired keys that the rules of
``sealing/lifecycle.py`` let go, publish the public keys, and hand the keyring to the
opener so syncs use the new key at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import traceback
from concurrent.futures import Executor
from typing import Final

from kubernetes import client

from envpayload.errors import EnvPayloadError
from envpayload.keyring import KeyringStore
from envpayload.keyusage import scan_key_usage
from envpayload.publickeys import PublicKeys
from envpayload.sealing.keys import Keyset
from envpayload.sealing.lifecycle import KeyUsage, keys_to_delete, next_rotation
from envpayload.sealing.opener import KeyringOpener
from envpayload.settings import Settings

logger = logging.getLogger(__name__)

LONGEST_SLEEP: Final = 3600.0
SHORTEST_SLEEP: Final = 1.0
RETRY_SLEEP: Final = 60.0


class KeyUpkeep:
    """Keeps the sealing keys rotated, published and pruned; see the module docstring."""

    def __init__(
        self,
        store: KeyringStore,
        published: PublicKeys,
        custom: client.CustomObjectsApi,
        settings: Settings,
        executor: Executor,
    ) -> None:
        self.store = store
        self.published = published
        self._custom = custom
        self.period = datetime.timedelta(days=settings.sealing_key_rotation_days)
        retention = settings.sealing_key_retention_days
        self.retention = datetime.timedelta(days=retention) if retention > 0 else None
        self.opener = KeyringOpener(Keyset(), reload=store.sealing_keys)
        self._executor = executor
        self._task: asyncio.Task[None] | None = None
        self._next_sleep = 0.0

    def run_once(self, now: datetime.datetime | None = None) -> float:
        """One pass; returns the seconds until the next one is due."""
        now = now or datetime.datetime.now(datetime.UTC)
        keyset = self.store.rotate(now, self.period)
        keyset = self._delete_unused(keyset, now)
        self.published.publish(keyset)
        self.opener.update(keyset)

        due = next_rotation(keyset, self.period)
        seconds = LONGEST_SLEEP if due is None else (due - now).total_seconds()
        self._next_sleep = min(max(seconds, SHORTEST_SLEEP), LONGEST_SLEEP)
        return self._next_sleep

    def _delete_unused(self, keyset: Keyset, now: datetime.datetime) -> Keyset:
        # Listing every EnvPayload costs something: only when a key is old enough to go.
        if not keys_to_delete(keyset, KeyUsage(), now, self.retention):
            return keyset
        usage = scan_key_usage(self._custom)
        if not usage.complete:
            logger.info(
                "Keeping every retired sealing key: %s",
                usage.error or f"EnvPayloads not in sync yet: {', '.join(usage.unsettled[:5])}",
            )
            return keyset
        return self.store.delete_sealing_keys(
            lambda current: keys_to_delete(current, usage, now, self.retention)
        )

    async def start(self) -> None:
        """Keep the schedule in the background on the running event loop (a Service)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self._next_sleep
        while True:
            await asyncio.sleep(delay)
            try:
                delay = await loop.run_in_executor(self._executor, self.run_once)
            except EnvPayloadError as e:
                logger.warning("Keyring upkeep failed (%s): %s; retrying in a minute", e.reason, e)
                delay = RETRY_SLEEP
            except Exception as e:  # a bug must not end the upkeep
                frames = "".join(traceback.format_tb(e.__traceback__))
                logger.error("Keyring upkeep failed with %s at:\n%s", type(e).__name__, frames)
                delay = RETRY_SLEEP
