"""The loop that keeps one EnvPayload in sync, from creation to deletion.

Kopf runs one :func:`SyncLoop.run` per EnvPayload as a daemon. The loop syncs, then
sleeps until the next refresh (with jitter, so a thousand payloads do not all poll at
once), a retry (with backoff), or a wake-up: a spec change, a change of the source or
target Secret, a GitHub push. Wake-ups that arrive during a sync coalesce into one more
sync, and syncs of one EnvPayload never overlap.

The pipeline itself runs in a worker thread (the API clients block); the loop carries
out its rollout plan on the event loop (``rollouts.py``: restarts and waits never hold
a thread), then turns the outcome into status, Events and the next delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import random
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from envpayload.controller.rollouts import roll_out, with_rollout
from envpayload.controller.runtime import Runtime
from envpayload.conventions import find_condition
from envpayload.errors import EnvPayloadError, RateLimitedError
from envpayload.kube import describe_api_error
from envpayload.reconcile import Outcome, Subject
from envpayload.report import events, rotation
from envpayload.report.status import Status, failed_status, is_ready, synced_status
from envpayload.spec import GROUP, PLURAL, VERSION, SpecError, read_spec

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 2.0
JITTER = 0.1
# GitHub's rate-limit window is an hour; a longer Retry-After is not believed.
MAX_RETRY_AFTER_SECONDS = 3600.0


class InternalError(EnvPayloadError):
    """Something unexpected broke; the traceback (without messages) is in the log."""

    reason = "InternalError"
    retryable = True


@dataclass
class Wakeup:
    """Wakes one loop early; several wake-ups before it runs count as one.

    ``newer`` is set only by a wake-up that brings a new spec, or a source version other
    than ``current`` (the one the loop synced last). It cuts short a rollout being
    watched, so it must not fire for echoes: the loop's own Secret writes, or the replay
    of every Secret that Kopf sends when it starts or restarts a watch. A version is only
    compared with one of its own kind (``rv:`` with ``rv:``), so a credentials Secret's
    change never counts as a new GitHub file.
    """

    event: asyncio.Event = field(default_factory=asyncio.Event)
    reasons: set[str] = field(default_factory=set)
    newer: asyncio.Event = field(default_factory=asyncio.Event)
    current: str | None = None
    # The target Secret's resourceVersion after the loop's last write: the watch event
    # that echoes it needs no sync.
    own_write: str | None = None
    _new_spec: bool = False
    _versions: set[str] = field(default_factory=set)
    # Pending wake-ups: the target versions they announced, and whether any other came.
    _target_versions: set[str] = field(default_factory=set)
    _other_pending: bool = False

    def wake(
        self,
        reason: str,
        *,
        newer: bool = False,
        version: str | None = None,
        target_version: str | None = None,
    ) -> None:
        """Wake the loop; ``target_version`` marks a change of the Secret it writes."""
        if target_version is not None:
            if target_version == self.own_write:
                return
            # Perhaps the echo of a write whose version the loop does not know yet.
            self._target_versions.add(target_version)
        else:
            self._other_pending = True
        self.reasons.add(reason)
        self.event.set()
        self._new_spec = self._new_spec or newer
        if version is not None:
            self._versions.add(version)
        self._judge()

    def wrote(self, version: str) -> None:
        """The loop wrote its target Secret at ``version``; that write's echo is no news.

        The echo can come before the sync is done: if nothing else is pending, it is
        forgotten here, so the loop does not sync again to find nothing to do.
        """
        self.own_write = version
        self._target_versions.discard(version)
        if self.reasons and not self._target_versions and not self._other_pending:
            self.take()

    def take(self) -> set[str]:
        reasons, self.reasons = self.reasons, set()
        self.event.clear()
        self.newer.clear()
        self._new_spec, self._versions = False, set()
        self._target_versions, self._other_pending = set(), False
        return reasons

    def synced(self, version: str) -> None:
        """The loop now holds ``version``: wake-ups that announced it were not news."""
        self.current = version
        self._judge()

    def _judge(self) -> None:
        current = self.current
        newer_version = current is not None and any(
            v.partition(":")[0] == current.partition(":")[0] and v != current
            for v in self._versions
        )
        if self._new_spec or newer_version:
            self.newer.set()
        else:
            self.newer.clear()


class Wakeups:
    """The wake-up handles of every running loop, by (namespace, name)."""

    def __init__(self) -> None:
        self._loops: dict[tuple[str, str], Wakeup] = {}

    def register(self, namespace: str, name: str) -> Wakeup:
        return self._loops.setdefault((namespace, name), Wakeup())

    def unregister(self, namespace: str, name: str) -> None:
        self._loops.pop((namespace, name), None)

    def __len__(self) -> int:
        return len(self._loops)

    def wake(
        self,
        namespace: str,
        name: str,
        reason: str,
        *,
        newer: bool = False,
        version: str | None = None,
        target_version: str | None = None,
    ) -> bool:
        """Wake the loop of one EnvPayload; False when it has none running.

        ``newer``: the wake-up brings a new spec; ``version``: the source version it
        announces; ``target_version``: the version of the Secret the loop writes, which
        is no news when it is the loop's own write (see :class:`Wakeup`).
        """
        wakeup = self._loops.get((namespace, name))
        if wakeup is not None:
            wakeup.wake(reason, newer=newer, version=version, target_version=target_version)
        return wakeup is not None


@dataclass
class SyncLoop:
    """Keeps one EnvPayload in sync; ``body`` is Kopf's live view of the object."""

    runtime: Runtime
    body: Any
    log: logging.Logger | logging.LoggerAdapter[Any]
    failures: int = 0
    # The status this loop last wrote (see subject()).
    last_written: Mapping[str, Any] | None = None

    async def run(self, stopped: Any) -> None:
        namespace, name = self.body["metadata"]["namespace"], self.body["metadata"]["name"]
        wakeup = self.runtime.wakeups.register(namespace, name)
        try:
            while not stopped:
                reasons = wakeup.take()
                if reasons:
                    self.log.debug("Syncing because: %s", ", ".join(sorted(reasons)))
                delay = await self.sync_once(wakeup)
                await _sleep(wakeup.event, stopped, delay)
        finally:
            self.runtime.wakeups.unregister(namespace, name)
            # Nothing to clean in the cluster: with deletionPolicy Delete the Secret's
            # owner reference lets the garbage collector remove it; Retain keeps it.
            if stopped.reason and kopf.DaemonStoppingReason.RESOURCE_DELETED in stopped.reason:
                self._notify("deleted", namespace, name)

    def subject(self) -> Subject:
        meta = self.body["metadata"]
        # The operator is the only writer of status, and the watch event carrying its
        # last write may not have arrived yet: what it wrote last is the freshest truth.
        status = self.last_written if self.last_written is not None else self.body.get("status")
        return Subject(
            namespace=meta["namespace"],
            name=meta["name"],
            uid=meta["uid"],
            generation=int(meta.get("generation") or 0),
            spec=dict(self.body.get("spec") or {}),
            status=dict(status or {}),
        )

    async def sync_once(self, wakeup: Wakeup | None = None) -> float:
        """One sync; returns how long to sleep before the next one.

        When ``wakeup`` hears of a new source version or spec meanwhile, the rollout stops
        watching, so the next sync comes at once.
        """
        subject = self.subject()
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        try:
            outcome = await loop.run_in_executor(
                self.runtime.executor, self.runtime.reconciler.sync, subject
            )
            return await self._after_sync(subject, outcome, started, wakeup)
        except EnvPayloadError as e:
            error = e
        except Exception as e:  # a bug must not end the loop, nor one in the rollout
            error = _internal(e, self.log)

        seconds = time.monotonic() - started
        await self._failed(subject, error)
        self._notify("failed", subject, error, seconds)
        return self._retry_delay(subject, error)

    async def _after_sync(
        self, subject: Subject, outcome: Outcome, started: float, wakeup: Wakeup | None
    ) -> float:
        """Roll out what the sync changed, report it; returns the time to the next sync.

        A failure in here comes after the Secret was written; the next sync plans the
        restarts again from the markers, so none is lost.
        """
        seconds = time.monotonic() - started
        written = "wrote the Secret" if outcome.applied.written else "nothing to write"
        self.log.debug("Sync took %.3fs; %s", seconds, written)
        if wakeup is not None:
            wakeup.synced(outcome.synced.source_version)
            if outcome.applied.resource_version is not None:
                wakeup.wrote(outcome.applied.resource_version)

        outcome = await roll_out(
            self.runtime.rollouts,
            self.body,
            subject,
            outcome,
            self.log,
            wakeup.newer if wakeup is not None else None,
        )
        if outcome.rollout is not None:
            self._notify("rolled_out", subject, outcome.rollout)

        if outcome.held is not None:
            # The sync did its work, but the Secret keeps rolled-back content on purpose.
            await self._failed(subject, outcome.held, outcome)
            self._notify("failed", subject, outcome.held, seconds)
            return self._retry_delay(subject, outcome.held)

        await self._synced(subject, outcome)
        self._notify("synced", subject, outcome, seconds)
        self.failures = 0
        return _jittered(outcome.spec.refresh_interval.total_seconds())

    def _notify(self, what: str, *args: Any) -> None:
        """Tell every observer that listens for ``what``; reporting must never break syncing.

        ``synced``, ``failed`` and ``deleted`` are every observer's (``runtime.Observer``);
        ``rolled_out`` only that of observers that follow rollouts (``RolloutObserver``).
        """
        for observer in self.runtime.observers:
            method = getattr(observer, what, None)
            if method is None:
                continue
            try:
                method(*args)
            except Exception as e:
                self.log.error(
                    "Observer %s failed with %s", type(observer).__name__, type(e).__name__
                )

    async def _synced(self, subject: Subject, outcome: Outcome) -> None:
        now = datetime.datetime.now(datetime.UTC)
        status = synced_status(subject.status, outcome.synced, subject.generation, now)
        status = rotation.with_rotation(
            status, outcome.spec.rotation_max_age, subject.generation, now
        )
        await self._write_status(subject, status)
        self._post_rotation_due(subject, status)
        self._post_sealing_key_retired(subject, status)

        applied = outcome.applied
        if not is_ready(subject.status) and subject.status.get("conditions"):
            events.normal(
                self.body, events.RECOVERED, f"Secret {applied.secret_name} is in sync again"
            )
        if applied.written:
            what = "created" if applied.created else "updated"
            changed = ", ".join(applied.changed_keys) or "none"
            events.normal(
                self.body,
                events.SYNCED,
                f"Secret {applied.secret_name} {what}; changed keys: {changed}",
            )

    async def _failed(
        self, subject: Subject, error: EnvPayloadError, outcome: Outcome | None = None
    ) -> None:
        self.failures += 1
        previous_ready = find_condition(subject.status, "Ready")
        now = datetime.datetime.now(datetime.UTC)
        status = failed_status(
            subject.status, error, subject.generation, now, _source_kind(subject)
        )
        with contextlib.suppress(SpecError, KeyError, TypeError):
            max_age = read_spec(subject.name, subject.spec).rotation_max_age
            status = rotation.with_rotation(status, max_age, subject.generation, now)
        if outcome is not None:
            status = with_rollout(status, outcome, subject.generation, now)
        await self._write_status(subject, status)
        self._post_rotation_due(subject, status)

        # One Event per failure and per change of failure, not one per retry.
        if (previous_ready.get("reason"), previous_ready.get("message")) != (
            error.reason,
            str(error),
        ):
            self.log.warning("Sync failed (%s): %s", error.reason, error)
            events.warning(self.body, error.reason, str(error))

    def _post_rotation_due(self, subject: Subject, status: Status) -> None:
        """One Event when the payload becomes overdue for rotation."""
        if rotation.known_overdue(status) and not rotation.known_overdue(subject.status):
            message = rotation.condition(status).get("message", "")
            self.log.warning("Rotation due: %s", message)
            events.warning(self.body, events.ROTATION_DUE, message)

    def _post_sealing_key_retired(self, subject: Subject, status: Status) -> None:
        """One Event when the payload turns out to be sealed with a retired key."""
        retired = find_condition(status, events.SEALING_KEY_RETIRED)
        before = find_condition(subject.status, events.SEALING_KEY_RETIRED)
        if retired.get("status") == "True" and before.get("status") != "True":
            events.warning(self.body, events.SEALING_KEY_RETIRED, str(retired.get("message")))

    async def _write_status(self, subject: Subject, status: Mapping[str, Any]) -> None:
        """Patch status when it differs from the live one; a no-op refresh writes nothing."""
        current = subject.status
        if _same(current, status):
            return
        # A merge patch keeps fields it does not mention: drop vanished ones explicitly.
        patch = {"status": {**dict.fromkeys(set(current) - set(status) - {"kopf"}), **status}}
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                self.runtime.executor, _patch_status, self.runtime, subject, patch
            )
            self.last_written = dict(status)
        except ApiException as e:
            if e.status != 404:  # deleted meanwhile: nothing left to report on
                self.log.warning("Writing status failed: %s", describe_api_error(e))

    def _retry_delay(self, subject: Subject, error: EnvPayloadError) -> float:
        if error.retryable:
            backoff = FIRST_RETRY_SECONDS * 2 ** min(self.failures - 1, 16)
            delay = _jittered(min(backoff, self.runtime.settings.retry_max_seconds))
            # A source that said when it will answer again is not asked before then.
            if isinstance(error, RateLimitedError):
                asked = min(error.retry_after, MAX_RETRY_AFTER_SECONDS)
                delay = max(delay, asked * random.uniform(1, 1 + JITTER))  # noqa: S311
            return delay
        # Retrying bad content changes nothing: wait for a change (which wakes the loop)
        # or the next refresh of a polled source.
        try:
            return _jittered(read_spec(subject.name, subject.spec).refresh_interval.total_seconds())
        except SpecError:
            return _jittered(self.runtime.settings.retry_max_seconds)


def _same(current: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    ours = {k: v for k, v in current.items() if k != "kopf"}
    return ours == dict(status)


def _patch_status(runtime: Runtime, subject: Subject, patch: dict[str, Any]) -> None:
    runtime.clients.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        subject.namespace,
        PLURAL,
        subject.name,
        patch,
        _content_type="application/merge-patch+json",
    )


def _source_kind(subject: Subject) -> str | None:
    source = subject.spec.get("source") or {}
    return next((kind for kind in ("secretRef", "inline", "github") if source.get(kind)), None)


def _internal(
    error: Exception, log: logging.Logger | logging.LoggerAdapter[logging.Logger]
) -> InternalError:
    # Exception messages from other libraries may quote data: log the type and the
    # frames only, which is enough to find the bug.
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("Sync failed unexpectedly with %s at:\n%s", type(error).__name__, frames)
    return InternalError(f"unexpected {type(error).__name__}; see the operator's log")


def _jittered(seconds: float) -> float:
    return seconds * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - not cryptographic


async def _sleep(wake: asyncio.Event, stopped: Any, timeout: float) -> None:
    """Sleep until woken, stopped, or ``timeout`` seconds passed."""
    waiters = {asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stopped.wait())}
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
