"""The GitHub push webhook: a push refreshes the EnvPayloads that read the pushed ref.

Polling finds a new commit within ``refreshInterval``; the webhook makes it seconds. The
endpoint (``POST /webhooks/github``, served only when ``ENVPAYLOAD_GITHUB_WEBHOOK_SECRET``
is set) accepts a delivery only when its ``X-Hub-Signature-256`` is the HMAC-SHA256 of
the body under that secret, compared in constant time. Unsigned or wrongly signed
deliveries are refused with 401 and counted, and change nothing.

A verified ``push`` names a repository and a ref. The EnvPayloads to refresh come from
the ``envpayload_links`` Kopf index, keyed by (repository, branch or tag) as
:func:`source_key` spells them, where an empty ref means the default branch: a push to
the default branch (``repository.default_branch`` in the payload) also wakes those.
Waking only schedules a sync, which makes the usual conditional request, so even a
replayed delivery costs one cheap request per EnvPayload and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from envpayload.controller.worker import Wakeups
from envpayload.github_api import metrics as github_metrics
from envpayload.github_api.metrics import GitHubMetrics

logger = logging.getLogger(__name__)

PATH: Final = "/webhooks/github"
# GitHub caps webhook payloads at 25 MB.
MAX_BODY: Final = 25 * 1024 * 1024
SIGNATURE_PREFIX: Final = "sha256="

SourceKey = tuple[str, str]
# The EnvPayloads (namespace, name) reading a source key.
Lookup = Callable[[SourceKey], Iterable[tuple[str, str]]]


def short_ref(ref: str) -> str:
    """``main`` for ``refs/heads/main`` or ``heads/main``; tags likewise."""
    for prefix in ("refs/heads/", "refs/tags/", "heads/", "tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def source_key(repository: str, ref: str) -> SourceKey:
    """How the index and the webhook name a source: (owner/name in lower case, ref)."""
    return repository.lower(), short_ref(ref.strip())


def signature_matches(secret: bytes, body: bytes, header: str) -> bool:
    """True when ``header`` is ``sha256=`` and the body's HMAC-SHA256 under ``secret``."""
    expected = SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()
    # compare_digest takes the same time wherever the first difference is.
    return hmac.compare_digest(expected.encode(), header.strip().encode("ascii", "replace"))


@dataclass(frozen=True)
class Push:
    """What a push event says: which repository, which ref, and its default branch."""

    repository: str
    ref: str
    default_branch: str

    def source_keys(self) -> list[SourceKey]:
        keys = [source_key(self.repository, self.ref)]
        if self.ref == f"refs/heads/{self.default_branch}":
            keys.append(source_key(self.repository, ""))
        return keys


def read_push(body: bytes) -> Push | None:
    """The push a payload describes, or None when it is not a push payload."""
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("repository"), dict):
        return None
    repository, ref = payload["repository"].get("full_name"), payload.get("ref")
    if not isinstance(repository, str) or not isinstance(ref, str):
        return None
    return Push(
        repository=repository,
        ref=ref,
        default_branch=str(payload["repository"].get("default_branch") or ""),
    )


class GitHubWebhook:
    """Verifies deliveries and wakes the sync loops of the EnvPayloads a push concerns."""

    def __init__(
        self,
        secret: str,
        lookup: Lookup,
        wakeups: Wakeups,
        metrics: GitHubMetrics = github_metrics.NO_METRICS,
    ) -> None:
        self._secret = secret.encode()
        self._lookup = lookup
        self._wakeups = wakeups
        self._metrics = metrics

    def __repr__(self) -> str:
        return "GitHubWebhook(secret=<redacted>)"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(PATH, self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        delivery = _delivery_id(request.headers.get("X-GitHub-Delivery", ""))
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(github_metrics.WEBHOOK_BAD_REQUEST, 413, "too large", delivery)

        signature = request.headers.get("X-Hub-Signature-256")
        if not signature:
            return self._refuse(github_metrics.WEBHOOK_UNSIGNED, 401, "unsigned", delivery)
        if not signature_matches(self._secret, body, signature):
            return self._refuse(
                github_metrics.WEBHOOK_BAD_SIGNATURE, 401, "wrongly signed", delivery
            )

        event = request.headers.get("X-GitHub-Event", "")
        if event != "push":
            self._metrics.github_webhook(github_metrics.WEBHOOK_IGNORED)
            return web.json_response({"ignored": event or "unnamed event"})
        push = read_push(body)
        if push is None:
            return self._refuse(
                github_metrics.WEBHOOK_BAD_REQUEST, 400, "not a push payload", delivery
            )

        woken = self._wake(push)
        self._metrics.github_webhook(github_metrics.WEBHOOK_ACCEPTED)
        logger.info(
            "GitHub push to %s %s (delivery %s): refreshing %s",
            push.repository,
            push.ref,
            delivery,
            ", ".join(f"{ns}/{name}" for ns, name in sorted(woken)) or "no EnvPayload",
        )
        return web.json_response({"refreshing": len(woken)}, status=202)

    def _wake(self, push: Push) -> set[tuple[str, str]]:
        reason = f"GitHub push to {push.repository} {short_ref(push.ref)}"
        woken: set[tuple[str, str]] = set()
        for key in push.source_keys():
            for namespace, name in self._lookup(key):
                if (namespace, name) not in woken:
                    self._wakeups.wake(namespace, name, reason)
                    woken.add((namespace, name))
        return woken

    def _refuse(self, result: str, status: int, why: str, delivery: str) -> web.Response:
        self._metrics.github_webhook(result)
        logger.warning("Refused a GitHub webhook delivery (%s): %s", delivery, why)
        return web.json_response({"error": why}, status=status)


def _delivery_id(header: str) -> str:
    """The delivery GUID, fit for a log line (an unsigned request can send anything)."""
    kept = "".join(c for c in header[:64] if c.isascii() and (c.isalnum() or c == "-"))
    return kept or "unknown"


async def serve(webhook: GitHubWebhook, address: str, port: int) -> web.AppRunner:
    """Start serving ``webhook`` on ``address:port``; ``await runner.cleanup()`` stops it."""
    runner = web.AppRunner(webhook.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, address, port).start()
    logger.info("Serving the GitHub webhook on %s:%s%s", address, port, PATH)
    return runner
