"""The Kopf wiring: every handler of the operator, each a few lines long.

- one daemon per EnvPayload runs its :class:`~envpayload.controller.worker.SyncLoop`;
- event handlers wake that loop when its spec changes, or when a Secret it reads or
  writes changes (so a source change lands within seconds, without polling);
- one in-memory index maps Secrets to the EnvPayloads that read or write them, and
  GitHub repositories and refs to the EnvPayloads that read a file there;
- the GitHub push webhook (controller/webhook.py) starts with the operator when its
  secret is set, and wakes the loops of the EnvPayloads a push concerns.

NB: there are no create/update handlers on Secrets: Kopf would store each Secret's data,
in plain text, in its last-handled-configuration annotation. Event handlers and indexes
store nothing. Nor are there create/update/delete handlers on EnvPayloads: Kopf would
copy each spec (an inline envelope of up to 1.5 MB) into an annotation on every change.
EnvPayloads carry Kopf's finalizer only because daemons need one (the loop notices its
EnvPayload's deletion when its daemon stops); the finalizer and Kopf's annotations use
the ``envpayload.io`` prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf

from envpayload.controller import webhook
from envpayload.controller.runtime import Runtime
from envpayload.controller.worker import SyncLoop
from envpayload.fetch.secret_ref import source_version
from envpayload.report.metrics import METRICS
from envpayload.spec import GROUP, PLURAL, VERSION

PREFIX = "envpayload.io"


def configure(settings: kopf.OperatorSettings) -> None:
    """Kopf settings that matter for safety and for a quiet API."""
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    # Events are posted on purpose (report/events.py), never copied from log lines.
    settings.posting.loggers = False
    settings.posting.level = logging.INFO
    # Stop a daemon quickly when its EnvPayload goes away or the operator stops.
    settings.watching.server_timeout = 300


@kopf.on.startup()
async def on_startup(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    configure(settings)
    runtime: Runtime = memo["runtime"]
    for service in runtime.services:
        try:
            await service.start()
        except Exception as e:
            # Retrying will not free a taken port: stop the operator, saying why.
            raise kopf.PermanentError(str(e)) from e


@kopf.on.startup()
async def start_github_webhook(memo: Any, **kwargs: Any) -> None:
    runtime: Runtime = memo["runtime"]
    settings = runtime.settings
    if not settings.github_webhook_secret:
        return
    # Kopf hands its indexes to startup handlers too: empty now, filled as it watches.
    links: kopf.Index[Any, Any] = kwargs["envpayload_links"]
    hook = webhook.GitHubWebhook(
        settings.github_webhook_secret,
        lambda key: links.get((PUSHED, *key), ()),
        runtime.wakeups,
        metrics=METRICS,
    )
    memo["github_webhook"] = await webhook.serve(
        hook, settings.webhook_address, settings.webhook_port
    )


@kopf.on.cleanup()
async def on_cleanup(memo: Any, **_: Any) -> None:
    runtime: Runtime = memo["runtime"]
    if (runner := memo.get("github_webhook")) is not None:
        await runner.cleanup()
    for service in reversed(runtime.services):
        await service.stop()
    runtime.executor.shutdown(wait=False, cancel_futures=True)


@kopf.on.probe(id="syncLoops")
async def count_sync_loops(memo: Any, **_: Any) -> int:
    """Reported by the liveness endpoint; answering at all is what proves liveness."""
    return len(memo["runtime"].wakeups)


# What the one index below maps to the EnvPayloads concerned. One index rather than one
# per question: Kopf calls every index handler on every EnvPayload event, and handler
# calls are what its event loop spends its time on at scale (see benchmarks/).
READS = "reads"  # ("reads", namespace, Secret) -> name: the source, or GitHub credentials
WRITES = "writes"  # ("writes", namespace, Secret) -> name: the target
PUSHED = "pushed"  # ("pushed", repository, ref) -> (namespace, name): a GitHub source


@kopf.index(GROUP, VERSION, PLURAL)
def envpayload_links(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, Any]:
    """The Secrets an EnvPayload reads and writes, and the GitHub ref it reads from."""
    return links_of(namespace or "", name, spec)


def links_of(namespace: str, name: str, spec: Mapping[str, Any]) -> dict[Any, Any]:
    """What ``envpayload_links`` indexes for one EnvPayload.

    A GitHub source's credentials Secret counts as read: fixing a token retries at once.
    """
    target = (spec.get("target") or {}).get("name") or name
    links: dict[Any, Any] = {(WRITES, namespace, target): name}

    source = spec.get("source") or {}
    github = source.get("github") or {}
    if ref := source.get("secretRef"):
        links[(READS, namespace, ref["name"])] = name
    if credentials := (github.get("credentialsSecretRef") or {}).get("name"):
        links[(READS, namespace, credentials)] = name
    if github:
        repository, branch = webhook.source_key(github["repository"], github.get("ref") or "")
        links[(PUSHED, repository, branch)] = (namespace, name)
    return links


@kopf.daemon(GROUP, VERSION, PLURAL, id="sync", cancellation_timeout=30)
async def keep_in_sync(
    body: kopf.Body,
    stopped: kopf.DaemonStopped,
    memo: Any,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    **_: Any,
) -> None:
    await SyncLoop(memo["runtime"], body, logger).run(stopped)


@kopf.on.event(GROUP, VERSION, PLURAL)
async def envpayload_changed(
    namespace: str | None, name: str, meta: kopf.Meta, status: kopf.Status, memo: Any, **_: Any
) -> None:
    # Our own status writes come back as events too; only a new generation is news.
    if meta.get("generation") != status.get("observedGeneration"):
        memo["runtime"].wakeups.wake(namespace or "", name, "spec changed", newer=True)


@kopf.on.event("", "v1", "secrets")
async def secret_changed(
    namespace: str | None, name: str, meta: kopf.Meta, memo: Any, **kwargs: Any
) -> None:
    # Kopf passes its indexes as keyword arguments named after the index functions.
    links: kopf.Index[Any, str] = kwargs["envpayload_links"]
    wakeups = memo["runtime"].wakeups
    namespace = namespace or ""
    deleted = kwargs.get("type") == "DELETED"
    # The version a source Secret now has: a rollout in progress gives way to it.
    version = source_version(str(meta.get("resourceVersion")))
    readers = links.get((READS, namespace, name), ())
    for reader in readers:
        wakeups.wake(namespace, reader, f"source Secret {name} changed", version=version)
    # A GitHub credentials Secret is read again only when the watch says it changed.
    versions = memo["runtime"].secret_versions
    if readers and versions is not None:
        versions.changed(namespace, name, None if deleted else str(meta.get("resourceVersion")))
    # The echo of a loop's own write is no news (see Wakeup); a deletion always is.
    target = "deleted" if deleted else str(meta.get("resourceVersion"))
    for writer in links.get((WRITES, namespace, name), ()):
        wakeups.wake(namespace, writer, f"target Secret {name} changed", target_version=target)
